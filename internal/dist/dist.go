// Package dist builds the release with plain `go build`: static binaries
// for six platforms, reproducible archives, SHA256SUMS and a CycloneDX SBOM
// per binary (`make dist`), and the npm packages made from those binaries
// (`make npm-pack`, see npm.go). cmd/dist is its command line.
//
// Reproducible means: the same commit, built with the same Go toolchain,
// gives byte-identical archives, on any machine, in any directory, at any
// time. The inputs are the source, the stamp (from git, never the clock)
// and pinned code-generation settings; -trimpath drops local paths.
package dist

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Target is a GOOS/GOARCH pair.
type Target struct{ OS, Arch string }

func (t Target) String() string { return t.OS + "/" + t.Arch }

// exe is the binary's file name on the target.
func (t Target) exe() string {
	if t.OS == "windows" {
		return "miosa-mcp.exe"
	}
	return "miosa-mcp"
}

// Targets are the release platforms.
var Targets = []Target{
	{"darwin", "amd64"}, {"darwin", "arm64"},
	{"linux", "amd64"}, {"linux", "arm64"},
	{"windows", "amd64"}, {"windows", "arm64"},
}

// ParseTargets reads "linux/amd64,windows/arm64"; "" or "all" is Targets.
func ParseTargets(s string) ([]Target, error) {
	if s == "" || s == "all" {
		return Targets, nil
	}
	var out []Target
	for _, p := range strings.Split(s, ",") {
		goos, goarch, _ := strings.Cut(strings.TrimSpace(p), "/")
		t := Target{goos, goarch}
		found := false
		for _, k := range Targets {
			found = found || k == t
		}
		if !found {
			return nil, fmt.Errorf("unknown target %q; valid: %v", p, Targets)
		}
		out = append(out, t)
	}
	return out, nil
}

// Options configure Build.
type Options struct {
	Root    string    // the module root
	Out     string    // the output directory; it must not exist or be empty
	Stamp   Stamp     // what the binaries record (GitStamp)
	Targets []Target  // default: Targets
	SBOM    bool      // write a CycloneDX SBOM per binary (cyclonedx-gomod from tools/go.mod)
	Go      string    // the go command (default "go")
	Log     io.Writer // one line per step (default: discarded)
}

// Artifact is one platform's output. Paths are relative to Options.Out.
type Artifact struct {
	OS      string `json:"os"`
	Arch    string `json:"arch"`
	Archive string `json:"archive"`
	Binary  string `json:"binary"`         // the staged binary, byte-identical to the archived one
	SBOM    string `json:"sbom,omitempty"` // CycloneDX JSON for that binary
}

// Release is metadata.json in the output directory: what `make npm-pack`
// reads to package the binaries under the version they were stamped with.
type Release struct {
	Version   string     `json:"version"`
	Commit    string     `json:"commit"`
	Date      string     `json:"date"`
	Go        string     `json:"go"`
	Artifacts []Artifact `json:"artifacts"`
}

// MetadataFile and SumsFile are written next to the archives.
const (
	MetadataFile = "metadata.json"
	SumsFile     = "SHA256SUMS"
)

// ArchiveBase is an archive's name without extension, e.g.
// miosa-mcp_0.1.0_linux_amd64 (the version without its leading v).
func ArchiveBase(version string, t Target) string {
	return fmt.Sprintf("miosa-mcp_%s_%s_%s", strings.TrimPrefix(version, "v"), t.OS, t.Arch)
}

// Build cross-compiles, archives and checksums every target.
func Build(ctx context.Context, o Options) (*Release, error) {
	if o.Go == "" {
		o.Go = "go"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if len(o.Targets) == 0 {
		o.Targets = Targets
	}
	if o.Stamp.Version == "" || o.Stamp.Commit == "" || o.Stamp.Time.IsZero() {
		return nil, errors.New("dist: incomplete stamp (use GitStamp)")
	}
	if ents, err := os.ReadDir(o.Out); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("dist: %s is not empty; remove it first", o.Out)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}
	readme, err := os.ReadFile(filepath.Join(o.Root, "README.md"))
	if err != nil {
		return nil, err
	}
	goVersion, err := output(ctx, o.Root, nil, o.Go, "env", "GOVERSION")
	if err != nil {
		return nil, err
	}
	rel := &Release{Version: o.Stamp.Version, Commit: o.Stamp.Commit, Date: o.Stamp.Time.Format(time.RFC3339), Go: goVersion}
	for _, t := range o.Targets {
		a, err := buildTarget(ctx, o, t, readme)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t, err)
		}
		rel.Artifacts = append(rel.Artifacts, a)
	}
	if err := writeSums(o.Out, rel); err != nil {
		return nil, err
	}
	b, _ := json.MarshalIndent(rel, "", "  ")
	return rel, os.WriteFile(filepath.Join(o.Out, MetadataFile), append(b, '\n'), 0o644)
}

func buildTarget(ctx context.Context, o Options, t Target, readme []byte) (Artifact, error) {
	a := Artifact{OS: t.OS, Arch: t.Arch, Binary: filepath.ToSlash(filepath.Join("bin", t.OS+"_"+t.Arch, t.exe()))}
	bin := filepath.Join(o.Out, a.Binary)
	fmt.Fprintf(o.Log, "dist: go build %s\n", t)
	// Static (no cgo), no local paths, no VCS scan (the stamp carries the
	// commit), and the baseline instruction sets whatever the caller's
	// environment says, so the bytes depend on the source and stamp only.
	env := []string{"CGO_ENABLED=0", "GOOS=" + t.OS, "GOARCH=" + t.Arch, "GOAMD64=v1", "GOARM64=v8.0", "GOFLAGS=", "GOEXPERIMENT="}
	if _, err := output(ctx, o.Root, env, o.Go, "build", "-trimpath", "-buildvcs=false",
		"-ldflags", o.Stamp.ldflags(), "-o", bin, "./cmd/miosa-mcp"); err != nil {
		return a, err
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return a, err
	}
	files := []file{{name: t.exe(), mode: 0o755, data: data}, {name: "README.md", mode: 0o644, data: readme}}
	var buf bytes.Buffer
	if t.OS == "windows" {
		a.Archive = ArchiveBase(o.Stamp.Version, t) + ".zip"
		err = writeZip(&buf, files, o.Stamp.Time)
	} else {
		a.Archive = ArchiveBase(o.Stamp.Version, t) + ".tar.gz"
		err = writeTarGz(&buf, files, o.Stamp.Time)
	}
	if err != nil {
		return a, err
	}
	if err := os.WriteFile(filepath.Join(o.Out, a.Archive), buf.Bytes(), 0o644); err != nil {
		return a, err
	}
	if o.SBOM {
		a.SBOM = ArchiveBase(o.Stamp.Version, t) + ".cdx.json"
		fmt.Fprintf(o.Log, "dist: sbom %s\n", a.SBOM)
		if err := writeSBOM(ctx, o, bin, filepath.Join(o.Out, a.SBOM)); err != nil {
			return a, err
		}
	}
	return a, nil
}

// writeSBOM runs cyclonedx-gomod (pinned in tools/go.mod) on the built
// binary: its modules come from the binary's own build information, and its
// hashes tie the SBOM to the shipped bytes. -noserial and -notimestamp drop
// the only run-dependent fields, so the SBOM is reproducible too.
func writeSBOM(ctx context.Context, o Options, bin, out string) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	absBin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	_, err = output(ctx, o.Root, []string{"GOFLAGS="}, o.Go, "tool", "-modfile=tools/go.mod", "cyclonedx-gomod", "bin",
		"-json", "-noserial", "-notimestamp", "-std", "-version", o.Stamp.Version, "-output", abs, absBin)
	return err
}

// writeSums writes SHA256SUMS for the archives and SBOMs, sorted by name,
// in the format `sha256sum -c` reads.
func writeSums(dir string, rel *Release) error {
	var names []string
	for _, a := range rel.Artifacts {
		names = append(names, a.Archive)
		if a.SBOM != "" {
			names = append(names, a.SBOM)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		sum, err := sha256File(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, n)
	}
	return os.WriteFile(filepath.Join(dir, SumsFile), []byte(b.String()), 0o644)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// ReadRelease reads the metadata.json Build wrote in dir.
func ReadRelease(dir string) (*Release, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetadataFile))
	if err != nil {
		return nil, fmt.Errorf("%w (run `make dist` first)", err)
	}
	var r Release
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", MetadataFile, err)
	}
	return &r, nil
}

// output runs a command in dir with extra environment and returns its
// trimmed stdout; a failure carries its stderr.
func output(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}
