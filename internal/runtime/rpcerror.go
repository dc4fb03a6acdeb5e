package runtime

import "encoding/json"

// MessageError is the JSON-RPC error answering a refused message.
type MessageError struct {
	Code    int
	Message string
	ID      json.RawMessage // the request's id when it could be read, else null
}

func (e *MessageError) Error() string { return e.Message }

// Response renders the JSON-RPC error response (one line, no newline).
func (e *MessageError) Response() []byte {
	id := e.ID
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": id,
		"error": map[string]any{"code": e.Code, "message": e.Message},
	})
	return b
}

const (
	codeParseError     = -32700
	codeInvalidRequest = -32600
)

// clipBytes is how much of an offending JSON-RPC value (an id, a number)
// an error message quotes.
const clipBytes = 40

// clip shortens a quoted value for an error message to at most n bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
