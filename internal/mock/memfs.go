package mock

import (
	"errors"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"
)

// memfs is the in-memory filesystem of one computer or sandbox. Paths are
// absolute and cleaned; directories are explicit nodes so that empty ones
// survive, which mkdir and list need.
type memfs struct {
	nodes map[string]*fnode
}

type fnode struct {
	dir   bool
	data  []byte
	mode  string // octal, as the API reports it ("0644")
	mtime time.Time
}

var (
	errNotExist = errors.New("no such file or directory")
	errIsDir    = errors.New("is a directory")
	errNotDir   = errors.New("not a directory")
	errExist    = errors.New("file exists")
	errNotEmpty = errors.New("directory not empty")
)

func newFS(now time.Time, dirs ...string) *memfs {
	f := &memfs{nodes: map[string]*fnode{"/": {dir: true, mode: "0755", mtime: now}}}
	for _, d := range dirs {
		f.mkdirAll(d, "0755", now)
	}
	return f
}

// abs resolves p against cwd and cleans it.
func abs(p, cwd string) string {
	if !strings.HasPrefix(p, "/") {
		p = path.Join(cwd, p)
	}
	return path.Clean("/" + p)
}

func (f *memfs) stat(p string) (*fnode, bool) {
	n, ok := f.nodes[path.Clean("/"+p)]
	return n, ok
}

func (f *memfs) mkdirAll(p, mode string, now time.Time) error {
	p = path.Clean("/" + p)
	if n, ok := f.nodes[p]; ok {
		if !n.dir {
			return errNotDir
		}
		return nil
	}
	if err := f.mkdirAll(path.Dir(p), "0755", now); err != nil {
		return err
	}
	f.nodes[p] = &fnode{dir: true, mode: mode, mtime: now}
	return nil
}

// mkdir creates one directory; its parent must exist unless recursive.
func (f *memfs) mkdir(p, mode string, recursive bool, now time.Time) error {
	p = path.Clean("/" + p)
	if recursive {
		return f.mkdirAll(p, mode, now)
	}
	if _, ok := f.nodes[p]; ok {
		return errExist
	}
	parent, ok := f.nodes[path.Dir(p)]
	if !ok {
		return errNotExist
	}
	if !parent.dir {
		return errNotDir
	}
	f.nodes[p] = &fnode{dir: true, mode: mode, mtime: now}
	return nil
}

// writeFile creates or replaces a file, creating missing parent
// directories as the API's write endpoints do.
func (f *memfs) writeFile(p string, data []byte, now time.Time) error {
	p = path.Clean("/" + p)
	if n, ok := f.nodes[p]; ok && n.dir {
		return errIsDir
	}
	if err := f.mkdirAll(path.Dir(p), "0755", now); err != nil {
		return err
	}
	f.nodes[p] = &fnode{data: append([]byte(nil), data...), mode: "0644", mtime: now}
	return nil
}

func (f *memfs) appendFile(p string, data []byte, now time.Time) error {
	old, _ := f.readFile(p)
	return f.writeFile(p, append(old, data...), now)
}

func (f *memfs) readFile(p string) ([]byte, error) {
	n, ok := f.stat(p)
	switch {
	case !ok:
		return nil, errNotExist
	case n.dir:
		return nil, errIsDir
	}
	return n.data, nil
}

// children lists the paths under dir down to depth levels, sorted.
func (f *memfs) children(dir string, depth int) ([]string, error) {
	dir = path.Clean("/" + dir)
	n, ok := f.nodes[dir]
	if !ok {
		return nil, errNotExist
	}
	if !n.dir {
		return []string{dir}, nil
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	var out []string
	for p := range f.nodes {
		if p == dir || !strings.HasPrefix(p, prefix) {
			continue
		}
		if strings.Count(p[len(prefix):], "/") < depth {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// subtree returns p and everything below it.
func (f *memfs) subtree(p string) []string {
	out := []string{p}
	prefix := strings.TrimSuffix(p, "/") + "/"
	for q := range f.nodes {
		if strings.HasPrefix(q, prefix) {
			out = append(out, q)
		}
	}
	return out
}

func (f *memfs) remove(p string, recursive bool) error {
	p = path.Clean("/" + p)
	n, ok := f.nodes[p]
	if !ok {
		return errNotExist
	}
	if p == "/" {
		return errors.New("refusing to remove /")
	}
	sub := f.subtree(p)
	if n.dir && len(sub) > 1 && !recursive {
		return errNotEmpty
	}
	for _, q := range sub {
		delete(f.nodes, q)
	}
	return nil
}

func (f *memfs) rename(from, to string, now time.Time) error {
	from, to = path.Clean("/"+from), path.Clean("/"+to)
	if err := f.copy(from, to, true, now); err != nil {
		return err
	}
	if from == to {
		return nil
	}
	return f.remove(from, true)
}

// copy copies a file, or a directory tree when recursive.
func (f *memfs) copy(from, to string, recursive bool, now time.Time) error {
	from, to = path.Clean("/"+from), path.Clean("/"+to)
	n, ok := f.nodes[from]
	if !ok {
		return errNotExist
	}
	if n.dir && !recursive {
		return errIsDir
	}
	if from == to {
		return nil
	}
	if n.dir && strings.HasPrefix(to, from+"/") {
		return errors.New("cannot copy a directory into itself")
	}
	if dst, exists := f.nodes[to]; exists && dst.dir != n.dir {
		if dst.dir {
			return errIsDir
		}
		return errNotDir
	}
	if exists := f.nodes[to]; exists != nil && n.dir {
		f.remove(to, true) // a directory copy replaces the old tree
	}
	if err := f.mkdirAll(path.Dir(to), "0755", now); err != nil {
		return err
	}
	for _, q := range f.subtree(from) {
		src := f.nodes[q]
		dst := to + strings.TrimPrefix(q, from)
		cp := *src
		cp.data = append([]byte(nil), src.data...)
		cp.mtime = now
		f.nodes[dst] = &cp
	}
	return nil
}

// clone deep-copies the filesystem, for snapshots and restores.
func (f *memfs) clone() *memfs {
	out := &memfs{nodes: make(map[string]*fnode, len(f.nodes))}
	for p, n := range f.nodes {
		cp := *n
		cp.data = append([]byte(nil), n.data...)
		out.nodes[p] = &cp
	}
	return out
}

func (f *memfs) size() int64 {
	var total int64
	for _, n := range f.nodes {
		total += int64(len(n.data))
	}
	return total
}

// fileEntry is the spec's FileEntry (and FileStat, which has the same fields).
type fileEntry struct {
	Name       string    `json:"name"`
	Path       string    `json:"path"`
	Size       int64     `json:"size"`
	IsDir      bool      `json:"is_dir"`
	IsSymlink  bool      `json:"is_symlink"`
	Mode       string    `json:"mode,omitempty"`
	ModifiedAt time.Time `json:"modified_at,omitzero"`
}

func (f *memfs) entry(p string) fileEntry {
	n := f.nodes[p]
	name := path.Base(p)
	return fileEntry{Name: name, Path: p, Size: int64(len(n.data)), IsDir: n.dir, Mode: n.mode, ModifiedAt: n.mtime}
}

func (f *memfs) list(dir string, depth int) ([]fileEntry, error) {
	paths, err := f.children(dir, depth)
	if err != nil {
		return nil, err
	}
	out := make([]fileEntry, 0, len(paths))
	for _, p := range paths {
		out = append(out, f.entry(p))
	}
	return out, nil
}

// fsFailure maps a filesystem error to the API's error reply.
func fsFailure(err error, p string) reply {
	switch {
	case errors.Is(err, errNotExist):
		return fail(http.StatusNotFound, "NOT_FOUND", p+": no such file or directory")
	case errors.Is(err, errExist), errors.Is(err, errNotEmpty):
		return conflict(p + ": " + err.Error())
	default:
		return fail(http.StatusBadRequest, "BAD_REQUEST", p+": "+err.Error())
	}
}
