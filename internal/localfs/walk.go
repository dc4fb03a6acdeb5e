package localfs

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Limits bound one tree (and one file): how many files and how many bytes
// in all. The names are the settings quoted when a limit is hit.
type Limits struct {
	MaxFiles  int
	MaxBytes  int64
	FilesName string // e.g. "--local-max-files / MIOSA_LOCAL_MAX_FILES"
	BytesName string
}

// Entry is one file of a tree.
type Entry struct {
	Rel  string // slash-separated path below the tree's top
	Path string // the caller's path to it: the tree's path joined with Rel
	Size int64  // when walked; the file is checked again when opened
}

// Tree is a directory to upload: its regular files, in lexical order.
type Tree struct {
	Path    string // resolved absolute path of the top
	Entries []Entry
	Bytes   int64
	// Skipped lists symbolic links to directories, which are not followed
	// (a link cycle would never end), slash-separated below the top.
	Skipped []string
}

// Stat reports whether p is a directory, after confining it.
func (r *Roots) Stat(p string) (isDir bool, err error) {
	loc, err := r.Locate(p)
	if err != nil {
		return false, err
	}
	fi, err := os.Lstat(loc.real)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, r.refuse(p, "does not exist")
		}
		return false, r.refuse(p, "cannot be read (%v)", unwrapPathError(err))
	}
	return fi.IsDir(), nil
}

// Walk lists the regular files below the directory p. Every entry is
// confined like a path of its own: a symbolic link is followed only when
// it resolves to a regular file inside the roots (a link to a directory
// is skipped), and a link out of the roots, a FIFO, socket or device
// anywhere in the tree refuses the whole tree, before anything is sent.
// The walk stops as soon as a limit is passed.
func (r *Roots) Walk(p string, lim Limits) (*Tree, error) {
	loc, err := r.Locate(p)
	if err != nil {
		return nil, err
	}
	rt, err := os.OpenRoot(loc.root)
	if err != nil {
		return nil, r.refuse(p, "cannot be opened (%v)", unwrapPathError(err))
	}
	defer rt.Close()
	top, err := rt.OpenRoot(loc.rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, r.refuse(p, "does not exist")
		}
		return nil, r.refuse(p, "cannot be opened as a directory (%v)", unwrapPathError(err))
	}
	defer top.Close()
	t := &Tree{Path: loc.real}
	err = fs.WalkDir(top.FS(), ".", func(rel string, d fs.DirEntry, err error) error {
		shown := filepath.Join(p, filepath.FromSlash(rel))
		if err != nil {
			return r.refuse(shown, "cannot be read (%v)", unwrapPathError(err))
		}
		if rel == "." {
			return nil
		}
		mode := d.Type()
		switch {
		case mode.IsDir():
			return nil
		case mode&fs.ModeSymlink != 0:
			target, err := r.Locate(shown)
			if err != nil {
				return err
			}
			fi, err := os.Stat(target.real)
			if err != nil {
				return r.refuse(shown, "is a symbolic link that cannot be followed (%v)", unwrapPathError(err))
			}
			if fi.IsDir() {
				t.Skipped = append(t.Skipped, rel)
				return nil
			}
			if reason := notRegular(fi.Mode()); reason != "" {
				return r.refuse(shown, "%s", reason)
			}
			return t.add(r, lim, Entry{Rel: rel, Path: shown, Size: fi.Size()})
		case mode.IsRegular():
			fi, err := d.Info()
			if err != nil {
				return r.refuse(shown, "cannot be read (%v)", unwrapPathError(err))
			}
			return t.add(r, lim, Entry{Rel: rel, Path: shown, Size: fi.Size()})
		default:
			return r.refuse(shown, "%s", notRegular(mode))
		}
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Tree) add(r *Roots, lim Limits, e Entry) error {
	if lim.MaxFiles > 0 && len(t.Entries) >= lim.MaxFiles {
		return r.refuse(t.Path, "has more than %d files, the limit of one call (%s)", lim.MaxFiles, lim.FilesName)
	}
	if lim.MaxBytes > 0 && t.Bytes+e.Size > lim.MaxBytes {
		return r.refuse(t.Path, "holds more than %d bytes, the limit of one call (%s)", lim.MaxBytes, lim.BytesName)
	}
	e.Rel = path.Clean(e.Rel)
	t.Entries = append(t.Entries, e)
	t.Bytes += e.Size
	return nil
}
