package mock

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// reply is a handler's answer. Success bodies are marshalled by the handler
// while it still holds the state lock, so the bytes never race with later
// mutations and can be replayed for a repeated Idempotency-Key. Error bodies
// are rendered at write time because they carry the request ID.
type reply struct {
	status int
	ctype  string
	body   []byte
	header http.Header
	err    *apiError
}

// apiError is the error object of the spec's Error schema in the shape most
// clients parse: {"error":{"code","message","details"},"request_id"}.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details,omitempty"`
}

// fieldError is one entry of a validation error's details: the runtime
// flattens [{field, message}] into "field: message" for the model.
type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// marshal encodes JSON without HTML escaping: bodies carry shell output
// and file text, which should read as written ("<", not "\u003c").
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func jsonReply(status int, v any) reply {
	b, err := marshal(v)
	if err != nil {
		return fail(http.StatusInternalServerError, "INTERNAL_ERROR", "encoding response: "+err.Error())
	}
	return reply{status: status, ctype: "application/json", body: b}
}

// ok wraps v in the {"data": …} envelope every JSON success uses.
func ok(v any) reply { return jsonReply(http.StatusOK, envelope{Data: v}) }

type envelope struct {
	Data any `json:"data"`
}

// okCursor is a cursor-paged list: {"data": [...], "cursor": next}. The
// cursor is omitted on the last page.
func okCursor(items any, next string) reply {
	return jsonReply(http.StatusOK, struct {
		Data   any    `json:"data"`
		Cursor string `json:"cursor,omitempty"`
	}{items, next})
}

// okPage is a page-style list: {"data": [...], "meta": {total, page, per_page}}.
func okPage(items any, meta listMeta) reply {
	return jsonReply(http.StatusOK, struct {
		Data any      `json:"data"`
		Meta listMeta `json:"meta"`
	}{items, meta})
}

func noContent() reply { return reply{status: http.StatusNoContent} }

func binaryReply(ctype string, b []byte) reply {
	return reply{status: http.StatusOK, ctype: ctype, body: b}
}

func fail(status int, code, msg string) reply {
	return reply{status: status, ctype: "application/json", err: &apiError{Code: code, Message: msg}}
}

// failValidation is a VALIDATION_ERROR with the offending fields in details.
func failValidation(status int, msg string, details any) reply {
	r := fail(status, "VALIDATION_ERROR", msg)
	r.err.Details = details
	return r
}

func notFound(kind, id string) reply {
	return fail(http.StatusNotFound, "NOT_FOUND", kind+" not found: "+id)
}

func conflict(msg string) reply { return fail(http.StatusConflict, "CONFLICT", msg) }

// invalidState is the 409 for an action the resource's status does not
// allow (e.g. exec on a computer that is still creating).
func invalidState(msg string) reply { return fail(http.StatusConflict, "INVALID_STATE", msg) }

func invalid(field, msg string) reply {
	return failValidation(http.StatusUnprocessableEntity, field+": "+msg, []fieldError{{Field: field, Message: msg}})
}

func (r reply) render(reqID string) []byte {
	if r.err == nil {
		return r.body
	}
	b, _ := marshal(struct {
		Error     *apiError `json:"error"`
		RequestID string    `json:"request_id"`
	}{r.err, reqID})
	return b
}

func (r reply) write(w http.ResponseWriter, reqID string) {
	h := w.Header()
	for k, v := range r.header {
		h[k] = v
	}
	if r.status == http.StatusNoContent {
		w.WriteHeader(r.status)
		return
	}
	body := r.render(reqID)
	if r.ctype != "" {
		h.Set("Content-Type", r.ctype)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(r.status)
	w.Write(body)
}
