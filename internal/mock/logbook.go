package mock

import (
	"fmt"
	"time"
)

// logbook is a resource's log: boot messages plus one line per action taken
// on it, so log tools show something that reflects what the caller did.
type logbook struct {
	entries []logEntry
}

type logEntry struct {
	at  time.Time
	msg string
}

// maxLogEntries bounds memory per resource; the API's `lines` maximum is 1000.
const maxLogEntries = 1000

func (l *logbook) add(at time.Time, format string, args ...any) {
	l.entries = append(l.entries, logEntry{at, fmt.Sprintf(format, args...)})
	if n := len(l.entries); n > maxLogEntries {
		l.entries = append([]logEntry(nil), l.entries[n-maxLogEntries:]...)
	}
}

// boot records a start-up sequence spread over the first second(s).
func (l *logbook) boot(at time.Time, lines ...string) {
	for i, line := range lines {
		l.add(at.Add(time.Duration(i)*50*time.Millisecond), "%s", line)
	}
}

// logLines is the spec's LogLines.
type logLines struct {
	Lines []string `json:"lines"`
}

// tail returns the last n lines logged up to now and after since (the
// lines and since query parameters), formatted as timestamped text.
func (l *logbook) tail(c *call) logLines {
	n := c.queryInt("lines", 100)
	var since time.Time
	if s := c.query("since"); s != "" {
		since, _ = time.Parse(time.RFC3339Nano, s)
	}
	out := make([]string, 0, min(n, len(l.entries)))
	for _, e := range l.entries {
		if e.at.After(c.now) || (!since.IsZero() && !e.at.After(since)) {
			continue
		}
		out = append(out, e.at.UTC().Format("2006-01-02T15:04:05.000Z")+" "+e.msg)
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return logLines{Lines: out}
}
