// Package localfs confines the local-file arguments of the stdio server
// (issue #12) to a set of allowed directories, its roots: the MCP client's
// roots when it declares them, else the server's working directory plus
// --allow-dir / MIOSA_ALLOW_DIRS.
//
// The rules, each enforced here and nowhere else:
//   - a path resolves (relative to Roots.Base, "~/" to the home directory)
//     and, symlinks resolved, must stay inside a root; a path that leaves
//     them is refused before anything is opened, and the refusal names the
//     roots;
//   - files are opened through an os.Root on the root that contains them,
//     so a symlink swapped in after the check cannot lead outside it; the
//     opened file must be the one checked (same device and inode) and a
//     regular file: devices, FIFOs, sockets and directories are refused, as
//     are files on procfs and sysfs, whose size says nothing about what they
//     yield;
//   - a file is read as exactly the size it had when opened: one that grows
//     or shrinks while it is read fails the read before its last byte is
//     handed on, so a consumer never sees a complete body;
//   - a download is written to a temporary file next to its target and
//     renamed over it: a symlink at the target is refused (never written
//     through), and the rename replaces a name, never follows it.
package localfs

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Refusal is a local path the server will not read or write. Its text
// names the allowed directories, so the caller can fix the path.
type Refusal struct {
	Path   string   // as the caller gave it
	Reason string   // e.g. "is outside the allowed directories"
	Roots  []string // the allowed directories
	Source string   // where they come from, e.g. "the client's roots"
}

func (e *Refusal) Error() string {
	roots := "none"
	if len(e.Roots) > 0 {
		roots = strings.Join(e.Roots, ", ")
	}
	msg := fmt.Sprintf("local path %q %s. Allowed directories: %s", e.Path, e.Reason, roots)
	if e.Source != "" {
		msg += " (" + e.Source + ")"
	}
	return msg
}

// Roots is an immutable set of allowed directories.
type Roots struct {
	dirs   []root
	base   string // where relative paths resolve
	home   string // for "~/"; "" leaves "~" as a name
	source string
}

// root is one allowed directory: as given (cleaned, absolute) and with its
// symlinks resolved. A path is inside the root when it is inside either.
type root struct {
	given, real string
}

// NewRoots builds the set from absolute directories. A directory that does
// not exist or cannot be resolved is left out and reported in skipped (the
// caller logs it); the set may end up empty, which refuses every path.
// Relative paths resolve against cwd when it is inside a root, else
// against the first root. source describes where the list came from and
// is quoted in refusals.
func NewRoots(dirs []string, cwd, home, source string) (r *Roots, skipped []error) {
	r = &Roots{home: home, source: source}
	seen := map[string]bool{}
	for _, d := range dirs {
		if !filepath.IsAbs(d) {
			skipped = append(skipped, fmt.Errorf("root %q is not an absolute path", d))
			continue
		}
		given := filepath.Clean(d)
		real, err := filepath.EvalSymlinks(given)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("root %q: %w", d, err))
			continue
		}
		if fi, err := os.Stat(real); err != nil || !fi.IsDir() {
			skipped = append(skipped, fmt.Errorf("root %q is not a directory", d))
			continue
		}
		if seen[real] {
			continue
		}
		seen[real] = true
		r.dirs = append(r.dirs, root{given: given, real: real})
	}
	switch {
	case cwd != "" && r.contains(filepath.Clean(cwd)):
		r.base = filepath.Clean(cwd)
	case len(r.dirs) > 0:
		r.base = r.dirs[0].given
	}
	return r, skipped
}

// Dirs returns the allowed directories as given.
func (r *Roots) Dirs() []string {
	out := make([]string, len(r.dirs))
	for i, d := range r.dirs {
		out[i] = d.given
	}
	return out
}

// Source says where the roots come from.
func (r *Roots) Source() string { return r.source }

func (r *Roots) refuse(path, format string, a ...any) *Refusal {
	return &Refusal{Path: path, Reason: fmt.Sprintf(format, a...), Roots: r.Dirs(), Source: r.source}
}

// within reports whether p is dir or below it (both clean and absolute).
func within(dir, p string) bool {
	if p == dir {
		return true
	}
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		dir += string(filepath.Separator)
	}
	return strings.HasPrefix(p, dir)
}

// contains reports whether the clean absolute p is inside a root, as given
// or resolved.
func (r *Roots) contains(p string) bool {
	for _, d := range r.dirs {
		if within(d.given, p) || within(d.real, p) {
			return true
		}
	}
	return false
}

// rootOf returns the resolved root containing the resolved path real (the
// innermost one when roots nest).
func (r *Roots) rootOf(real string) (string, bool) {
	best := ""
	for _, d := range r.dirs {
		if within(d.real, real) && len(d.real) > len(best) {
			best = d.real
		}
	}
	return best, best != ""
}

// Abs turns a caller's path into a clean absolute one, lexically: "~/" is
// the home directory and a relative path is relative to the base. It
// checks the syntax only; Locate checks where the path leads.
func (r *Roots) Abs(p string) (string, error) {
	switch {
	case strings.TrimSpace(p) == "":
		return "", errors.New("local path is empty")
	case strings.ContainsRune(p, 0):
		return "", fmt.Errorf("local path %q contains a NUL byte", p)
	}
	if r.home != "" && (p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, "~"+string(filepath.Separator))) {
		p = filepath.Join(r.home, p[1:])
	}
	if !filepath.IsAbs(p) {
		if r.base == "" {
			return "", r.refuse(p, "is relative, and there is no allowed directory to resolve it against")
		}
		p = filepath.Join(r.base, p)
	}
	return filepath.Clean(p), nil
}

// location is a path resolved inside a root.
type location struct {
	given string // as the caller gave it
	abs   string // lexically absolute
	real  string // symlinks resolved (as far as the path exists)
	root  string // the resolved root containing real
	rel   string // real relative to root
}

// Locate resolves p and checks that it, symlinks resolved, stays inside a
// root. Only the part of the path that exists is resolved; the rest is
// taken as written (it is checked again when created). A path that is
// outside lexically is refused before the filesystem is asked anything, so
// a refusal says nothing about what exists outside the roots.
func (r *Roots) Locate(p string) (*location, error) {
	abs, err := r.Abs(p)
	if err != nil {
		return nil, err
	}
	if !r.contains(abs) {
		return nil, r.refuse(p, "is outside the allowed directories")
	}
	real, err := resolveExisting(abs)
	if err != nil {
		return nil, r.refuse(p, "cannot be resolved (%v)", unwrapPathError(err))
	}
	rt, ok := r.rootOf(real)
	if !ok {
		return nil, r.refuse(p, "leads outside the allowed directories through a symbolic link (it resolves to %s)", real)
	}
	rel, err := filepath.Rel(rt, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, r.refuse(p, "is outside the allowed directories")
	}
	return &location{given: p, abs: abs, real: real, root: rt, rel: rel}, nil
}

// resolveExisting resolves the symlinks of the longest existing prefix of
// abs and appends the rest as written.
func resolveExisting(abs string) (string, error) {
	rest := ""
	p := abs
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			if rest == "" {
				return real, nil
			}
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// ParseFileURI turns a root's URI (MCP roots/list) into an absolute local
// path. Only file: URIs on this host (no authority, or localhost) are
// accepted; the path is percent-decoded once and cleaned. An encoded slash
// or NUL is refused: it would name a different file than the URI spells.
// Windows drive paths (file:///C:/x) become C:\x on Windows.
func ParseFileURI(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("root %q is not a URI: %v", uri, err)
	}
	if !strings.EqualFold(u.Scheme, "file") {
		return "", fmt.Errorf("root %q is not a file: URI", uri)
	}
	if u.Opaque != "" {
		return "", fmt.Errorf("root %q is not a hierarchical file: URI", uri)
	}
	if h := u.Hostname(); h != "" && !strings.EqualFold(h, "localhost") {
		return "", fmt.Errorf("root %q names another host (%s)", uri, h)
	}
	if u.User != nil || u.Port() != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("root %q has parts a file: URI does not have (user, port, query or fragment)", uri)
	}
	raw := u.EscapedPath()
	low := strings.ToLower(raw)
	if strings.Contains(low, "%2f") || strings.Contains(low, "%00") || strings.Contains(u.Path, "\x00") {
		return "", fmt.Errorf("root %q encodes a slash or NUL in its path", uri)
	}
	p := u.Path
	if p == "" || p[0] != '/' {
		return "", fmt.Errorf("root %q has no absolute path", uri)
	}
	if filepath.Separator == '\\' {
		if len(p) >= 3 && p[2] == ':' {
			p = p[1:] // /C:/x → C:/x
		}
		if strings.Contains(p, `\`) {
			return "", fmt.Errorf("root %q has a backslash in its path", uri)
		}
		p = filepath.FromSlash(p)
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("root %q has no absolute path", uri)
	}
	return filepath.Clean(p), nil
}
