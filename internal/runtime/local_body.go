package runtime

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/miosa-osa/miosa-mcp/internal/localfs"
)

// localCall is a local-file transfer in progress on a Call: the file an
// upload sends (with the remote path of a tree's file), or the sink a
// download is saved to.
type localCall struct {
	spec   *Local
	file   *localfs.File
	remote json.RawMessage // the remote path's value for this file (nil: the caller's)
	sink   *saveSink

	// The transport reads the body on its own goroutine, and may still be
	// reading when the response arrives.
	mu      sync.Mutex
	sum     [sha256.Size]byte
	readErr error
}

// value is what a local upload sends for a bound argument in place of the
// caller's: the remote path of a tree's file and the `set:` fields.
func (l *localCall) value(a *Arg) (json.RawMessage, bool) {
	if l == nil || l.file == nil {
		return nil, false
	}
	if l.remote != nil && a.API == l.spec.Remote && a.In != InRaw {
		return l.remote, true
	}
	if v, ok := l.spec.Set[a.API]; ok && a.In == InBody {
		return v, true
	}
	return nil, false
}

func (l *localCall) readError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.readErr
}

func (l *localCall) digest() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return hex.EncodeToString(l.sum[:])
}

// Local reports whether the call uploads a local file: the generated
// closure then sends LocalBody instead of the inline body.
func (c *Call) Local() bool { return c.local != nil && c.local.file != nil }

// saving reports whether the answer is to be saved to a local file.
func (c *Call) saving() bool { return c != nil && c.local != nil && c.local.sink != nil }

// LocalBody returns the request body of a local upload, streamed from the
// file: for a JSON body, the other body fields and the file's bytes in
// base64, encoded as they are read; for a raw body, the bytes themselves
// (as application/octet-stream unless the caller gave content_type: the
// API takes no other type, api/README.md decision 4).
// The editor sets the exact Content-Length, and lets a retry read the
// file again from the start. Neither the file nor its encoding is ever
// held whole.
func (c *Call) LocalBody() (string, io.Reader, func(context.Context, *http.Request) error, error) {
	l := c.local
	if !c.Local() {
		return "", nil, nil, argErrorf("internal: tool %s has no local file to send", c.Tool.Name)
	}
	var contentType string
	var length int64
	var open func() io.Reader
	switch l.spec.Encoding {
	case "binary":
		if _, err := c.Arg("content_type", &contentType); err != nil {
			return "", nil, nil, err
		}
		if contentType == "" {
			contentType = "application/octet-stream"
		}
		if strings.ContainsAny(contentType, "\r\n") {
			return "", nil, nil, argErrorf("content_type must be a single line")
		}
		length = l.file.Size
		open = l.reader
	default: // base64 in a JSON string
		fields, err := c.collect(InBody)
		if err != nil {
			return "", nil, nil, err
		}
		delete(fields, l.spec.Field)
		prefix, err := encodeBody(fields) // the other fields, as JSONBody encodes them
		if err != nil {
			return "", nil, nil, err
		}
		key, _ := json.Marshal(l.spec.Field)
		prefix = bytes.TrimSuffix(prefix, []byte("}"))
		if len(fields) > 0 {
			prefix = append(prefix, ',')
		}
		prefix = append(append(prefix, key...), ':', '"')
		const suffix = `"}`
		contentType = "application/json"
		length = int64(len(prefix)) + int64(base64.StdEncoding.EncodedLen(int(l.file.Size))) + int64(len(suffix))
		open = func() io.Reader {
			return io.MultiReader(bytes.NewReader(prefix), newBase64Reader(l.reader()), strings.NewReader(suffix))
		}
	}
	if length == 0 {
		// An empty body is sent as no body, so the file is read (checked
		// to still be empty, and hashed) here.
		if _, err := io.Copy(io.Discard, open()); err != nil {
			return "", nil, nil, err
		}
		return contentType, http.NoBody, func(_ context.Context, req *http.Request) error {
			req.Body, req.ContentLength, req.GetBody = http.NoBody, 0, func() (io.ReadCloser, error) { return http.NoBody, nil }
			return nil
		}, nil
	}
	edit := func(_ context.Context, req *http.Request) error {
		req.ContentLength = length
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(open()), nil }
		return nil
	}
	return contentType, open(), edit, nil
}

// reader is a fresh reader of the file that records a read failure and,
// once it was read to the end, its SHA-256.
func (l *localCall) reader() io.Reader {
	var sum [sha256.Size]byte
	return &recordingReader{r: l.file.Reader(&sum), sum: &sum, l: l}
}

type recordingReader struct {
	r   io.Reader
	sum *[sha256.Size]byte
	l   *localCall
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	switch {
	case err == io.EOF:
		r.l.mu.Lock()
		r.l.sum = *r.sum
		r.l.mu.Unlock()
	case err != nil:
		r.l.mu.Lock()
		r.l.readErr = err
		r.l.mu.Unlock()
	}
	return n, err
}

// base64Reader encodes what it reads from src as standard base64, a chunk
// at a time (encoding/base64 only encodes into a writer).
type base64Reader struct {
	src   io.Reader
	in    []byte // raw bytes not yet encoded (fewer than 3 between reads)
	out   []byte // encoded bytes not yet returned
	outAt int
	eof   bool
	err   error
}

// base64Chunk is how many raw bytes are encoded at once (a multiple of 3).
const base64Chunk = 48 << 10

func newBase64Reader(src io.Reader) *base64Reader {
	return &base64Reader{src: src, in: make([]byte, 0, base64Chunk), out: make([]byte, 0, base64.StdEncoding.EncodedLen(base64Chunk))}
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for b.outAt == len(b.out) {
		if b.err != nil {
			return 0, b.err
		}
		if b.eof {
			return 0, io.EOF
		}
		b.fill()
	}
	n := copy(p, b.out[b.outAt:])
	b.outAt += n
	return n, nil
}

// fill reads more raw bytes and encodes every whole group of three (all
// of them, with padding, at the end).
func (b *base64Reader) fill() {
	n, err := b.src.Read(b.in[len(b.in):cap(b.in)])
	b.in = b.in[:len(b.in)+n]
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		b.err = err
		return
	}
	whole := len(b.in) / 3 * 3
	if b.eof {
		whole = len(b.in)
	}
	b.out = b.out[:base64.StdEncoding.EncodedLen(whole)]
	base64.StdEncoding.Encode(b.out, b.in[:whole])
	b.outAt = 0
	rest := copy(b.in, b.in[whole:])
	b.in = b.in[:rest]
}
