package runtime

import (
	"strings"
	"testing"
)

var widgetKind = &Resource{
	Kind: "widget", List: "widget_list", Create: "widget_create", Created: "data.id",
	ID: "id", Name: "name", Status: "status", Running: []string{"running"}, Starting: []string{"creating"},
}

// TestPick: which list item an omitted id becomes, by the kind's
// statuses, and the errors when none or several could be.
func TestPick(t *testing.T) {
	noStatus := *widgetKind
	noStatus.Status, noStatus.Running, noStatus.Starting = "", nil, nil
	nested := *widgetKind
	nested.ID, nested.Status = "meta.uid", "state.phase"
	cases := []struct {
		name   string
		kind   *Resource
		body   string
		id     string
		why    string
		errHas string
	}{
		{"one running", widgetKind, `{"data":[{"id":"a","status":"running"},{"id":"b","status":"error"}]}`, "a", "the only running widget in the account", ""},
		{"bare array", widgetKind, `[{"id":"a","status":"running"}]`, "a", "the only running widget in the account", ""},
		{"items envelope", widgetKind, `{"data":{"items":[{"id":"a","status":"running"}]}}`, "a", "the only running widget in the account", ""},
		{"one starting", widgetKind, `{"data":[{"id":"a","status":"creating"}]}`, "a", "the only widget in the account, still creating", ""},
		{"no status field: the only one", &noStatus, `{"data":[{"id":"a"}]}`, "a", "the only widget in the account", ""},
		{"no status field: two", &noStatus, `{"data":[{"id":"a"},{"id":"b"}]}`, "", "", "the account has 2 widgets, so none was picked"},
		{"dotted fields", &nested, `{"data":[{"meta":{"uid":"a"},"state":{"phase":"running"}}]}`, "a", "the only running widget in the account", ""},
		{"boolean status", &Resource{Kind: "webhook", List: "l", Create: "c", ID: "id", Status: "active", Running: []string{"true"}}, `{"data":[{"id":"h1","active":false},{"id":"h2","active":true}]}`, "h2", "the only running webhook in the account", ""},
		{"ids a path cannot carry are skipped", widgetKind, `{"data":[{"id":"a/b","status":"running"},{"id":"","status":"running"},{"id":null,"status":"running"},{"id":"c","status":"running"}]}`, "c", "the only running widget in the account", ""},
		{"not JSON", widgetKind, `<html>`, "", "", "the account has no running widget. Pass id"},
		{"empty", widgetKind, `{"data":[]}`, "", "", "the account has no running widget. Pass id (widget_list lists them), or create one with widget_create."},
		{"more pages", widgetKind, `{"data":[{"id":"a","status":"error"}],"meta":{"total":30}}`, "", "", "Candidates: a (error) and more."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			items, more := listItems([]byte(tc.body))
			id, why, err := pick(tc.kind, "widget_get", "id", items, more)
			if id != tc.id || why != tc.why {
				t.Errorf("pick = %q, %q, want %q, %q", id, why, tc.id, tc.why)
			}
			if (err != nil) != (tc.errHas != "") || err != nil && !strings.Contains(err.Error(), tc.errHas) {
				t.Errorf("error %v, want one with %q", err, tc.errHas)
			}
		})
	}
}

func TestPlural(t *testing.T) {
	for kind, want := range map[string]string{"sandbox": "sandboxes", "computer": "computers", "cron job": "cron jobs", "bus": "buses", "batch": "batches"} {
		if got := plural(kind); got != want {
			t.Errorf("plural(%q) = %q, want %q", kind, got, want)
		}
	}
}

// FuzzPick: any list answer gives either an id that was an item's id and
// that a path can carry, or an error of bounded length that names the
// list and create tools.
func FuzzPick(f *testing.F) {
	f.Add([]byte(`{"data":[{"id":"a","name":"n","status":"running"}]}`))
	f.Add([]byte(`{"data":[{"id":"a","status":"running"},{"id":"b","status":"running"}],"cursor":"x"}`))
	f.Add([]byte(`[{"id":"..","status":"creating"}]`))
	f.Add([]byte(`{"data":{"items":[{"id":"` + strings.Repeat("x", 5000) + `","name":"` + strings.Repeat("é", 3000) + `"}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, more := listItems(body)
		id, why, err := pick(widgetKind, "widget_get", "id", items, more)
		if err != nil {
			msg := err.Error()
			if id != "" || !strings.Contains(msg, "widget_list") || !strings.Contains(msg, "widget_create") {
				t.Fatalf("error %q with id %q", msg, id)
			}
			if len(msg) > MaxCandidates*(4*maxCandidateText+16)+600 {
				t.Fatalf("error of %d bytes", len(msg))
			}
			return
		}
		if CheckPathValue(id) != nil || why == "" {
			t.Fatalf("picked %q (%q)", id, why)
		}
		found := false
		for _, it := range items {
			found = found || fieldString(it, "id") == id
		}
		if !found {
			t.Fatalf("picked %q, no item's id", id)
		}
	})
}
