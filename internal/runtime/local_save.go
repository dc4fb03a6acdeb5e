package runtime

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"path/filepath"

	"github.com/miosa-osa/miosa-mcp/internal/localfs"
)

// saveSink takes a download's answer to a local file (fetch calls save
// instead of reading the answer into memory): the body as it streams, or
// for a JSON answer the base64 string at field, decoded as it streams. It
// counts, hashes and sniffs the bytes on the way.
type saveSink struct {
	target  *localfs.Target
	max     int64
	setting string // names max (Settings.LocalMaxBytes)
	field   string

	n     int64
	sum   [sha256.Size]byte
	mime  string
	sniff []byte
	h     hash.Hash
	err   error // why saving failed (not the transport's errors)
}

var errTooLarge = errors.New("too large")

// save streams resp's body to the target. Its upstreamBody is empty: the
// bytes are on disk.
func (k *saveSink) save(resp *http.Response) (*upstreamBody, error) {
	k.h = sha256.New()
	if resp.ContentLength > k.max {
		k.err = fmt.Errorf("the API announced %d bytes, over the %d-byte limit of one call (%s)", resp.ContentLength, k.max, k.setting)
		return nil, k.err
	}
	mt := mediaType(resp.Header)
	body := &trackedReader{r: resp.Body}
	var err error
	if k.field != "" && isJSONMedia(mt) {
		// The bytes are base64 inside the JSON: the answer is at most
		// that much longer, plus its envelope.
		in := io.LimitReader(body, (k.max+2)/3*4+1<<20)
		dec := &base64Writer{w: k}
		var found bool
		found, err = extractJSONString(in, k.field, dec)
		if err == nil {
			err = dec.Close()
		}
		if err == nil && !found {
			err = fmt.Errorf("the API's JSON answer has no %s", k.field)
		}
		mt = ""
	} else {
		_, err = io.CopyBuffer(k, body, make([]byte, readChunk))
	}
	if err != nil {
		if k.err == nil && body.err != nil {
			return nil, body.err // the network's: fetch reports it
		}
		if k.err == nil {
			k.err = err
		}
		return nil, k.err
	}
	copy(k.sum[:], k.h.Sum(nil))
	k.mime = fileMIME(mt, k.sniff, k.target.Path)
	return &upstreamBody{}, nil
}

// trackedReader remembers a read error of the answer's body, which is the
// network's, not the content's or the disk's.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// Write takes decoded bytes: counted against the cap, hashed, the first
// 512 kept for sniffing, written to the temporary file.
func (k *saveSink) Write(p []byte) (int, error) {
	if k.n+int64(len(p)) > k.max {
		k.err = fmt.Errorf("the file is larger than the %d-byte limit of one call (%s)", k.max, k.setting)
		return 0, errTooLarge
	}
	if len(k.sniff) < 512 {
		k.sniff = append(k.sniff, p[:min(len(p), 512-len(k.sniff))]...)
	}
	k.h.Write(p)
	n, err := k.target.Write(p)
	k.n += int64(n)
	if err != nil {
		k.err = fmt.Errorf("writing the file: %w", err)
	}
	return n, err
}

// fileMIME is the saved file's type: the answer's own when it is specific,
// else what the bytes look like, refined by the file's extension when
// they only look like text or bytes.
func fileMIME(answer string, sniff []byte, name string) string {
	if answer != "" && answer != "application/octet-stream" && !isJSONMedia(answer) {
		return answer
	}
	mt, _, _ := mime.ParseMediaType(http.DetectContentType(sniff))
	if mt == "application/octet-stream" || mt == "text/plain" {
		if ext, _, err := mime.ParseMediaType(mime.TypeByExtension(filepath.Ext(name))); err == nil && ext != "" {
			return ext
		}
	}
	if isJSONMedia(answer) && mt == "text/plain" {
		return answer // the file is the JSON answer itself
	}
	return mt
}

// base64Writer decodes standard base64 written to it in pieces (line
// breaks ignored, as base64.StdEncoding does) and writes the bytes to w.
type base64Writer struct {
	w   io.Writer
	buf []byte // encoded bytes not yet decoded (no line breaks)
	out []byte
}

func (b *base64Writer) Write(p []byte) (int, error) {
	for _, c := range p {
		if c != '\r' && c != '\n' {
			b.buf = append(b.buf, c)
		}
	}
	if len(b.buf) >= 64<<10 {
		whole := len(b.buf) / 4 * 4
		// Keep the last group back: padding may only end the input.
		if whole == len(b.buf) {
			whole -= 4
		}
		if err := b.decode(b.buf[:whole]); err != nil {
			return 0, err
		}
		b.buf = b.buf[:copy(b.buf, b.buf[whole:])]
	}
	return len(p), nil
}

// Close decodes what is left.
func (b *base64Writer) Close() error { return b.decode(b.buf) }

func (b *base64Writer) decode(enc []byte) error {
	if cap(b.out) < base64.StdEncoding.DecodedLen(len(enc)) {
		b.out = make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	}
	n, err := base64.StdEncoding.Decode(b.out[:cap(b.out)], enc)
	if err != nil {
		return fmt.Errorf("the API returned file content that is not valid base64: %v", err)
	}
	_, err = b.w.Write(b.out[:n])
	return err
}
