package testsupport

import (
	"os"
	"path/filepath"
	"testing"
)

// ProjectDirs makes the directories a local-file test needs: a project
// (the server's working directory, or a client's root) and a directory
// beside it, outside, holding secret.txt, which no confined path may reach.
// Symlinks in the temporary directory are resolved, so the paths are the
// ones the server reports.
func ProjectDirs(t testing.TB) (project, outside string) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	project, outside = filepath.Join(base, "project"), filepath.Join(base, "outside")
	for _, d := range []string{project, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	WriteFile(t, filepath.Join(outside, "secret.txt"), []byte("secret"))
	return project, outside
}

// WriteFile writes b to p, making its directory.
func WriteFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
