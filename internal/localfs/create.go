package localfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Target is a file being written: bytes go to a temporary file in the
// target's directory, and Commit renames it over the target, so the
// target is never seen half-written and a failed download leaves it as it
// was.
type Target struct {
	Path string // resolved absolute path the file will have

	rt       *os.Root
	tmp      *os.File
	tmpRel   string
	finalRel string
	perm     fs.FileMode
	done     bool
}

// Create prepares writing p. When p names an existing directory, or ends
// with a path separator, the file is defaultName inside it (defaultName
// must then be a plain file name). Missing parent directories are created
// inside the root. Refused: a target outside the roots (also through a
// symlinked parent), a symbolic link at the target (never written
// through), and anything but a regular file in its place.
func (r *Roots) Create(p, defaultName string) (*Target, error) {
	abs, err := r.Abs(p)
	if err != nil {
		return nil, err
	}
	intoDir := strings.HasSuffix(p, "/") || strings.HasSuffix(p, string(filepath.Separator))
	if !intoDir && r.contains(abs) {
		if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
			intoDir = true
		}
	}
	if intoDir {
		if !plainName(defaultName) {
			return nil, r.refuse(p, "is a directory and no file name can be derived (%q); name the file", defaultName)
		}
		abs = filepath.Join(abs, defaultName)
	}
	// The directory is resolved, the name is not: a symbolic link at the
	// target is refused below, never followed.
	dir, name := filepath.Split(abs)
	if !plainName(name) {
		return nil, r.refuse(p, "does not name a file")
	}
	parent, err := r.Locate(dir)
	if err != nil {
		if rf, ok := err.(*Refusal); ok {
			rf.Path = p
		}
		return nil, err
	}
	loc := &location{given: p, abs: abs, real: filepath.Join(parent.real, name), root: parent.root, rel: filepath.Join(parent.rel, name)}
	rt, err := os.OpenRoot(loc.root)
	if err != nil {
		return nil, r.refuse(p, "cannot be opened (%v)", unwrapPathError(err))
	}
	t, err := r.create(rt, loc)
	if err != nil {
		rt.Close()
		return nil, err
	}
	return t, nil
}

func (r *Roots) create(rt *os.Root, loc *location) (*Target, error) {
	dir, name := filepath.Split(loc.rel)
	dir = filepath.Clean(dir)
	if dir != "." {
		if err := rt.MkdirAll(dir, 0o755); err != nil {
			return nil, r.refuse(loc.given, "cannot have its directory created (%v)", unwrapPathError(err))
		}
	}
	perm := fs.FileMode(0o644)
	switch fi, err := rt.Lstat(loc.rel); {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return nil, r.refuse(loc.given, "is a symbolic link; miosa-mcp does not write through symbolic links")
	case err == nil && !fi.Mode().IsRegular():
		return nil, r.refuse(loc.given, "%s; only a regular file is overwritten", notRegular(fi.Mode()))
	case err == nil:
		perm = fi.Mode().Perm()
	case !errors.Is(err, fs.ErrNotExist):
		return nil, r.refuse(loc.given, "cannot be checked (%v)", unwrapPathError(err))
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmpRel := filepath.Join(dir, "."+name+".miosa-"+hex.EncodeToString(rnd[:])+".tmp")
	// O_EXCL: os.Root never follows a symlink when creating exclusively.
	f, err := rt.OpenFile(tmpRel, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, r.refuse(loc.given, "cannot be written (%v)", unwrapPathError(err))
	}
	return &Target{Path: loc.real, rt: rt, tmp: f, tmpRel: tmpRel, finalRel: loc.rel, perm: perm}, nil
}

// plainName reports whether s is usable as one file name.
func plainName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`+"\x00")
}

// Write writes to the temporary file.
func (t *Target) Write(p []byte) (int, error) { return t.tmp.Write(p) }

// Commit flushes the temporary file to disk and renames it over the
// target. A symbolic link that appeared at the target meanwhile is
// replaced, not followed.
func (t *Target) Commit() error {
	if t.done {
		return errors.New("localfs: target already finished")
	}
	t.done = true
	defer t.rt.Close()
	err := t.tmp.Chmod(t.perm)
	if err == nil {
		err = t.tmp.Sync()
	}
	if cerr := t.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = t.rt.Rename(t.tmpRel, t.finalRel)
	}
	if err != nil {
		t.rt.Remove(t.tmpRel)
		return err
	}
	return nil
}

// Abort removes the temporary file; the target is left as it was.
func (t *Target) Abort() {
	if t.done {
		return
	}
	t.done = true
	t.tmp.Close()
	t.rt.Remove(t.tmpRel)
	t.rt.Close()
}
