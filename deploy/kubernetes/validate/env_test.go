package validate

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The repository this module sits in, three levels down.
var repoRoot = func() string {
	r, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		panic(err)
	}
	return r
}()

// goTool runs a developer tool pinned in tools/go.mod from the repository
// root; it returns stdout, and the exit error with stderr.
func goTool(ctx context.Context, args ...string) ([]byte, []byte, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "-modfile=tools/go.mod"}, args...)...)
	cmd.Dir = repoRoot
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.Bytes(), stderr.Bytes(), err
}

// kustomization is one rendered kustomization under deploy/kubernetes.
type kustomization struct {
	Dir      string // relative to the repository root
	Rendered []byte // `kustomize build` output
	Objects  []Object
}

var (
	renderOnce sync.Once
	rendered   []kustomization
	renderErr  error
)

// kustomizations renders the base and every overlay, once per test binary:
// a team's own overlay under overlays/ is checked like the example.
func kustomizations(t *testing.T) []kustomization {
	t.Helper()
	renderOnce.Do(func() {
		dirs := []string{"deploy/kubernetes/base"}
		overlays, _ := filepath.Glob(filepath.Join(repoRoot, "deploy/kubernetes/overlays/*/kustomization.yaml"))
		for _, o := range overlays {
			rel, _ := filepath.Rel(repoRoot, filepath.Dir(o))
			dirs = append(dirs, filepath.ToSlash(rel))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		for _, d := range dirs {
			out, stderr, err := goTool(ctx, "kustomize", "build", d)
			if err != nil {
				renderErr = &renderError{d, err, string(stderr)}
				return
			}
			objs, err := Documents(out)
			if err != nil {
				renderErr = &renderError{d, err, ""}
				return
			}
			rendered = append(rendered, kustomization{d, out, objs})
		}
	})
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	if len(rendered) < 2 {
		t.Fatalf("rendered %d kustomizations, want the base and at least the example overlay", len(rendered))
	}
	return rendered
}

type renderError struct {
	dir    string
	err    error
	stderr string
}

func (e *renderError) Error() string {
	return "kustomize build " + e.dir + ": " + e.err.Error() + " " + e.stderr
}

var (
	schemaOnce sync.Once
	schemaDir  string
	schemaErr  error
)

// schemas writes the schemas of every kind the kustomizations use (and of
// the kinds the mutation cases need) into a directory kept for the test
// binary's life, and returns it as a kubeconform schema location.
func schemas(t *testing.T) string {
	t.Helper()
	ks := kustomizations(t)
	schemaOnce.Do(func() {
		var streams [][]byte
		for _, k := range ks {
			streams = append(streams, k.Rendered)
		}
		kinds, err := ManifestKinds(streams...)
		if err != nil {
			schemaErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cat, err := LoadCatalog(ctx)
		if err != nil {
			schemaErr = err
			return
		}
		schemaDir, schemaErr = os.MkdirTemp("", "k8s-schemas-test-")
		if schemaErr != nil {
			return
		}
		_, schemaErr = WriteSchemas(cat, schemaDir, KubernetesVersion(), kinds)
	})
	if schemaErr != nil {
		t.Fatal(schemaErr)
	}
	return schemaDir
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary returns the miosa-mcp binary: $MIOSA_MCP_BIN (make k8s-validate
// passes bin/miosa-mcp), or one built from the repository.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("MIOSA_MCP_BIN"); p != "" {
			binPath, binErr = filepath.Abs(p)
			return
		}
		dir, err := os.MkdirTemp("", "miosa-mcp-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "miosa-mcp")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binPath, "./cmd/miosa-mcp")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &renderError{"go build ./cmd/miosa-mcp", err, string(out)}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if schemaDir != "" {
		os.RemoveAll(schemaDir)
	}
	if binPath != "" && os.Getenv("MIOSA_MCP_BIN") == "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// byKind returns the objects of one kind.
func (k kustomization) byKind(kind string) []Object {
	var out []Object
	for _, o := range k.Objects {
		if o.GVK().Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single object of a kind, decoded into v.
func (k kustomization) one(t *testing.T, kind string, v any) bool {
	t.Helper()
	objs := k.byKind(kind)
	if len(objs) != 1 {
		t.Errorf("%s renders %d %s objects, want 1", k.Dir, len(objs), kind)
		return false
	}
	if err := objs[0].Decode(v); err != nil {
		t.Errorf("%s: %s: %v", k.Dir, kind, err)
		return false
	}
	return true
}
