package localfs_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miosa-osa/miosa-mcp/internal/localfs"
)

func TestParseFileURI(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX paths")
	}
	for _, tc := range []struct {
		uri, want string // want "" = error
	}{
		{"file:///home/u/proj", "/home/u/proj"},
		{"file:///home/u/My%20Project", "/home/u/My Project"},
		{"file:///tmp/%E2%9C%93%25done", "/tmp/✓%done"},
		{"file://localhost/srv/app", "/srv/app"},
		{"FILE:///srv", "/srv"},
		{"file:///srv/app/", "/srv/app"},
		{"file:///srv/app/../other", "/srv/other"},
		{"file:///", "/"},
		{"file://host.example/srv", ""},
		{"file:///a%2Fb", ""},
		{"file:///a%2fb", ""},
		{"file:///a%00b", ""},
		{"file:///x?q=1", ""},
		{"file:///x#frag", ""},
		{"file://user@localhost/x", ""},
		{"file://localhost:8080/x", ""},
		{"file:relative/path", ""},
		{"file://", ""},
		{"https://example.com/x", ""},
		{"/plain/path", ""},
		{"file:///%zz", ""},
		{"", ""},
	} {
		got, err := localfs.ParseFileURI(tc.uri)
		if tc.want == "" {
			if err == nil {
				t.Errorf("ParseFileURI(%q) = %q, want an error", tc.uri, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseFileURI(%q) = %q, %v; want %q", tc.uri, got, err, tc.want)
		}
	}
}

// tree builds a scratch layout:
//
//	base/root/          the allowed directory
//	base/root/a.txt     "hello"
//	base/root/sub/b.bin
//	base/outside/secret.txt
func tree(t *testing.T) (base, root string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	root = filepath.Join(base, "root")
	mustMkdir(t, filepath.Join(root, "sub"))
	mustMkdir(t, filepath.Join(base, "outside"))
	mustWrite(t, filepath.Join(root, "a.txt"), "hello")
	mustWrite(t, filepath.Join(root, "sub", "b.bin"), "\x00\x01\x02")
	mustWrite(t, filepath.Join(base, "outside", "secret.txt"), "secret")
	return base, root
}

func mustMkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
}

func newRoots(t *testing.T, cwd string, dirs ...string) *localfs.Roots {
	t.Helper()
	r, skipped := localfs.NewRoots(dirs, cwd, "", "test roots")
	if len(skipped) > 0 {
		t.Fatalf("skipped roots: %v", skipped)
	}
	return r
}

// wantRefusal checks err is a Refusal naming the roots.
func wantRefusal(t *testing.T, err error, reason string, roots ...string) {
	t.Helper()
	var rf *localfs.Refusal
	if !errors.As(err, &rf) {
		t.Fatalf("error %v (%T), want a *localfs.Refusal", err, err)
	}
	msg := err.Error()
	for _, r := range roots {
		if !strings.Contains(msg, r) {
			t.Errorf("refusal %q does not name the root %s", msg, r)
		}
	}
	if !strings.Contains(msg, reason) {
		t.Errorf("refusal %q does not say %q", msg, reason)
	}
}

func TestOpenConfinement(t *testing.T) {
	base, root := tree(t)
	mustSymlink(t, filepath.Join(base, "outside", "secret.txt"), filepath.Join(root, "link-out"))
	mustSymlink(t, filepath.Join(base, "outside"), filepath.Join(root, "dir-out"))
	mustSymlink(t, filepath.Join(root, "a.txt"), filepath.Join(root, "link-in"))
	mustSymlink(t, "sub", filepath.Join(root, "sub-link"))
	r := newRoots(t, root, root)

	for _, tc := range []struct {
		name, path string
		want       string // content; "" with reason set = refused
		reason     string
	}{
		{"relative inside", "a.txt", "hello", ""},
		{"dot-slash", "./sub/b.bin", "\x00\x01\x02", ""},
		{"absolute inside", filepath.Join(root, "a.txt"), "hello", ""},
		{"symlink inside", "link-in", "hello", ""},
		{"symlinked dir inside", "sub-link/b.bin", "\x00\x01\x02", ""},
		{"dot-dot out", "../outside/secret.txt", "", "is outside the allowed directories"},
		{"dot-dot deep out", "sub/../../outside/secret.txt", "", "is outside the allowed directories"},
		{"absolute outside", filepath.Join(base, "outside", "secret.txt"), "", "is outside the allowed directories"},
		{"absolute root", "/etc/passwd", "", "is outside the allowed directories"},
		{"symlink at the file", "link-out", "", "through a symbolic link"},
		{"symlink at a parent", "dir-out/secret.txt", "", "through a symbolic link"},
		{"missing", "nope.txt", "", "does not exist"},
		{"directory", "sub", "", "is a directory"},
		{"dev/zero", "/dev/zero", "", "is outside the allowed directories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := r.Open(tc.path, 0, "")
			if tc.reason != "" {
				if err == nil {
					f.Close()
				}
				wantRefusal(t, err, tc.reason, root)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var sum [32]byte
			b, err := io.ReadAll(f.Reader(&sum))
			if err != nil || string(b) != tc.want {
				t.Fatalf("read %q, %v; want %q", b, err, tc.want)
			}
			if sum != sha256.Sum256(b) {
				t.Errorf("sha256 not reported")
			}
		})
	}
}

func TestOpenSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix special files")
	}
	_, root := tree(t)
	fifo := filepath.Join(root, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("mkfifo:", err)
	}
	sock := filepath.Join(root, "sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skip("unix socket:", err)
	}
	defer ln.Close()
	r := newRoots(t, root, root)
	done := make(chan error, 1)
	go func() {
		_, err := r.Open("fifo", 0, "")
		done <- err
	}()
	select {
	case err := <-done:
		wantRefusal(t, err, "FIFO", root)
	case <-time.After(30 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
	_, err = r.Open("sock", 0, "")
	wantRefusal(t, err, "socket", root)

	// A root that holds devices and kernel pseudo-files: still refused.
	dev := newRoots(t, "/", "/dev")
	_, err = dev.Open("/dev/zero", 0, "")
	wantRefusal(t, err, "device", "/dev")
	if runtime.GOOS == "linux" {
		proc := newRoots(t, "/", "/proc")
		_, err = proc.Open("/proc/self/status", 0, "")
		wantRefusal(t, err, "pseudo-filesystem", "/proc")
	}
}

func TestOpenSizeLimit(t *testing.T) {
	_, root := tree(t)
	r := newRoots(t, root, root)
	if _, err := r.Open("a.txt", 4, "--local-max-bytes"); err == nil {
		t.Fatal("a 5-byte file passed a 4-byte limit")
	} else {
		wantRefusal(t, err, "--local-max-bytes", root)
	}
	f, err := r.Open("a.txt", 5, "--local-max-bytes")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestReaderChangedFile: a file that grows or shrinks while it is read
// fails before its last bytes are handed on.
func TestReaderChangedFile(t *testing.T) {
	_, root := tree(t)
	r := newRoots(t, root, root)
	p := filepath.Join(root, "grow.log")
	data := bytes.Repeat([]byte("x"), 100_000)
	for _, tc := range []struct {
		name   string
		change func(t *testing.T)
	}{
		{"grows", func(t *testing.T) {
			fh, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			fh.Write([]byte("more"))
			fh.Close()
		}},
		{"shrinks", func(t *testing.T) {
			if err := os.Truncate(p, 50_000); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := r.Open(p, 0, "")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rd := f.Reader(nil)
			buf := make([]byte, 1000)
			n, err := io.ReadFull(rd, buf)
			if err != nil || n != 1000 {
				t.Fatal(n, err)
			}
			tc.change(t)
			got, err := io.ReadAll(rd)
			if !errors.Is(err, localfs.ErrChanged) {
				t.Fatalf("read after the change: %v, want ErrChanged", err)
			}
			if total := 1000 + len(got); total >= len(data) {
				t.Errorf("%d bytes were handed on, want fewer than the %d the file had", total, len(data))
			}
		})
	}
}

func TestNewRoots(t *testing.T) {
	base, root := tree(t)
	mustSymlink(t, root, filepath.Join(base, "root-link"))
	r, skipped := localfs.NewRoots([]string{filepath.Join(base, "root-link"), "relative/dir", filepath.Join(base, "missing"), filepath.Join(root, "a.txt"), root}, "", "", "src")
	if len(skipped) != 3 {
		t.Errorf("skipped %v, want the relative, missing and non-directory roots", skipped)
	}
	if got := r.Dirs(); len(got) != 1 || got[0] != filepath.Join(base, "root-link") {
		t.Errorf("Dirs() = %v, want the symlinked root once (the duplicate real one dropped)", got)
	}
	// A path through the root as given and as resolved both work.
	for _, p := range []string{filepath.Join(base, "root-link", "a.txt"), filepath.Join(root, "a.txt"), "a.txt"} {
		f, err := r.Open(p, 0, "")
		if err != nil {
			t.Errorf("Open(%q): %v", p, err)
			continue
		}
		f.Close()
	}
	empty, _ := localfs.NewRoots(nil, root, "", "the client's roots")
	_, err := empty.Open(filepath.Join(root, "a.txt"), 0, "")
	wantRefusal(t, err, "Allowed directories: none (the client's roots)")
	_, err = empty.Open("a.txt", 0, "")
	wantRefusal(t, err, "no allowed directory")
}

func TestHomeExpansion(t *testing.T) {
	_, root := tree(t)
	r, _ := localfs.NewRoots([]string{root}, "", root, "src")
	f, err := r.Open("~/a.txt", 0, "")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func TestWalk(t *testing.T) {
	base, root := tree(t)
	dist := filepath.Join(root, "dist")
	mustMkdir(t, filepath.Join(dist, "assets", "img"))
	mustWrite(t, filepath.Join(dist, "index.html"), "<html>")
	mustWrite(t, filepath.Join(dist, "assets", "app.js"), "js")
	mustWrite(t, filepath.Join(dist, "assets", "img", "logo.png"), "png")
	mustMkdir(t, filepath.Join(dist, "empty"))
	mustSymlink(t, filepath.Join(root, "a.txt"), filepath.Join(dist, "linked.txt"))
	mustSymlink(t, filepath.Join(root, "sub"), filepath.Join(dist, "linked-dir"))
	r := newRoots(t, root, root)

	tr, err := r.Walk("dist", localfs.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var rels []string
	for _, e := range tr.Entries {
		rels = append(rels, e.Rel)
	}
	want := "assets/app.js assets/img/logo.png index.html linked.txt"
	if got := strings.Join(rels, " "); got != want {
		t.Errorf("entries %q, want %q", got, want)
	}
	if tr.Bytes != 2+3+6+5 {
		t.Errorf("bytes %d", tr.Bytes)
	}
	if len(tr.Skipped) != 1 || tr.Skipped[0] != "linked-dir" {
		t.Errorf("skipped %v, want the directory link", tr.Skipped)
	}

	for _, tc := range []struct {
		name   string
		lim    localfs.Limits
		setup  func(t *testing.T) func()
		reason string
	}{
		{"file limit", localfs.Limits{MaxFiles: 3, FilesName: "--local-max-files"}, nil, "more than 3 files, the limit of one call (--local-max-files)"},
		{"byte limit", localfs.Limits{MaxBytes: 10, BytesName: "--local-max-bytes"}, nil, "more than 10 bytes, the limit of one call (--local-max-bytes)"},
		{"link out of the roots", localfs.Limits{}, func(t *testing.T) func() {
			l := filepath.Join(dist, "zz-out")
			mustSymlink(t, filepath.Join(base, "outside", "secret.txt"), l)
			return func() { os.Remove(l) }
		}, "through a symbolic link"},
		{"fifo in the tree", localfs.Limits{}, func(t *testing.T) func() {
			l := filepath.Join(dist, "assets", "pipe")
			if err := syscall.Mkfifo(l, 0o644); err != nil {
				t.Skip(err)
			}
			return func() { os.Remove(l) }
		}, "FIFO"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				defer tc.setup(t)()
			}
			_, err := r.Walk("dist", tc.lim)
			wantRefusal(t, err, tc.reason, root)
		})
	}
	_, err = r.Walk("../outside", localfs.Limits{})
	wantRefusal(t, err, "outside the allowed directories", root)
}

func TestCreate(t *testing.T) {
	base, root := tree(t)
	mustSymlink(t, filepath.Join(base, "outside", "secret.txt"), filepath.Join(root, "link-out"))
	mustSymlink(t, filepath.Join(root, "a.txt"), filepath.Join(root, "link-in"))
	mustSymlink(t, filepath.Join(base, "outside"), filepath.Join(root, "dir-out"))
	r := newRoots(t, root, root)

	write := func(p, name, content string) (string, error) {
		tg, err := r.Create(p, name)
		if err != nil {
			return "", err
		}
		if _, err := tg.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		// Atomic: until Commit the target is unchanged.
		if old, err := os.ReadFile(tg.Path); err == nil && string(old) == content && content != "" {
			t.Errorf("%s already holds the new content before Commit", tg.Path)
		}
		return tg.Path, tg.Commit()
	}
	for _, tc := range []struct {
		name, path, defName, want string // want "" → refused with reason
		reason                    string
	}{
		{"new file", "out/new/deep.txt", "", filepath.Join(root, "out", "new", "deep.txt"), ""},
		{"overwrite", "a.txt", "", filepath.Join(root, "a.txt"), ""},
		{"into a directory", "sub", "remote.csv", filepath.Join(root, "sub", "remote.csv"), ""},
		{"into a new directory", "fresh/", "remote.csv", filepath.Join(root, "fresh", "remote.csv"), ""},
		{"directory without a name", "sub", "", "", "no file name can be derived"},
		{"directory with a bad name", "sub", "..", "", "no file name can be derived"},
		{"outside", "../outside/new.txt", "", "", "is outside the allowed directories"},
		{"over a file outside", filepath.Join(base, "outside", "secret.txt"), "", "", "is outside the allowed directories"},
		{"symlink out at the target", "link-out", "", "", "does not write through symbolic links"},
		{"symlink in at the target", "link-in", "", "", "does not write through symbolic links"},
		{"through a symlinked parent", "dir-out/new.txt", "", "", "through a symbolic link"},
		{"the root itself", root, "", "", "no file name can be derived"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := write(tc.path, tc.defName, "new content")
			if tc.reason != "" {
				wantRefusal(t, err, tc.reason, root)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("wrote %s, want %s", got, tc.want)
			}
			if b, _ := os.ReadFile(tc.want); string(b) != "new content" {
				t.Errorf("%s holds %q", tc.want, b)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(base, "outside", "secret.txt")); string(b) != "secret" {
		t.Errorf("the file outside the roots was changed: %q", b)
	}
	// Abort leaves the target as it was and no temporary file behind.
	mustWrite(t, filepath.Join(root, "keep.txt"), "old")
	tg, err := r.Create("keep.txt", "")
	if err != nil {
		t.Fatal(err)
	}
	tg.Write([]byte("partial"))
	tg.Abort()
	if b, _ := os.ReadFile(filepath.Join(root, "keep.txt")); string(b) != "old" {
		t.Errorf("abort changed the target: %q", b)
	}
	ents, _ := os.ReadDir(root)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestCreateSymlinkSwappedIn: a symbolic link that appears at the target
// after Create checked it is replaced by the rename, not written through.
func TestCreateSymlinkSwappedIn(t *testing.T) {
	base, root := tree(t)
	r := newRoots(t, root, root)
	tg, err := r.Create("swap.txt", "")
	if err != nil {
		t.Fatal(err)
	}
	tg.Write([]byte("downloaded"))
	mustSymlink(t, filepath.Join(base, "outside", "secret.txt"), filepath.Join(root, "swap.txt"))
	if err := tg.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "outside", "secret.txt")); string(b) != "secret" {
		t.Errorf("the rename wrote through the symlink: the outside file holds %q", b)
	}
	fi, err := os.Lstat(filepath.Join(root, "swap.txt"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("swap.txt is %v, %v; want the downloaded regular file", fi, err)
	}
}
