package testsupport

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// modulePath is the module whose server the suites build.
const modulePath = "github.com/miosa-osa/miosa-mcp"

// Binary returns cmd/miosa-mcp built for this test run: with -race when the
// tests run with it, so the race detector checks the server's goroutines
// too. It is built once per source tree, not once per package: the build
// is cached under os.TempDir, keyed by a hash of every input of the binary
// (its Go sources, go.mod, go.sum, embedded files) and of the toolchain and
// flags, and guarded by a file lock, so the packages of one `go test ./...`
// share one build and a later run with the same sources builds nothing.
// Reading the sources also makes them inputs of the cached test result.
func Binary(t testing.TB) string {
	t.Helper()
	return buildOnce(t, Race)
}

// PlainBinary is Binary never built with -race: the binary as shipped, for
// what must not be slowed or swollen by the race detector (a memory
// measurement, the demo).
func PlainBinary(t testing.TB) string {
	t.Helper()
	return buildOnce(t, false)
}

var built struct {
	mu    sync.Mutex
	paths map[bool]string
	errs  map[bool]error
}

func buildOnce(t testing.TB, race bool) string {
	t.Helper()
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.paths == nil {
		built.paths, built.errs = map[bool]string{}, map[bool]error{}
	}
	if _, done := built.paths[race]; !done && built.errs[race] == nil {
		built.paths[race], built.errs[race] = buildCached(race)
	}
	if err := built.errs[race]; err != nil {
		t.Fatal(err)
	}
	return built.paths[race]
}

// cacheRoot holds one directory per build key.
func cacheRoot() string { return filepath.Join(os.TempDir(), "miosa-mcp-testbin") }

// keepBuilds is how long an unused cached build is kept.
const keepBuilds = 24 * time.Hour

func buildCached(race bool) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	key, err := buildKey(root, race)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cacheRoot(), key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(dir, "lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	bin := filepath.Join(dir, "miosa-mcp")
	if _, err := os.Stat(bin); err == nil {
		now := time.Now()
		os.Chtimes(dir, now, now) // in use: not pruned
		return bin, nil
	}
	tmp := fmt.Sprintf("%s.%d.tmp", bin, os.Getpid())
	args := []string{"build", "-o", tmp}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/miosa-mcp")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", err
	}
	prune(dir)
	return bin, nil
}

// prune removes the cached builds nobody used for keepBuilds.
func prune(keep string) {
	ents, _ := os.ReadDir(cacheRoot())
	for _, e := range ents {
		p := filepath.Join(cacheRoot(), e.Name())
		if fi, err := e.Info(); err == nil && p != keep && time.Since(fi.ModTime()) > keepBuilds {
			os.RemoveAll(p)
		}
	}
}

// ModuleRoot is the directory of the miosa-mcp go.mod above the working
// directory (a test's package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePathOf(b) == modulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above the working directory", modulePath)
		}
		dir = parent
	}
}

func modulePathOf(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if m, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`)
		}
	}
	return ""
}

// buildKey hashes what the binary is built from: the toolchain, the flags
// and the environment that change a build, and every input file of the
// module (buildInputs).
func buildKey(root string, race bool) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s race=%v\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, race)
	for _, v := range []string{"GOFLAGS", "CGO_ENABLED", "GOEXPERIMENT", "GOAMD64", "GOARM64", "GOTOOLCHAIN"} {
		fmt.Fprintf(h, "%s=%s\n", v, os.Getenv(v))
	}
	files, err := buildInputs(root)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// buildInputs lists, relative to root and sorted, the files a build of the
// module reads: go.mod, go.sum, the Go files that are not tests, and the
// files their //go:embed directives name. Nested modules, testdata, and
// directories no package lives in (.git, node_modules, tool caches) are
// skipped.
func buildInputs(root string) ([]string, error) {
	files := []string{"go.mod", "go.sum"}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil && p != root {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, rel)
		embeds, err := embedded(p)
		if err != nil {
			return err
		}
		for _, e := range embeds {
			rel, _ := filepath.Rel(root, e)
			files = append(files, rel)
		}
		return nil
	})
	slices.Sort(files)
	return slices.Compact(files), err
}

// embedded lists the files the //go:embed directives of a Go file name.
func embedded(goFile string) ([]string, error) {
	src, err := os.ReadFile(goFile)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(string(src), "\n") {
		pats, ok := strings.CutPrefix(strings.TrimSpace(line), "//go:embed ")
		if !ok {
			continue
		}
		for _, pat := range strings.Fields(pats) {
			matches, _ := filepath.Glob(filepath.Join(filepath.Dir(goFile), strings.TrimPrefix(strings.Trim(pat, `"`), "all:")))
			for _, m := range matches {
				filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
					if err == nil && !d.IsDir() {
						out = append(out, p)
					}
					return nil
				})
			}
		}
	}
	return out, nil
}
