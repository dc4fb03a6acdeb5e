package localfs

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
)

// File is a regular file opened for reading inside a root. It is read as
// exactly Size bytes (Reader).
type File struct {
	f    *os.File
	Path string // resolved absolute path
	Size int64
	Mode fs.FileMode
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// ErrChanged is returned by a File's reader when the file grows or shrinks
// while it is read: what was read is not the file that was checked.
var ErrChanged = errors.New("the file changed size while it was read")

// Open opens the regular file p for reading after Locate has confined it.
// maxBytes (> 0) caps its size; limitName names the setting in the error.
func (r *Roots) Open(p string, maxBytes int64, limitName string) (*File, error) {
	loc, err := r.Locate(p)
	if err != nil {
		return nil, err
	}
	return r.open(loc, maxBytes, limitName)
}

func (r *Roots) open(loc *location, maxBytes int64, limitName string) (*File, error) {
	rt, err := os.OpenRoot(loc.root)
	if err != nil {
		return nil, r.refuse(loc.given, "cannot be opened (%v)", unwrapPathError(err))
	}
	defer rt.Close()
	// Lstat first: a FIFO or device is refused without opening it (opening
	// a FIFO blocks until a writer appears).
	before, err := rt.Lstat(loc.rel)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, r.refuse(loc.given, "does not exist")
		}
		return nil, r.refuse(loc.given, "cannot be opened (%v)", unwrapPathError(err))
	}
	if reason := notRegular(before.Mode()); reason != "" {
		return nil, r.refuse(loc.given, "%s", reason)
	}
	f, err := rt.OpenFile(loc.rel, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		// os.Root refuses a path that a symlink swapped in after Locate
		// would lead outside the root.
		return nil, r.refuse(loc.given, "cannot be opened (%v)", unwrapPathError(err))
	}
	fail := func(format string, a ...any) (*File, error) {
		f.Close()
		return nil, r.refuse(loc.given, format, a...)
	}
	after, err := f.Stat()
	if err != nil {
		return fail("cannot be opened (%v)", unwrapPathError(err))
	}
	if reason := notRegular(after.Mode()); reason != "" {
		return fail("%s", reason)
	}
	if !os.SameFile(before, after) {
		return fail("was replaced while it was opened")
	}
	if pseudoFS(f) {
		return fail("is on a kernel pseudo-filesystem (such as /proc or /sys), whose files have no fixed content")
	}
	if maxBytes > 0 && after.Size() > maxBytes {
		return fail("is %d bytes, over the %d-byte limit of one call (%s)", after.Size(), maxBytes, limitName)
	}
	return &File{f: f, Path: loc.real, Size: after.Size(), Mode: after.Mode()}, nil
}

// notRegular says why a file of this mode is refused ("" for a regular
// file).
func notRegular(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "is a directory"
	case m&fs.ModeSymlink != 0:
		return "is a symbolic link that changed while it was checked"
	case m&fs.ModeNamedPipe != 0:
		return "is a FIFO (named pipe), not a regular file"
	case m&fs.ModeSocket != 0:
		return "is a socket, not a regular file"
	case m&fs.ModeDevice != 0:
		return "is a device file, not a regular file"
	}
	return "is not a regular file"
}

// Reader returns a fresh reader of the file's Size bytes from the start
// (several may be used in turn, e.g. when a request is retried). It
// fails with ErrChanged instead of returning the last bytes when the file
// has grown, and when it ends early; sum, when not nil, receives the
// SHA-256 of the bytes once they were all read.
func (f *File) Reader(sum *[sha256.Size]byte) io.Reader {
	return &sizedReader{f: f.f, size: f.Size, h: sha256.New(), sum: sum}
}

// sizedReader reads [0, size) of f, checking before it returns the final
// bytes that nothing follows them.
type sizedReader struct {
	f    *os.File
	size int64
	off  int64
	h    hash.Hash
	sum  *[sha256.Size]byte
	err  error
}

func (r *sizedReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.off == r.size {
		if err := r.finish(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if rest := r.size - r.off; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := r.f.ReadAt(p, r.off)
	if err == io.EOF && r.off+int64(n) < r.size {
		r.err = fmt.Errorf("%w (it ended at %d of the %d bytes it had when opened)", ErrChanged, r.off+int64(n), r.size)
		return 0, r.err
	}
	if err != nil && err != io.EOF {
		r.err = err
		return 0, err
	}
	r.h.Write(p[:n])
	r.off += int64(n)
	if r.off == r.size {
		// The last bytes go out only once it is known that nothing
		// follows them.
		if err := r.finish(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// finish checks that the file has no byte beyond size.
func (r *sizedReader) finish() error {
	var one [1]byte
	n, err := r.f.ReadAt(one[:], r.size)
	if n > 0 {
		r.err = fmt.Errorf("%w (it grew past the %d bytes it had when opened)", ErrChanged, r.size)
		return r.err
	}
	if err != nil && err != io.EOF {
		r.err = err
		return err
	}
	if r.sum != nil {
		copy(r.sum[:], r.h.Sum(nil))
	}
	return nil
}
