package dist

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"
)

const repoRoot = "../.."

func TestVersionFor(t *testing.T) {
	const sha = "7f6b26cd8384a1b2c3d4e5f60718293a4b5c6d7e"
	tests := []struct {
		name    string
		tags    []string
		dirty   bool
		want    string
		wantErr string
	}{
		{"release tag, clean", []string{"v0.1.0"}, false, "v0.1.0", ""},
		{"release tag among others", []string{"latest", "v0.1.0"}, false, "v0.1.0", ""},
		{"release tag, dirty", []string{"v0.1.0"}, true, "", "uncommitted changes"},
		{"untagged", nil, false, "v0.1.0-dev.g7f6b26cd8384", ""},
		{"untagged, dirty", nil, true, "v0.1.0-dev.g7f6b26cd8384.dirty", ""},
		{"non-version tag", []string{"nightly"}, false, "v0.1.0-dev.g7f6b26cd8384", ""},
		{"another version tag", []string{"v0.2.0"}, false, "", "server.json says version 0.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VersionFor("0.1.0", tt.tags, sha, tt.dirty)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %v; want an error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseTargets(t *testing.T) {
	got, err := ParseTargets("linux/amd64, windows/arm64")
	if err != nil || len(got) != 2 || got[0] != (Target{"linux", "amd64"}) || got[1] != (Target{"windows", "arm64"}) {
		t.Errorf("got %v, %v", got, err)
	}
	if all, _ := ParseTargets("all"); len(all) != 6 {
		t.Errorf("all = %v", all)
	}
	if _, err := ParseTargets("plan9/386"); err == nil {
		t.Error("plan9/386 accepted")
	}
}

func TestNPMNames(t *testing.T) {
	want := map[Target]string{
		{"darwin", "amd64"}: "@miosa/mcp-darwin-x64", {"darwin", "arm64"}: "@miosa/mcp-darwin-arm64",
		{"linux", "amd64"}: "@miosa/mcp-linux-x64", {"linux", "arm64"}: "@miosa/mcp-linux-arm64",
		{"windows", "amd64"}: "@miosa/mcp-win32-x64", {"windows", "arm64"}: "@miosa/mcp-win32-arm64",
	}
	for _, tg := range Targets {
		if got := NPMPackageName(tg); got != want[tg] {
			t.Errorf("%s: %s, want %s", tg, got, want[tg])
		}
	}
}

// TestArchivesAreDeterministic writes each archive kind from the same files
// in two different orders and checks the bytes are equal and carry nothing
// of the machine or the clock.
func TestArchivesAreDeterministic(t *testing.T) {
	mtime := time.Date(2025, 11, 25, 10, 30, 0, 0, time.UTC)
	files := func() []file {
		fs := []file{
			{name: "miosa-mcp", mode: 0o755, data: bytes.Repeat([]byte("\x7fELF binary"), 1000)},
			{name: "README.md", mode: 0o644, data: []byte("# miosa-mcp\n")},
		}
		rand.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
		return fs
	}
	for _, kind := range []string{"tar.gz", "zip"} {
		t.Run(kind, func(t *testing.T) {
			write := writeTarGz
			if kind == "zip" {
				write = writeZip
			}
			var a, b bytes.Buffer
			if err := write(&a, files(), mtime); err != nil {
				t.Fatal(err)
			}
			if err := write(&b, files(), mtime); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("two writes of the same files differ")
			}
			entries := readArchive(t, kind, a.Bytes(), mtime)
			if len(entries) != 2 || entries[0].name != "README.md" || entries[1].name != "miosa-mcp" {
				t.Fatalf("entries %v, want README.md then miosa-mcp", entries)
			}
			if entries[0].mode != 0o644 || entries[1].mode != 0o755 {
				t.Errorf("modes %o %o, want 644 755", entries[0].mode, entries[1].mode)
			}
		})
	}
}

type entry struct {
	name string
	mode os.FileMode
	data []byte
}

// readArchive lists an archive and fails on any header field that would
// tie it to a machine or a moment: mtimes other than mtime, owners, names,
// gzip's name and timestamp.
func readArchive(t *testing.T, kind string, b []byte, mtime time.Time) []entry {
	t.Helper()
	var out []entry
	if kind == "zip" {
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			if !f.Modified.Equal(mtime) {
				t.Errorf("%s: mtime %v, want %v", f.Name, f.Modified, mtime)
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			out = append(out, entry{f.Name, f.Mode().Perm(), data})
		}
		return out
	}
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if gz.Name != "" || !gz.ModTime.IsZero() || gz.Comment != "" {
		t.Errorf("gzip header carries name %q, time %v, comment %q", gz.Name, gz.ModTime, gz.Comment)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(mtime) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
			t.Errorf("%s: times %v/%v/%v, want mtime %v only", h.Name, h.ModTime, h.AccessTime, h.ChangeTime, mtime)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.Typeflag != tar.TypeReg || len(h.PAXRecords) > 0 {
			t.Errorf("%s: owner %d:%d %q:%q type %c pax %v", h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.Typeflag, h.PAXRecords)
		}
		data, _ := io.ReadAll(tr)
		out = append(out, entry{h.Name, os.FileMode(h.Mode).Perm(), data})
	}
	return out
}

// TestBuildIsReproducible runs the real release build twice for the host's
// linux/amd64 target (make dist builds all six the same way) into two
// directories, a second apart, and requires byte-identical output: archive,
// SBOM, SHA256SUMS and metadata. It then checks what the release contains:
// the archived binary is the staged one, the SBOM describes those bytes,
// SHA256SUMS verifies, and the binary reports its stamp in `version` and
// in the MCP initialize reply.
func TestBuildIsReproducible(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is needed to derive the stamp")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	st, err := GitStamp(ctx, root, "")
	if err != nil {
		t.Fatal(err)
	}
	target := Target{"linux", "amd64"}
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "nested", "b")}
	var rel *Release
	for i, dir := range dirs {
		if i > 0 {
			// A clock leaking into the output would show in the second run.
			time.Sleep(1100 * time.Millisecond)
		}
		rel, err = Build(ctx, Options{Root: root, Out: dir, Stamp: st, Targets: []Target{target}, SBOM: true})
		if err != nil {
			t.Fatal(err)
		}
	}
	a := rel.Artifacts[0]
	for _, name := range []string{a.Archive, a.SBOM, SumsFile, MetadataFile, a.Binary} {
		x, err1 := os.ReadFile(filepath.Join(dirs[0], name))
		y, err2 := os.ReadFile(filepath.Join(dirs[1], name))
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", name, err1, err2)
		}
		if !bytes.Equal(x, y) {
			t.Errorf("%s differs between two builds of the same commit", name)
		}
	}
	if want := ArchiveBase(st.Version, target) + ".tar.gz"; a.Archive != want {
		t.Errorf("archive %s, want %s", a.Archive, want)
	}

	dir := dirs[0]
	archive, _ := os.ReadFile(filepath.Join(dir, a.Archive))
	bin, _ := os.ReadFile(filepath.Join(dir, a.Binary))
	entries := readArchive(t, "tar.gz", archive, st.Time)
	if len(entries) != 2 || entries[1].name != "miosa-mcp" || !bytes.Equal(entries[1].data, bin) || entries[1].mode != 0o755 {
		t.Fatalf("the archive does not hold the staged binary as an executable miosa-mcp: %v", entries)
	}
	if readme, _ := os.ReadFile(filepath.Join(root, "README.md")); entries[0].name != "README.md" || !bytes.Equal(entries[0].data, readme) {
		t.Error("the archive's README.md is not the repository's")
	}

	t.Run("SHA256SUMS verifies", func(t *testing.T) {
		sums, _ := os.ReadFile(filepath.Join(dir, SumsFile))
		lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
		if len(lines) != 2 {
			t.Fatalf("SHA256SUMS:\n%s\nwant the archive and the SBOM", sums)
		}
		for _, l := range lines {
			sum, name, ok := strings.Cut(l, "  ")
			b, err := os.ReadFile(filepath.Join(dir, name))
			if !ok || err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
				t.Errorf("%s: sum mismatch", name)
			}
		}
		if sha, err := exec.LookPath("sha256sum"); err == nil {
			cmd := exec.Command(sha, "-c", SumsFile)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("sha256sum -c: %v\n%s", err, out)
			}
		}
	})

	t.Run("SBOM describes the shipped binary", func(t *testing.T) {
		raw, _ := os.ReadFile(filepath.Join(dir, a.SBOM))
		var bom struct {
			BOMFormat string `json:"bomFormat"`
			Metadata  struct {
				Component struct {
					Name, Version string
				}
				Properties []struct{ Name, Value string }
			}
			Components []struct{ Name, Version string }
		}
		if err := json.Unmarshal(raw, &bom); err != nil || bom.BOMFormat != "CycloneDX" {
			t.Fatalf("not a CycloneDX document (%v)", err)
		}
		if bom.Metadata.Component.Name != "github.com/miosa-osa/miosa-mcp" || bom.Metadata.Component.Version != st.Version {
			t.Errorf("main component %+v", bom.Metadata.Component)
		}
		h := sha256.Sum256(bin)
		props := map[string]string{}
		for _, p := range bom.Metadata.Properties {
			props[p.Name] = p.Value
		}
		if props["cdx:gomod:binary:hash:SHA-256"] != hex.EncodeToString(h[:]) {
			t.Errorf("SBOM binary hash %q, want the shipped binary's %x", props["cdx:gomod:binary:hash:SHA-256"], h)
		}
		if props["cdx:gomod:build:env:CGO_ENABLED"] != "0" {
			t.Errorf("CGO_ENABLED = %q, want a static build", props["cdx:gomod:build:env:CGO_ENABLED"])
		}
		deps := map[string]bool{}
		for _, c := range bom.Components {
			deps[c.Name] = true
		}
		for _, m := range []string{"github.com/mark3labs/mcp-go", "std"} {
			if !deps[m] {
				t.Errorf("SBOM lacks %s", m)
			}
		}
		if strings.Contains(string(raw), root) {
			t.Error("SBOM contains the build machine's path")
		}
	})

	t.Run("the binary reports its stamp", func(t *testing.T) {
		path := filepath.Join(dir, a.Binary)
		out, err := exec.Command(path, "version").Output()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(out), "\n")
		if lines[0] != "miosa-mcp "+st.Version || !strings.Contains(lines[1], st.Commit+" ("+st.Time.Format(time.RFC3339)+")") {
			t.Errorf("version printed:\n%s\nwant %s, commit %s at %s", out, st.Version, st.Commit, st.Time.Format(time.RFC3339))
		}
		if short, _ := exec.Command(path, "--version").Output(); string(short) != "miosa-mcp "+st.Version+"\n" {
			t.Errorf("--version printed %q", short)
		}
		c, err := client.NewStdioMCPClient(path, []string{"HOME=" + t.TempDir()}, "--mock")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var req mcp.InitializeRequest
		req.Params.ProtocolVersion = mcp.LATEST_LEGACY_PROTOCOL_VERSION
		req.Params.ClientInfo = mcp.Implementation{Name: "dist-test", Version: "1"}
		init, err := c.Initialize(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if init.ServerInfo.Name != "miosa-mcp" || init.ServerInfo.Version != st.Version {
			t.Errorf("serverInfo %+v, want miosa-mcp %s", init.ServerInfo, st.Version)
		}
	})
}
