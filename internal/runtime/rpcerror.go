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

// clipBytes is how much of an offending value an error message quotes.
const clipBytes = 40

// clip shortens a quoted value for an error message.
func clip(s string) string {
	if len(s) <= clipBytes {
		return s
	}
	return s[:clipBytes] + "…"
}
