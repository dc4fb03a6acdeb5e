package localfs_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miosa-osa/miosa-mcp/internal/localfs"
)

// FuzzParseFileURI: an accepted root is a clean absolute path without NUL,
// and the file: URI of that path parses back to it.
func FuzzParseFileURI(f *testing.F) {
	for _, s := range []string{
		"file:///home/u/proj", "file:///home/u/My%20Project", "file://localhost/srv", "file:///a%2Fb",
		"file:///tmp/%E2%9C%93", "file:relative", "https://x/y", "file:///a/../b", "file:///C:/Users/x", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		p, err := localfs.ParseFileURI(uri)
		if err != nil {
			return
		}
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || strings.ContainsRune(p, 0) {
			t.Fatalf("ParseFileURI(%q) = %q: not a clean absolute path", uri, p)
		}
		back := (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
		if filepath.Separator == '\\' {
			back = (&url.URL{Scheme: "file", Path: "/" + filepath.ToSlash(p)}).String()
		}
		q, err := localfs.ParseFileURI(back)
		if err != nil || q != p {
			t.Fatalf("ParseFileURI(%q) = %q, but its URI %q parses to %q, %v", uri, p, back, q, err)
		}
	})
}

// FuzzLocate: whatever the caller's path, what Locate accepts is inside
// the root once resolved, and the refusal of anything else names the root.
func FuzzLocate(f *testing.F) {
	for _, s := range []string{"a.txt", "../x", "sub/../../x", "/etc/passwd", "~/x", "link/x", "./", "sub//b", "\x00", " "} {
		f.Add(s)
	}
	base, err := filepath.EvalSymlinks(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	root := filepath.Join(base, "root")
	os.MkdirAll(filepath.Join(root, "sub"), 0o755)
	os.MkdirAll(filepath.Join(base, "out"), 0o755)
	os.Symlink(filepath.Join(base, "out"), filepath.Join(root, "link"))
	r, _ := localfs.NewRoots([]string{root}, root, root, "fuzz")
	f.Fuzz(func(t *testing.T, p string) {
		isDir, err := r.Stat(p)
		if err != nil {
			if rf, ok := err.(*localfs.Refusal); ok && !strings.Contains(rf.Error(), root) {
				t.Fatalf("refusal %q does not name the root", rf.Error())
			}
			return
		}
		abs, _ := r.Abs(p)
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			t.Fatalf("Stat(%q) accepted a path that does not resolve: %v", p, err)
		}
		if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
			t.Fatalf("Stat(%q) accepted %s (dir %v), outside %s", p, real, isDir, root)
		}
	})
}
