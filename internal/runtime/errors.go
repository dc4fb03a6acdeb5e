package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

// MaxErrorTextBytes caps every error text a tool result carries: API error
// messages, their field lists and validation violation lists are built
// from input this server does not control (one API error body made a 1 MB
// text, issue #10). The cap applies after the key is scrubbed.
const MaxErrorTextBytes = 2000

// capError cuts an error text to MaxErrorTextBytes (see capBytes).
func capError(s string) string { return capBytes(s, MaxErrorTextBytes) }

// capBytes cuts s to at most max bytes on a rune boundary, ending with a
// note of how many bytes were left out.
func capBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	const room = 32 // for the note
	cut := max(0, limit-room)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf(" [… %d more bytes]", len(s)-cut)
}

// capList joins items with sep, keeping the result within max bytes; the
// items left out are counted in an explicit "[… N more]" note.
func capList(items []string, sep string, max int) string {
	var b strings.Builder
	for i, it := range items {
		add := len(it)
		if i > 0 {
			add += len(sep)
		}
		if b.Len()+add > max && i > 0 {
			fmt.Fprintf(&b, "%s[… %d more]", sep, len(items)-i)
			return b.String()
		}
		if i > 0 {
			b.WriteString(sep)
		}
		if b.Len()+len(it) > max {
			it = capBytes(it, max-b.Len())
		}
		b.WriteString(it)
	}
	return b.String()
}

// failures is where a failed call becomes its result, whatever stage it
// failed in: each error a stage returns is worded for the model (what went
// wrong and what to do), scrubbed of the caller's key, then capped.
type failures struct {
	host     string        // the API host, for transport errors
	timeout  time.Duration // the per-request timeout, for timeouts
	settings Settings
	hints    Hints
	res      *resources // where ids come from, for a 404 (bind.go)
}

// result answers t's failed call.
func (f *failures) result(sc *Scrubber, t *Tool, err error) *mcp.CallToolResult {
	return errorResult(sc, f.text(sc, t, err))
}

// text words err, by its kind: the validate and bind stages' *ArgError,
// and the send stage's *upstreamError, *transportError and
// *informationalStatus. The others say what to do themselves: the select
// stage's *refusal and *rateLimited and the shape stage's *unusableAnswer.
func (f *failures) text(sc *Scrubber, t *Tool, err error) string {
	var (
		ae *ArgError
		te *transportError
		ue *upstreamError
		ie *informationalStatus
		le *lookupError
	)
	switch {
	case errors.As(err, &le): // the list call that looks up an omitted id (bind.go)
		return fmt.Sprintf("%s was called without %s, so %s was called to find the %s, and it failed: %s", le.tool, le.arg, le.list.Name, le.kind, f.text(sc, le.list, le.err))
	case errors.As(err, &ae):
		return "Invalid arguments for " + t.Name + ": " + ae.Msg + "."
	case errors.As(err, &ue):
		return f.upstreamErrorText(sc, t, ue)
	case errors.As(err, &te):
		if te.status != 0 {
			return fmt.Sprintf("%s (the API answered HTTP %d but the body could not be read)", f.transportErrorText(t, te.err), te.status)
		}
		return f.transportErrorText(t, te.err)
	case errors.As(err, &ie):
		return fmt.Sprintf("%s: the MIOSA API answered HTTP %d %s, which an API call never expects; the answer was not read. If it persists, check %s: a proxy may be in the way.", t.Name, ie.status, http.StatusText(ie.status), f.apiURL())
	}
	return err.Error()
}

// errorResult is the result of a failed call: the text scrubbed of the
// caller's key, then capped.
func errorResult(sc *Scrubber, msg string) *mcp.CallToolResult {
	return mcp.NewToolResultError(capError(sc.String(msg)))
}

// apiError is what the MIOSA error bodies say, normalised across the shapes
// the public clients accept (api/README.md, Conventions: Errors).
type apiError struct {
	Code, Message, RequestID string
	Fields                   []string
	RetryAfter               float64
}

func parseAPIError(body []byte, h http.Header) apiError {
	var e apiError
	e.RequestID = h.Get("X-Request-ID")
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil && json.Unmarshal(closeJSONPrefix(body), &raw) != nil {
		text := strings.TrimSpace(string(body))
		if strings.HasPrefix(strings.ToLower(text), "<") {
			text = "" // an HTML error page says nothing useful to a model
		}
		e.Message = capBytes(text, 300)
		return e
	}
	str := func(k string) string {
		var s string
		if v, ok := raw[k]; ok {
			json.Unmarshal(v, &s)
		}
		return s
	}
	if v, ok := raw["error"]; ok {
		var obj struct {
			Code    string          `json:"code"`
			Message string          `json:"message"`
			Details json.RawMessage `json:"details"`
		}
		var s string
		switch {
		case json.Unmarshal(v, &s) == nil:
			if isUpperSnake(s) {
				e.Code = s
			} else {
				e.Message = s
			}
		case json.Unmarshal(v, &obj) == nil:
			e.Code, e.Message = obj.Code, obj.Message
			e.Fields = detailFields(obj.Details)
		}
	}
	if e.Code == "" {
		e.Code = str("code")
	}
	for _, k := range []string{"message", "detail", "reason"} {
		if m := str(k); m != "" {
			if e.Message == "" {
				e.Message = m
			} else if !strings.Contains(e.Message, m) {
				e.Message += ": " + m
			}
		}
	}
	if v, ok := raw["errors"]; ok {
		var list []string
		if json.Unmarshal(v, &list) == nil && len(list) > 0 {
			if e.Message == "" {
				e.Message = strings.Join(list, "; ")
			} else {
				e.Fields = append(e.Fields, list...)
			}
		} else {
			e.Fields = append(e.Fields, detailFields(v)...)
		}
	}
	if id := str("request_id"); id != "" {
		e.RequestID = id
	}
	if v, ok := raw["retry_after"]; ok {
		json.Unmarshal(v, &e.RetryAfter)
	}
	e.Message = capBytes(e.Message, 500)
	return e
}

// closeJSONPrefix makes a whole JSON document of the start of one (an
// error body cut at errorBodyBytes, whose message or validation details can
// run to megabytes): it drops what follows the last complete member or
// element, or closes a string value cut short, and closes what is still
// open; so the code, the message and the fields before the cut are still
// read. nil when b is not such a start.
func closeJSONPrefix(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || (b[0] != '{' && b[0] != '[') {
		return nil
	}
	var open []byte // the brackets open at i
	cut, openAtCut := 0, ""
	inString, isValue, wantKey := false, false, false
	escStart, uLeft := -1, 0 // the escape being read, and hex digits it still needs
	for i, c := range b {
		if inString {
			switch {
			case uLeft > 0:
				if uLeft--; uLeft == 0 {
					escStart = -1
				}
			case escStart >= 0:
				if c == 'u' {
					uLeft = 4
				} else {
					escStart = -1
				}
			case c == '\\':
				escStart = i
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
			isValue = !(open[len(open)-1] == '{' && wantKey)
		case ':':
			wantKey = false
		case '{', '[':
			open = append(open, c)
			wantKey = c == '{'
			cut, openAtCut = i+1, string(open)
		case '}', ']':
			if len(open) <= 1 {
				return nil // the document ended: it was not cut
			}
			open = open[:len(open)-1]
			cut, openAtCut = i+1, string(open)
		case ',':
			wantKey = open[len(open)-1] == '{'
			cut, openAtCut = i, string(open)
		}
	}
	var out []byte
	if inString && isValue {
		// A string value cut short keeps what was read of it, without an
		// escape or a character cut in two.
		end := len(b)
		if escStart >= 0 {
			end = escStart
		}
		for k := 1; k <= min(utf8.UTFMax, end); k++ {
			if utf8.RuneStart(b[end-k]) {
				if !utf8.FullRune(b[end-k : end]) {
					end -= k
				}
				break
			}
		}
		out = append(append([]byte(nil), b[:end]...), '"')
		openAtCut = string(open)
	} else {
		out = append([]byte(nil), b[:cut]...)
	}
	for i := len(openAtCut) - 1; i >= 0; i-- {
		if openAtCut[i] == '{' {
			out = append(out, '}')
		} else {
			out = append(out, ']')
		}
	}
	if !json.Valid(out) {
		return nil
	}
	return out
}

func isUpperSnake(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && r != '_' && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// detailFields flattens validation details such as {"name":["is required"]}
// or [{"field":"x","message":"y"}] into "name: is required".
func detailFields(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var byField map[string]any
	if json.Unmarshal(raw, &byField) == nil {
		var out []string
		for _, k := range sortedMapKeys(byField) {
			out = append(out, k+": "+flat(byField[k]))
		}
		return out
	}
	var list []map[string]any
	if json.Unmarshal(raw, &list) == nil {
		var out []string
		for _, m := range list {
			f, _ := m["field"].(string)
			msg, _ := m["message"].(string)
			if f != "" || msg != "" {
				out = append(out, strings.TrimPrefix(f+": "+msg, ": "))
			}
		}
		return out
	}
	return nil
}

func flat(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, flat(e))
		}
		return strings.Join(parts, "; ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func sortedMapKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ErrorHint replaces the message for a matching upstream error (tools.yaml
// `errors:`), e.g. an operation the API does not offer over MCP yet.
type ErrorHint struct {
	Status   int    // 0 matches any status
	Code     string // "" matches any code
	Contains string // "" matches any message; else a case-insensitive substring
	Message  string
}

func (h ErrorHint) match(status int, e apiError) bool {
	return (h.Status == 0 || h.Status == status) &&
		(h.Code == "" || strings.EqualFold(h.Code, e.Code)) &&
		(h.Contains == "" || strings.Contains(strings.ToLower(e.Message+" "+e.Code), strings.ToLower(h.Contains)))
}

// upstreamErrorText explains a non-2xx response in terms a model can act on.
// The body and the request id are scrubbed before anything is cut; ue.cut
// says the body is only the first errorBodyBytes of a longer one.
func (f *failures) upstreamErrorText(sc *Scrubber, t *Tool, ue *upstreamError) string {
	e := parseAPIError(sc.Bytes(ue.body), ue.header)
	e.RequestID = sc.String(e.RequestID)
	for _, h := range t.ErrorHints {
		if h.match(ue.status, e) {
			return h.Message
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "MIOSA API error from %s: HTTP %d %s", t.Name, ue.status, http.StatusText(ue.status))
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	b.WriteString(".")
	if len(e.Fields) > 0 {
		fmt.Fprintf(&b, " Problems: %s.", capList(e.Fields, "; ", MaxErrorTextBytes/2))
	}
	if ue.cut {
		fmt.Fprintf(&b, " (The error body was longer than %d bytes; this is from its start.)", errorBodyBytes)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " Request ID: %s.", e.RequestID)
	}
	if a := f.advice(t, ue, e); a != "" {
		b.WriteString(" ")
		b.WriteString(a)
	}
	return b.String()
}

func (f *failures) advice(t *Tool, ue *upstreamError, e apiError) string {
	switch code := ue.status; {
	case code >= 300 && code < 400:
		host := ""
		if u, err := url.Parse(ue.header.Get("Location")); err == nil {
			host = u.Host
		}
		return fmt.Sprintf("The API answered with a redirect (to %q); it was not followed, so the API key is only ever sent to the configured host. %s", host, f.checkAPIURL(""))
	case code == http.StatusUnauthorized:
		return "The API key was rejected." + sentences(f.settings.KeyRejected)
	case code == http.StatusPaymentRequired:
		return "The account has insufficient credits." + sentences(f.hints.PaymentRequired)
	case code == http.StatusForbidden:
		return fmt.Sprintf("The key is valid but lacks the scope %s needs. Grant that scope under API Keys, or use a scoped key that has it.", t.Name)
	case code == http.StatusNotFound:
		if a := f.res.notFoundAdvice(t); a != "" {
			return a
		}
		return "Check the id: list tools return valid ids, and the resource may have been destroyed."
	case code == http.StatusConflict:
		return "The resource is not in a state that allows this (e.g. not running, or the name is taken). Check its status with the matching get tool, then retry."
	case code == http.StatusUnsupportedMediaType:
		return "The API accepts only application/json and application/octet-stream bodies."
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return "Fix the arguments named above and call again."
	case code == http.StatusTooManyRequests:
		secs := e.RetryAfter
		if d, ok := RetryAfter(ue.header.Get("Retry-After")); ok {
			secs = d.Seconds()
		}
		if secs <= 0 {
			secs = 5
		}
		return fmt.Sprintf("Rate limited: retry after %d seconds.", int(secs+0.999))
	case code >= 500:
		return "The MIOSA API had a server error; retry shortly. If it persists, quote the request id to support."
	}
	return ""
}

// transportErrorText explains a request that got no HTTP answer.
func (f *failures) transportErrorText(t *Tool, err error) string {
	host := f.host
	switch {
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		setting, raise := "", "Raise the timeout"
		if f.settings.Timeout != "" {
			setting = fmt.Sprintf(" (%s=%d)", f.settings.Timeout, f.timeout.Milliseconds())
			raise = "Raise " + f.settings.Timeout
		}
		return fmt.Sprintf("%s: no answer from the MIOSA API (%s) within %s%s.%s %s, or for long operations call again with wait=true, or poll the get tool.", t.Name, host, f.timeout, setting, sentences(f.hints.Timeout), raise)
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("%s: the call was cancelled before the MIOSA API answered.", t.Name)
	case errors.Is(err, errRequestRefused):
		return fmt.Sprintf("%s: %v", t.Name, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("%s: could not connect to the MIOSA API at %s (connection refused). %s", t.Name, host, f.checkAPIURL(" and your network"))
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "server closed idle connection"): // net/http's unexported errServerClosedIdle
		again := "Retry shortly"
		if t.Method == http.MethodPost && !t.SendsIdempotencyKey || t.Method == http.MethodPatch {
			again = "It was not retried, since repeating it could apply it twice: check its effect with the matching get or list tool before calling again"
		}
		return fmt.Sprintf("%s: the MIOSA API at %s closed the connection (%s). %s; if it persists, check %s and any proxy in between.", t.Name, host, scrubURLError(err), again, f.apiURL())
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Sprintf("%s: could not resolve the MIOSA API host %s. %s", t.Name, host, f.checkAPIURL(" and your network"))
	}
	return fmt.Sprintf("%s: the request to the MIOSA API at %s failed: %s. %s", t.Name, host, scrubURLError(err), f.checkAPIURL(" and your network, then retry"))
}

// checkAPIURL advises checking the setting that names the API's address
// (Settings.APIURL), then what follows.
func (f *failures) checkAPIURL(and string) string {
	return "Check " + f.apiURL() + and + "."
}

// apiURL names the setting of the API's address, or says what it is.
func (f *failures) apiURL() string { return orDefault(f.settings.APIURL, "the API URL") }

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// scrubURLError drops the URL from *url.Error messages (it could carry
// query values) and keeps the cause.
func scrubURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// formatDuration prints whole seconds for waits.
func formatDuration(d time.Duration) string { return d.Round(time.Second).String() }
