package mock

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
)

// defaultPageSize applies when a list call gives no limit/per_page. The
// spec states no default; 50 keeps MCP tool results short while most mock
// accounts fit on one page.
const defaultPageSize = 50

// listMeta is the spec's ListMeta for page-style lists.
type listMeta struct {
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

// pageOf returns page `page` of items (page/per_page style).
func pageOf[T any](items []T, c *call) ([]T, listMeta) {
	page := max(c.queryInt("page", 1), 1)
	per := c.queryInt("per_page", defaultPageSize)
	meta := listMeta{Total: len(items), Page: page, PerPage: per}
	start := min((page-1)*per, len(items))
	end := min(start+per, len(items))
	return items[start:end], meta
}

// cursorOf returns the items after the cursor (limit/cursor style) and the
// cursor of the next page, "" on the last one. The cursor is an opaque
// token naming the creation order of the last item returned, so it stays
// valid when items before or after it are deleted.
func cursorOf[T seqd](items []T, c *call) ([]T, string, *reply) {
	after := 0
	if cur := c.query("cursor"); cur != "" {
		n, okCur := decodeCursor(cur, "o:")
		v, err := strconv.Atoi(n)
		if !okCur || err != nil {
			r := failValidation(http.StatusBadRequest, "invalid cursor: pass the cursor of the previous page unchanged", []fieldError{{Field: "cursor", Message: "invalid cursor"}})
			return nil, "", &r
		}
		after = v
	}
	limit := c.queryInt("limit", defaultPageSize)
	out := make([]T, 0, limit)
	next := ""
	for _, it := range items {
		if it.seqNo() <= after {
			continue
		}
		if len(out) == limit {
			next = encodeCursor("o:" + strconv.Itoa(out[len(out)-1].seqNo()))
			break
		}
		out = append(out, it)
	}
	return out, next, nil
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(cur, prefix string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(cur)
	if err != nil || !strings.HasPrefix(string(b), prefix) {
		return "", false
	}
	return strings.TrimPrefix(string(b), prefix), true
}
