package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// extractJSONString streams the string at a dotted path of a JSON document
// (e.g. data.content of a download answered as {"data":{"content": …}}) to
// w, unescaped, without holding it: a download saved to disk may be tens of
// megabytes of base64 inside one JSON string (issue #12). encoding/json and
// jsontext both hold a whole string token, so this walks the document by
// hand. The document is checked as it is walked; an invalid one, a path
// that holds no string, or one present twice is an error. found is false
// when the path is absent.
func extractJSONString(r io.Reader, dotted string, w io.Writer) (found bool, err error) {
	p := &fieldParser{r: bufio.NewReaderSize(r, readChunk), path: strings.Split(dotted, "."), w: w}
	if err := p.value(0, true); err != nil {
		return false, err
	}
	c, err := p.skipSpace()
	if err == nil {
		return false, fmt.Errorf("invalid JSON: %q after the document", c)
	}
	if err != io.EOF {
		return false, err
	}
	return p.found > 0, nil
}

type fieldParser struct {
	r     *bufio.Reader
	path  []string
	w     io.Writer
	found int
}

var errJSONSyntax = errors.New("invalid JSON")

func (p *fieldParser) skipSpace() (byte, error) {
	for {
		c, err := p.r.ReadByte()
		if err != nil {
			return 0, err
		}
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return c, nil
		}
	}
}

func (p *fieldParser) next() (byte, error) {
	c, err := p.skipSpace()
	if err == io.EOF {
		return 0, fmt.Errorf("%w: the document ends early", errJSONSyntax)
	}
	return c, err
}

// value reads one value at the given depth; onPath says whether the keys
// leading here are the path's first depth components.
func (p *fieldParser) value(depth int, onPath bool) error {
	if depth > maxJSONDepth {
		return fmt.Errorf("%w: nested too deeply", errJSONSyntax)
	}
	c, err := p.next()
	if err != nil {
		return err
	}
	target := onPath && depth == len(p.path)
	switch {
	case c == '{':
		return p.object(depth, onPath && depth < len(p.path))
	case c == '[':
		return p.array(depth)
	case c == '"' && target:
		p.found++
		if p.found > 1 {
			return fmt.Errorf("the answer holds %s twice", strings.Join(p.path, "."))
		}
		return p.str(p.w)
	case c == '"':
		return p.str(io.Discard)
	case target:
		return fmt.Errorf("the answer's %s is not a string", strings.Join(p.path, "."))
	case c == 't':
		return p.literal("rue")
	case c == 'f':
		return p.literal("alse")
	case c == 'n':
		return p.literal("ull")
	case c == '-' || c >= '0' && c <= '9':
		return p.number(c)
	}
	return fmt.Errorf("%w: unexpected %q", errJSONSyntax, c)
}

func (p *fieldParser) object(depth int, onPath bool) error {
	c, err := p.next()
	if err != nil {
		return err
	}
	if c == '}' {
		return nil
	}
	for {
		if c != '"' {
			return fmt.Errorf("%w: an object key must be a string", errJSONSyntax)
		}
		var key keyWriter
		if err := p.str(&key); err != nil {
			return err
		}
		if c, err = p.next(); err != nil {
			return err
		}
		if c != ':' {
			return fmt.Errorf("%w: expected ':' after a key", errJSONSyntax)
		}
		if err := p.value(depth+1, onPath && !key.long && key.String() == p.path[depth]); err != nil {
			return err
		}
		if c, err = p.next(); err != nil {
			return err
		}
		switch c {
		case '}':
			return nil
		case ',':
			if c, err = p.next(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: expected ',' or '}' in an object", errJSONSyntax)
		}
	}
}

func (p *fieldParser) array(depth int) error {
	c, err := p.next()
	if err != nil {
		return err
	}
	if c == ']' {
		return nil
	}
	p.r.UnreadByte()
	for {
		// A path never runs through an array.
		if err := p.value(depth+1, false); err != nil {
			return err
		}
		if c, err = p.next(); err != nil {
			return err
		}
		switch c {
		case ']':
			return nil
		case ',':
		default:
			return fmt.Errorf("%w: expected ',' or ']' in an array", errJSONSyntax)
		}
	}
}

func (p *fieldParser) literal(rest string) error {
	for i := 0; i < len(rest); i++ {
		c, err := p.r.ReadByte()
		if err != nil || c != rest[i] {
			return fmt.Errorf("%w: bad literal", errJSONSyntax)
		}
	}
	return p.endOfScalar()
}

// number checks the JSON number grammar.
func (p *fieldParser) number(first byte) error {
	c, eof := first, false
	var err error
	read := func() {
		c, err = p.r.ReadByte()
		if err == io.EOF {
			c, err, eof = 0, nil, true
		}
	}
	isDigit := func() bool { return !eof && err == nil && c >= '0' && c <= '9' }
	digits := func() int {
		n := 0
		for isDigit() {
			n++
			read()
		}
		return n
	}
	if c == '-' {
		read()
	}
	switch {
	case eof:
		return fmt.Errorf("%w: bad number", errJSONSyntax)
	case c == '0':
		read()
	case c >= '1' && c <= '9':
		digits()
	default:
		return fmt.Errorf("%w: bad number", errJSONSyntax)
	}
	if !eof && err == nil && c == '.' {
		read()
		if digits() == 0 {
			return fmt.Errorf("%w: bad number", errJSONSyntax)
		}
	}
	if !eof && err == nil && (c == 'e' || c == 'E') {
		read()
		if !eof && (c == '+' || c == '-') {
			read()
		}
		if digits() == 0 {
			return fmt.Errorf("%w: bad number", errJSONSyntax)
		}
	}
	if err != nil {
		return err
	}
	if !eof {
		p.r.UnreadByte()
	}
	return p.endOfScalar()
}

// endOfScalar checks that a literal or number is followed by a delimiter.
func (p *fieldParser) endOfScalar() error {
	b, err := p.r.Peek(1)
	if err != nil || b[0] == ',' || b[0] == '}' || b[0] == ']' || b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r' {
		return nil
	}
	return fmt.Errorf("%w: unexpected %q after a value", errJSONSyntax, b[0])
}

// str reads the rest of a string (after its opening quote) and writes it,
// unescaped, to w. Runs of plain bytes are written as they are buffered;
// invalid UTF-8 becomes U+FFFD, byte by byte, as encoding/json decodes it.
func (p *fieldParser) str(w io.Writer) error {
	u := utf8Writer{w: w}
	var pending rune = -1 // a high surrogate waiting for its low half
	flushPending := func() error {
		if pending < 0 {
			return nil
		}
		pending = -1
		return u.rune(utf8.RuneError)
	}
	for {
		buf, _ := p.r.Peek(max(1, p.r.Buffered()))
		if len(buf) == 0 {
			return fmt.Errorf("%w: the document ends inside a string", errJSONSyntax)
		}
		i := 0
		for i < len(buf) && buf[i] >= 0x20 && buf[i] != '"' && buf[i] != '\\' {
			i++
		}
		if i > 0 {
			if err := flushPending(); err != nil {
				return err
			}
			if err := u.plain(buf[:i]); err != nil {
				return err
			}
			p.r.Discard(i)
			continue
		}
		c, _ := p.r.ReadByte()
		if err := u.endRun(); err != nil {
			return err
		}
		switch {
		case c == '"':
			return flushPending()
		case c < 0x20:
			return fmt.Errorf("%w: a control character in a string", errJSONSyntax)
		}
		// c is a backslash
		e, err := p.r.ReadByte()
		if err != nil {
			return fmt.Errorf("%w: the document ends inside a string", errJSONSyntax)
		}
		var r rune
		switch e {
		case '"', '\\', '/':
			r = rune(e)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			var h [4]byte
			if _, err := io.ReadFull(p.r, h[:]); err != nil {
				return fmt.Errorf("%w: a short \\u escape", errJSONSyntax)
			}
			v, ok := hex4(h[:])
			if !ok {
				return fmt.Errorf("%w: a bad \\u escape", errJSONSyntax)
			}
			r = v
		default:
			return fmt.Errorf("%w: a bad escape \\%c", errJSONSyntax, e)
		}
		if pending >= 0 {
			if r >= 0xDC00 && r <= 0xDFFF {
				r = utf16.DecodeRune(pending, r)
				pending = -1
			} else if err := flushPending(); err != nil {
				return err
			}
		}
		switch {
		case r >= 0xD800 && r < 0xDC00:
			pending = r
			continue
		case r >= 0xDC00 && r <= 0xDFFF:
			r = utf8.RuneError // a lone low surrogate, as encoding/json decodes it
		}
		if err := u.rune(r); err != nil {
			return err
		}
	}
}

// utf8Writer writes string bytes, replacing invalid UTF-8 with U+FFFD one
// byte at a time and carrying a rune cut at a buffer's end into the next
// run.
type utf8Writer struct {
	w     io.Writer
	carry []byte
}

func (u *utf8Writer) rune(r rune) error {
	var b [utf8.UTFMax]byte
	_, err := u.w.Write(b[:utf8.EncodeRune(b[:], r)])
	return err
}

func (u *utf8Writer) plain(run []byte) error {
	data := run
	if len(u.carry) > 0 {
		data = append(u.carry, run...)
		u.carry = nil
	}
	start := 0
	for i := 0; i < len(data); {
		if data[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(data[i:])
		if r != utf8.RuneError || size > 1 {
			i += size
			continue
		}
		if _, err := u.w.Write(data[start:i]); err != nil {
			return err
		}
		if !utf8.FullRune(data[i:]) {
			u.carry = append([]byte(nil), data[i:]...)
			return nil
		}
		if err := u.rune(utf8.RuneError); err != nil {
			return err
		}
		i++
		start = i
	}
	_, err := u.w.Write(data[start:])
	return err
}

// endRun ends a run of plain bytes: a rune still incomplete is invalid.
func (u *utf8Writer) endRun() error {
	for range u.carry {
		if err := u.rune(utf8.RuneError); err != nil {
			return err
		}
	}
	u.carry = nil
	return nil
}

// keyWriter keeps an object key up to keyBytes: a longer key matches no
// path component.
type keyWriter struct {
	b    []byte
	long bool
}

const keyBytes = 256

func (k *keyWriter) Write(p []byte) (int, error) {
	if len(k.b)+len(p) > keyBytes {
		k.long = true
		return len(p), nil
	}
	k.b = append(k.b, p...)
	return len(p), nil
}

func (k *keyWriter) String() string { return string(k.b) }
