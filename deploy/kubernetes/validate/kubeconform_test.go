package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

type kubeconformResult struct {
	Filename, Kind, Name, Version, Status, Msg string
}

// kubeconform validates files with the pinned kubeconform against the
// generated schemas, the way `make k8s-validate` does, and returns its
// verdict on every resource.
func kubeconform(t *testing.T, files ...string) []kubeconformResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := append([]string{"kubeconform", "-strict", "-output", "json", "-verbose",
		"-kubernetes-version", KubernetesVersion(), "-schema-location", schemas(t)}, files...)
	out, stderr, err := goTool(ctx, args...)
	var res struct{ Resources []kubeconformResult }
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		t.Fatalf("kubeconform: %v (%v) %s %s", jerr, err, out, stderr)
	}
	return res.Resources
}

// TestKubeconform validates every rendered kustomization against the
// schemas, and shows that the schemas catch the mistakes a team makes when
// adapting them: each case changes one field of a real rendered object.
func TestKubeconform(t *testing.T) {
	ks := kustomizations(t)
	dir := t.TempDir()
	var files []string
	want := map[string]int{} // file -> resources in it
	for _, k := range ks {
		f := filepath.Join(dir, strings.ReplaceAll(k.Dir, "/", "_")+".yaml")
		if err := os.WriteFile(f, k.Rendered, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		want[f] = len(k.Objects)
	}

	// find returns a copy of the first rendered object of a kind.
	find := func(kind string) Object {
		for i := len(ks) - 1; i >= 0; i-- { // overlays first: they have every kind
			for _, o := range ks[i].byKind(kind) {
				var c map[string]any
				if err := o.Decode(&c); err != nil {
					t.Fatal(err)
				}
				return Object(c)
			}
		}
		t.Fatalf("no rendered %s", kind)
		return nil
	}
	cases := []struct {
		name   string
		kind   string
		path   []any // to the field the case sets
		value  any
		rename string // instead of setting: rename the field at path
		// wantAt and wantMsg are what kubeconform must report; an empty
		// wantMsg means the change is valid.
		wantAt, wantMsg string
	}{
		{name: "misspelt container field", kind: "Deployment",
			path: []any{"spec", "template", "spec", "containers", 0, "securityContext", "readOnlyRootFilesystem"}, rename: "readOnlyRootFS",
			wantAt: "/spec/template/spec/containers/0/securityContext", wantMsg: "additional properties 'readOnlyRootFS' not allowed"},
		{name: "misspelt top-level field", kind: "Deployment", path: []any{"spec"}, rename: "spc",
			wantAt: "", wantMsg: "additional properties 'spc' not allowed"},
		{name: "misspelt metadata field", kind: "Deployment", path: []any{"metadata", "labels"}, rename: "lables",
			wantAt: "/metadata", wantMsg: "additional properties 'lables' not allowed"},
		{name: "memory limit not a quantity", kind: "Deployment",
			path: []any{"spec", "template", "spec", "containers", 0, "resources", "limits", "memory"}, value: true,
			wantAt: "/spec/template/spec/containers/0/resources/limits/memory", wantMsg: "'oneOf' failed, none matched"},
		{name: "cpu request as a number is a quantity", kind: "Deployment",
			path: []any{"spec", "template", "spec", "containers", 0, "resources", "requests", "cpu"}, value: 1},
		{name: "probe port by number", kind: "Deployment",
			path: []any{"spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "port"}, value: 8787},
		{name: "probe port neither number nor name", kind: "Deployment",
			path: []any{"spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "port"}, value: 87.5,
			wantAt: "/spec/template/spec/containers/0/livenessProbe/httpGet/port", wantMsg: "'oneOf' failed, none matched"},
		{name: "wrong kind for the apiVersion", kind: "Deployment", path: []any{"apiVersion"}, value: "apps/v2",
			wantMsg: "could not find schema for Deployment"},
		{name: "service port as a string", kind: "Service", path: []any{"spec", "ports", 0, "port"}, value: "eighty",
			wantAt: "/spec/ports/0/port", wantMsg: "got string, want integer"},
		{name: "autoscaler bound as a string", kind: "HorizontalPodAutoscaler", path: []any{"spec", "minReplicas"}, value: "3",
			wantAt: "/spec/minReplicas", wantMsg: "got string, want integer"},
		{name: "autoscaler v1 field in v2", kind: "HorizontalPodAutoscaler", path: []any{"spec", "targetCPUUtilizationPercentage"}, value: 70,
			wantAt: "/spec", wantMsg: "additional properties 'targetCPUUtilizationPercentage' not allowed"},
		{name: "budget as a percentage", kind: "PodDisruptionBudget", path: []any{"spec", "maxUnavailable"}, value: "25%"},
		{name: "budget as a fraction", kind: "PodDisruptionBudget", path: []any{"spec", "maxUnavailable"}, value: 0.5,
			wantAt: "/spec/maxUnavailable", wantMsg: "'oneOf' failed, none matched"},
		{name: "misspelt ipBlock field", kind: "NetworkPolicy", path: []any{"spec", "egress", 1, "to", 0, "ipBlock", "except"}, rename: "exclude",
			wantAt: "/spec/egress/1/to/0/ipBlock", wantMsg: "additional properties 'exclude' not allowed"},
		{name: "missing required cidr", kind: "NetworkPolicy", path: []any{"spec", "egress", 1, "to", 0, "ipBlock", "cidr"}, rename: "cidrs",
			wantAt: "/spec/egress/1/to/0/ipBlock", wantMsg: "missing property 'cidr'"},
		{name: "misspelt ServiceMonitor field", kind: "ServiceMonitor", path: []any{"spec", "endpoints", 0, "scrapeTimeout"}, rename: "scrapeTimout",
			wantAt: "/spec/endpoints/0", wantMsg: "additional properties 'scrapeTimout' not allowed"},
		{name: "ServiceMonitor interval not a duration", kind: "ServiceMonitor", path: []any{"spec", "endpoints", 0, "interval"}, value: "30 seconds",
			wantAt: "/spec/endpoints/0/interval", wantMsg: "does not match pattern"},
		{name: "misspelt ServiceMonitor metadata", kind: "ServiceMonitor", path: []any{"metadata", "labels"}, rename: "lables",
			wantAt: "/metadata", wantMsg: "additional properties 'lables' not allowed"},
	}
	caseFile := map[string]int{}
	for i, tc := range cases {
		o := find(tc.kind)
		if err := change(o, tc.path, tc.value, tc.rename); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, err := yaml.Marshal(map[string]any(o))
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, fmt.Sprintf("case%02d.yaml", i))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		caseFile[f] = i
	}

	got := map[string][]kubeconformResult{}
	for _, r := range kubeconform(t, files...) {
		got[r.Filename] = append(got[r.Filename], r)
	}
	for f, n := range want {
		if len(got[f]) != n {
			t.Errorf("%s: kubeconform reports %d resources, want %d", filepath.Base(f), len(got[f]), n)
		}
		for _, r := range got[f] {
			if r.Status != "statusValid" {
				t.Errorf("%s: %s %s: %s %s", filepath.Base(f), r.Kind, r.Name, r.Status, r.Msg)
			}
		}
	}
	for f, i := range caseFile {
		tc := cases[i]
		rs := got[f]
		if len(rs) != 1 {
			t.Errorf("%s: kubeconform reports %d resources, want 1", tc.name, len(rs))
			continue
		}
		r := rs[0]
		switch {
		case tc.wantMsg == "":
			if r.Status != "statusValid" {
				t.Errorf("%s: %s %s, want valid", tc.name, r.Status, r.Msg)
			}
		case r.Status == "statusValid":
			t.Errorf("%s: valid, want %q", tc.name, tc.wantMsg)
		case !strings.Contains(r.Msg, tc.wantMsg) || (tc.wantAt != "" && !strings.Contains(r.Msg, "at '"+tc.wantAt+"'")):
			t.Errorf("%s: %s, want %q at %q", tc.name, r.Msg, tc.wantMsg, tc.wantAt)
		}
	}
}

// change sets the field at path to value, or renames it to rename.
func change(o Object, path []any, value any, rename string) error {
	var parent any = map[string]any(o)
	for _, step := range path[:len(path)-1] {
		switch s := step.(type) {
		case string:
			m, ok := parent.(map[string]any)
			if !ok {
				return fmt.Errorf("%v: not a mapping at %q", path, s)
			}
			parent = m[s]
		case int:
			l, ok := parent.([]any)
			if !ok || s >= len(l) {
				return fmt.Errorf("%v: no item %d", path, s)
			}
			parent = l[s]
		}
	}
	m, ok := parent.(map[string]any)
	if !ok {
		return fmt.Errorf("%v: parent is not a mapping", path)
	}
	key := path[len(path)-1].(string)
	if rename != "" {
		v, ok := m[key]
		if !ok {
			return fmt.Errorf("%v: no field to rename", path)
		}
		delete(m, key)
		m[rename] = v
		return nil
	}
	m[key] = value
	return nil
}
