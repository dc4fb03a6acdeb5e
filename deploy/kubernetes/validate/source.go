package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// Source is a file inside a Go module version. The definitions come through
// the Go module proxy because that is the one registry every developer's
// machine and CI can reach; the go command checks each download against the
// checksum database, and Fetch checks it against the hash pinned here too,
// so the schemas are the same on every machine.
type Source struct {
	Module, Version, Sum string
	File                 string // slash-separated, inside the module
}

// The pinned sources. To move to a newer release, change Version, run
// `go mod download -json Module@Version` and copy its Sum.
var (
	// Kubernetes' OpenAPI v2 document for every built-in kind of this
	// release: the API the manifests are validated against.
	Kubernetes = Source{
		Module:  "k8s.io/kubernetes",
		Version: "v1.37.2",
		Sum:     "h1:A2VDEiObzkYqFTKhSsn0ZEb0RlLEXpHWj93gi2HqEwE=",
		File:    "api/openapi-spec/swagger.json",
	}
	// The ServiceMonitor CustomResourceDefinition the Prometheus Operator
	// installs (monitoring.coreos.com/v1).
	ServiceMonitorCRD = Source{
		Module:  "github.com/prometheus-operator/prometheus-operator",
		Version: "v0.85.0",
		Sum:     "h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s=",
		File:    "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
	}
)

// KubernetesVersion is the release the schemas describe, as kubeconform's
// -kubernetes-version takes it ("1.37.2").
func KubernetesVersion() string { return strings.TrimPrefix(Kubernetes.Version, "v") }

// Fetch returns the source file, downloading the module into the Go module
// cache the first time (after that it reads the cache).
func (s Source) Fetch(ctx context.Context) ([]byte, error) {
	// Outside any module, so no go.mod or go.work is read or changed.
	dir, err := os.MkdirTemp("", "k8s-schemas-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", s.Module+"@"+s.Version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, runErr := cmd.Output()
	var info struct{ Dir, Sum, Error string }
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %v %s", s.Module, s.Version, runErr, stderr.String())
	}
	if info.Error != "" || runErr != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %s %v", s.Module, s.Version, info.Error, runErr)
	}
	if info.Sum != s.Sum {
		return nil, fmt.Errorf("%s@%s: module hash %s, pinned %s", s.Module, s.Version, info.Sum, s.Sum)
	}
	return os.ReadFile(filepath.Join(info.Dir, filepath.FromSlash(s.File)))
}

// LoadCatalog fetches the pinned sources and builds their catalog.
func LoadCatalog(ctx context.Context) (*Catalog, error) {
	swagger, err := Kubernetes.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	crd, err := ServiceMonitorCRD.Fetch(ctx)
	if err != nil {
		return nil, err
	}
	return NewCatalog(swagger, crd)
}

// Object is one manifest, as decoded from YAML.
type Object map[string]any

// GVK returns the object's apiVersion and kind.
func (o Object) GVK() GVK {
	v, _ := o["apiVersion"].(string)
	k, _ := o["kind"].(string)
	return GVK{v, k}
}

// Name returns metadata.name.
func (o Object) Name() string {
	m, _ := o["metadata"].(map[string]any)
	n, _ := m["name"].(string)
	return n
}

// Decode copies the object into v (a struct with yaml tags).
func (o Object) Decode(v any) error {
	b, err := yaml.Marshal(map[string]any(o))
	if err != nil {
		return err
	}
	return yaml.Unmarshal(b, v)
}

// Documents decodes a multi-document YAML stream; empty documents are
// skipped, and a document without apiVersion or kind is an error.
func Documents(b []byte) ([]Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []Object
	for {
		// Into a plain map: yaml.v3 would make every nested mapping an
		// Object too.
		var m map[string]any
		err := dec.Decode(&m)
		o := Object(m)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if o == nil {
			continue
		}
		if g := o.GVK(); g.APIVersion == "" || g.Kind == "" {
			return nil, fmt.Errorf("document %d has no apiVersion or kind", len(out)+1)
		}
		out = append(out, o)
	}
}
