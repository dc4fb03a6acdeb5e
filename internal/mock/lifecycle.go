package mock

import "time"

// transition is a pending status change: at time `at` the resource's status
// becomes `next`. Statuses are settled lazily whenever a resource is read,
// so the mock needs no background goroutines and a fake clock in
// Options.Now drives every lifecycle deterministically.
type transition struct {
	next string
	at   time.Time
}

// schedule sets status to interim now and to final after delay (or to
// final at once when delay is zero).
func (t *transition) schedule(status *string, interim, final string, now time.Time, delay time.Duration) {
	if delay <= 0 {
		*status = final
		t.next = ""
		return
	}
	*status = interim
	t.next, t.at = final, now.Add(delay)
}

// settle applies the pending change if its time has come and reports when
// it happened, so callers can stamp updated_at/ready_at with the moment the
// change took effect rather than the moment it was observed.
func (t *transition) settle(status *string, now time.Time) (time.Time, bool) {
	if t.next == "" || now.Before(t.at) {
		return time.Time{}, false
	}
	*status = t.next
	t.next = ""
	return t.at, true
}

// cancel drops a pending change (e.g. a computer stopped while creating).
func (t *transition) cancel() { t.next = "" }

// pending reports whether a change is still due.
func (t *transition) pending() bool { return t.next != "" }
