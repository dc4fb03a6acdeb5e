package runtime

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// jsonScan reads a JSON document as a stream, one byte at a time, keeping
// only what a cut result needs of the part that is not kept (issue #10):
// whether the whole document is valid (exactly as json.Valid on the
// document trimmed by bytes.TrimSpace), and the members pagingNote reads — top-level cursor, next_cursor and
// meta, and the members of a top-level data object that fold to truncated
// or next_marker — each up to scanCaptureBytes. Memory stays at the nesting
// depth plus those members, however long the strings in between are.
//
// No library does this: encoding/json and jsontext validate in one pass but
// hold each whole token (a 15 MiB string is 15 MiB), so this is written by
// hand; FuzzJSONScan checks it against encoding/json.
type jsonScan struct {
	state   scanState
	stack   []byte // '{' or '[' per open container
	invalid bool

	// White space around the document is bytes.TrimSpace's, which is more
	// than JSON's.
	started bool   // a non-space byte was seen
	runeBuf []byte // an incomplete UTF-8 sequence outside the document

	isKey   bool   // the string being read is an object key
	lit     string // the rest of true/false/null
	hexLeft int    // \uXXXX digits still expected

	// Capture of the members pagingNote reads.
	topObject bool   // the document is an object
	keyRaw    []byte // the key being read, when it may matter
	keyLong   bool
	topKey    string // the key at depth 1 whose value comes next
	dataKey   string // the key at depth 2 (in data) whose value comes next
	inData    bool   // inside the top-level data object
	dataObj   bool   // the last top-level data member is an object
	capture   *[]byte
	capDepth  int
	capLong   bool
	members   map[string]json.RawMessage // top-level members, last wins
	dataMems  [][2][]byte                // data members that matter, in order
}

type scanState uint8

const (
	sValue      scanState = iota // a value is expected
	sValueOrEnd                  // after '[': a value or ']'
	sKeyOrEnd                    // after '{': a key or '}'
	sKey                         // after ',' in an object: a key
	sColon                       // after a key
	sCommaOrEnd                  // after a value in a container
	sString                      // in a string
	sEscape                      // after '\'
	sHex                         // in \uXXXX
	sNeg                         // after '-'
	sZero                        // a leading 0
	sInt                         // integer digits
	sDot                         // after '.'
	sFrac                        // fraction digits
	sExpMark                     // after e/E
	sExpSign                     // after the exponent's sign
	sExp                         // exponent digits
	sLiteral                     // in true/false/null
	sDone                        // the document ended; only space may follow
)

// scanCaptureBytes bounds one captured member; a longer one is dropped (no
// paging note comes from it).
const scanCaptureBytes = 64 << 10

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

var (
	topMembers  = []string{"cursor", "next_cursor", "meta"}
	dataMembers = []string{"truncated", "next_marker"}
)

func newJSONScan() *jsonScan { return &jsonScan{members: map[string]json.RawMessage{}} }

// feed scans the next bytes of the document.
func (j *jsonScan) feed(p []byte) {
	for i := 0; i < len(p); i++ {
		if j.invalid {
			return
		}
		if !j.started || j.state == sDone {
			j.outside(p[i])
			continue
		}
		if j.state == sString && !j.isKey && j.capture == nil {
			// The bulk of a long document: string bytes that need no
			// state change.
			for i < len(p) && p[i] >= 0x20 && p[i] != '"' && p[i] != '\\' {
				i++
			}
			if i == len(p) {
				return
			}
		}
		j.step(p[i])
	}
}

// outside reads a byte before or after the document: white space as
// bytes.TrimSpace sees it (including multi-byte spaces such as U+00A0) is
// skipped before and counted after; the document can only begin with an
// ASCII byte, and nothing but space may follow it.
func (j *jsonScan) outside(c byte) {
	if len(j.runeBuf) == 0 && c < utf8.RuneSelf {
		switch {
		case isSpaceByte(c):
		case j.started:
			j.invalid = true
		default:
			j.started = true
			j.step(c)
		}
		return
	}
	j.runeBuf = append(j.runeBuf, c)
	if !utf8.FullRune(j.runeBuf) {
		return
	}
	r, n := utf8.DecodeRune(j.runeBuf)
	if r == utf8.RuneError || n != len(j.runeBuf) || !unicode.IsSpace(r) {
		j.invalid = true
		return
	}
	j.runeBuf = j.runeBuf[:0]
}

func isSpaceByte(b byte) bool {
	return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\v' || b == '\f'
}

// finish reports whether the document was valid.
func (j *jsonScan) finish() bool {
	if j.invalid || !j.started || len(j.runeBuf) > 0 {
		return false
	}
	switch j.state {
	case sDone:
		return true
	case sZero, sInt, sFrac, sExp:
		return len(j.stack) == 0
	}
	return false
}

func (j *jsonScan) step(c byte) {
	if j.capture != nil {
		if len(*j.capture) < scanCaptureBytes {
			*j.capture = append(*j.capture, c)
		} else {
			j.capLong = true
		}
	}
	switch j.state {
	case sValue, sValueOrEnd:
		if c == ']' && j.state == sValueOrEnd {
			j.pop()
			return
		}
		j.valueStart(c)
	case sKeyOrEnd, sKey:
		switch {
		case isJSONSpace(c):
		case c == '}' && j.state == sKeyOrEnd:
			j.pop()
		case c == '"':
			j.state, j.isKey = sString, true
			j.keyRaw, j.keyLong = append(j.keyRaw[:0], '"'), false
		default:
			j.invalid = true
		}
	case sColon:
		switch {
		case isJSONSpace(c):
		case c == ':':
			j.state = sValue
		default:
			j.invalid = true
		}
	case sCommaOrEnd:
		top := j.stack[len(j.stack)-1]
		switch {
		case isJSONSpace(c):
		case c == ',' && top == '{':
			j.state = sKey
		case c == ',':
			j.state = sValue
		case c == '}' && top == '{', c == ']' && top == '[':
			j.pop()
		default:
			j.invalid = true
		}
	case sString:
		j.keyByte(c)
		switch {
		case c == '"':
			j.stringEnd()
		case c == '\\':
			j.state = sEscape
		case c < 0x20:
			j.invalid = true
		}
	case sEscape:
		j.keyByte(c)
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			j.state = sString
		case 'u':
			j.state, j.hexLeft = sHex, 4
		default:
			j.invalid = true
		}
	case sHex:
		j.keyByte(c)
		if !isHex(c) {
			j.invalid = true
			return
		}
		if j.hexLeft--; j.hexLeft == 0 {
			j.state = sString
		}
	case sNeg:
		switch {
		case c == '0':
			j.state = sZero
		case c >= '1' && c <= '9':
			j.state = sInt
		default:
			j.invalid = true
		}
	case sZero, sInt:
		switch {
		case c >= '0' && c <= '9' && j.state == sInt:
		case c == '.':
			j.state = sDot
		case c == 'e' || c == 'E':
			j.state = sExpMark
		default:
			j.numberEnd(c)
		}
	case sDot:
		if c >= '0' && c <= '9' {
			j.state = sFrac
		} else {
			j.invalid = true
		}
	case sFrac:
		switch {
		case c >= '0' && c <= '9':
		case c == 'e' || c == 'E':
			j.state = sExpMark
		default:
			j.numberEnd(c)
		}
	case sExpMark:
		switch {
		case c == '+' || c == '-':
			j.state = sExpSign
		case c >= '0' && c <= '9':
			j.state = sExp
		default:
			j.invalid = true
		}
	case sExpSign:
		if c >= '0' && c <= '9' {
			j.state = sExp
		} else {
			j.invalid = true
		}
	case sExp:
		if c < '0' || c > '9' {
			j.numberEnd(c)
		}
	case sLiteral:
		if c != j.lit[0] {
			j.invalid = true
			return
		}
		if j.lit = j.lit[1:]; j.lit == "" {
			j.valueEnd()
		}
	}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func (j *jsonScan) valueStart(c byte) {
	if isJSONSpace(c) {
		return
	}
	j.beginCapture(c)
	switch {
	case c == '{' || c == '[':
		if len(j.stack) == 0 && c == '{' {
			j.topObject = true
		}
		if len(j.stack) == 1 && c == '{' && j.topKey == "data" && j.stack[0] == '{' {
			j.inData, j.dataObj = true, true
		}
		if len(j.stack) >= maxJSONDepth {
			j.invalid = true
			return
		}
		j.stack = append(j.stack, c)
		if c == '{' {
			j.state = sKeyOrEnd
		} else {
			j.state = sValueOrEnd
		}
	case c == '"':
		j.state, j.isKey = sString, false
	case c == '-':
		j.state = sNeg
	case c == '0':
		j.state = sZero
	case c >= '1' && c <= '9':
		j.state = sInt
	case c == 't':
		j.state, j.lit = sLiteral, "rue"
	case c == 'f':
		j.state, j.lit = sLiteral, "alse"
	case c == 'n':
		j.state, j.lit = sLiteral, "ull"
	default:
		j.invalid = true
	}
}

// numberEnd: c ends a number and is then read in the state after it.
func (j *jsonScan) numberEnd(c byte) {
	if j.capture != nil && len(*j.capture) > 0 && !j.capLong {
		*j.capture = (*j.capture)[:len(*j.capture)-1] // c is not part of it
	}
	j.valueEnd()
	if j.state == sDone {
		j.outside(c) // c follows the document
		return
	}
	j.step(c)
}

func (j *jsonScan) pop() {
	if len(j.stack) == 2 && j.inData && j.stack[1] == '{' {
		j.inData = false
	}
	j.stack = j.stack[:len(j.stack)-1]
	j.valueEnd()
}

func (j *jsonScan) stringEnd() {
	if j.isKey {
		j.isKey = false
		j.state = sColon
		j.keyDone()
		return
	}
	j.valueEnd()
}

func (j *jsonScan) valueEnd() {
	j.endCapture()
	if len(j.stack) == 0 {
		j.state = sDone
	} else {
		j.state = sCommaOrEnd
	}
}

// keyByte records a byte of a key at a depth where keys matter.
func (j *jsonScan) keyByte(c byte) {
	if !j.isKey || !j.keyMatters() {
		return
	}
	if len(j.keyRaw) < 256 {
		j.keyRaw = append(j.keyRaw, c)
	} else {
		j.keyLong = true
	}
}

func (j *jsonScan) keyMatters() bool {
	return j.topObject && (len(j.stack) == 1 || len(j.stack) == 2 && j.inData)
}

func (j *jsonScan) keyDone() {
	if !j.keyMatters() {
		return
	}
	var k string
	if j.keyLong || json.Unmarshal(j.keyRaw, &k) != nil {
		k = "\x00long"
	}
	if len(j.stack) == 1 {
		j.topKey = k
		if k == "data" {
			j.dataMems, j.dataObj = nil, false // the last data member wins
		}
	} else {
		j.dataKey = k
	}
}

// beginCapture starts capturing a value pagingNote reads.
func (j *jsonScan) beginCapture(c byte) {
	if j.capture != nil || !j.topObject {
		return
	}
	switch {
	case len(j.stack) == 1:
		for _, m := range topMembers {
			if j.topKey == m {
				j.startCapture(c)
				return
			}
		}
	case len(j.stack) == 2 && j.inData:
		for _, m := range dataMembers {
			if strings.EqualFold(j.dataKey, m) {
				j.startCapture(c)
				return
			}
		}
	}
}

func (j *jsonScan) startCapture(c byte) {
	b := make([]byte, 1, 64)
	b[0] = c
	j.capture, j.capDepth, j.capLong = &b, len(j.stack), false
}

func (j *jsonScan) endCapture() {
	if j.capture == nil || len(j.stack) != j.capDepth {
		return
	}
	v := *j.capture
	j.capture = nil
	if j.capDepth == 1 {
		if j.capLong {
			delete(j.members, j.topKey)
			j.members[j.topKey+"\x00long"] = nil
			return
		}
		j.members[j.topKey] = v
		delete(j.members, j.topKey+"\x00long")
		return
	}
	if j.capLong {
		v = nil
	}
	key, _ := json.Marshal(j.dataKey)
	j.dataMems = append(j.dataMems, [2][]byte{key, v})
}

// top returns what pagingNote needs of a valid document, as a decoded top
// level would give it: nil when the document is not an object, and ok false
// when a member it needs was too long to capture.
func (j *jsonScan) top() (map[string]json.RawMessage, bool) {
	if !j.topObject {
		return nil, true
	}
	out := map[string]json.RawMessage{}
	for k, v := range j.members {
		if strings.HasSuffix(k, "\x00long") {
			return nil, false
		}
		out[k] = v
	}
	if j.dataObj {
		var b bytes.Buffer
		b.WriteByte('{')
		for i, m := range j.dataMems {
			if m[1] == nil {
				return nil, false
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(m[0])
			b.WriteByte(':')
			b.Write(m[1])
		}
		b.WriteByte('}')
		out["data"] = b.Bytes()
	}
	return out, true
}

// trimCounter measures a stream as bytes.TrimSpace would trim it, and
// finds where the trimmed text starts.
type trimCounter struct {
	total, lead int64
	started     bool
	pending     []byte // an incomplete rune before the start
	run         int64  // bytes of white space since the last other rune
	tail        []byte // an incomplete rune at the end of what was fed
}

// feed counts p and returns what of it (with any bytes held over from
// before) belongs to the trimmed text, before its trailing white space is
// known: nil while only leading space has been seen.
func (c *trimCounter) feed(p []byte) []byte {
	c.total += int64(len(p))
	for _, b := range p {
		if len(c.tail) == 0 && b < utf8.RuneSelf { // the common case, inline
			if isSpaceByte(b) {
				c.run++
			} else {
				c.run = 0
			}
			continue
		}
		c.trail(b)
	}
	if c.started {
		return p
	}
	for i := 0; i < len(p); i++ {
		if len(c.pending) == 0 && p[i] < utf8.RuneSelf {
			if isSpaceByte(p[i]) {
				c.lead++
				continue
			}
			c.started = true
			return p[i:]
		}
		c.pending = append(c.pending, p[i])
		if !utf8.FullRune(c.pending) {
			continue
		}
		if r, n := utf8.DecodeRune(c.pending); r != utf8.RuneError && unicode.IsSpace(r) && n == len(c.pending) {
			c.lead += int64(n)
			c.pending = c.pending[:0]
			continue
		}
		c.started = true
		return append(c.pending[:len(c.pending):len(c.pending)], p[i+1:]...)
	}
	return nil
}

// end is called at the end of the stream: bytes held as the start of a
// rune that never completed are text, not space, and are returned.
func (c *trimCounter) end() []byte {
	if c.started || len(c.pending) == 0 {
		return nil
	}
	c.started = true
	return c.pending
}

// trail follows the trailing white space byte by byte, decoding runes
// across chunks as bytes.TrimRightFunc(…, unicode.IsSpace) reads them: a
// byte that is no valid rune, or starts one, is not space.
func (c *trimCounter) trail(b byte) {
	if len(c.tail) == 0 && b < utf8.RuneSelf {
		if isSpaceByte(b) {
			c.run++
		} else {
			c.run = 0
		}
		return
	}
	c.tail = append(c.tail, b)
	for len(c.tail) > 0 && utf8.FullRune(c.tail) {
		r, n := utf8.DecodeRune(c.tail)
		if r != utf8.RuneError && unicode.IsSpace(r) {
			c.run += int64(n)
		} else {
			c.run = 0
		}
		rest := append([]byte(nil), c.tail[n:]...) // rare: after an invalid byte
		c.tail = c.tail[:0]
		for _, x := range rest { // bytes after an invalid one start afresh
			if len(c.tail) == 0 && x < utf8.RuneSelf {
				c.trail(x)
				continue
			}
			c.tail = append(c.tail, x)
		}
	}
}

// trimmed is the length of the stream without its surrounding space.
func (c *trimCounter) trimmed() int64 {
	if !c.started {
		return 0
	}
	trail := c.run
	if len(c.tail) > 0 {
		trail = 0 // a rune cut off at the end is no space
	}
	return c.total - c.lead - trail
}
