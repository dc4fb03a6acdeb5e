package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The number and id rules of the strict message check: mcp-go decodes
// numbers into float64 (and echoes integer ids through one), so a number a
// float64 cannot hold exactly would reach the tool, or the client, as a
// different value.

// maxExactInt is the largest integer every JSON parser represents exactly.
const maxExactInt = 1<<53 - 1

// validID: MCP request ids are strings or integers; integers must survive
// a float64 round trip, which mcp-go applies when it echoes them.
func validID(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '"' {
		return true
	}
	if bytes.ContainsAny(raw, ".eE") || raw[0] == '{' || raw[0] == '[' || raw[0] == 't' || raw[0] == 'f' || raw[0] == 'n' {
		return false
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	return err == nil && n >= -maxExactInt && n <= maxExactInt
}

// exactNumber reports, without parsing, that a JSON number (valid syntax)
// is one a float64 decoder keeps as written: an integer of at most 15
// digits (below 2^53), or a plain decimal without an exponent that is too
// short to overflow. Everything else goes through checkNumber.
func exactNumber(num []byte) bool {
	digits, fraction := 0, false
	for _, c := range num {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			fraction = true
		case c == 'e' || c == 'E':
			return false
		}
	}
	if fraction {
		return len(num) < 300 // float64 overflows past 1.8e308
	}
	return digits <= 15
}

// checkNumber refuses numbers a float64 decoder would alter: overflow to
// ±Inf, and integers beyond ±2^53 that it would round.
func checkNumber(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) {
		return fmt.Errorf("the number %s is out of range", clip(s, clipBytes))
	}
	if !strings.ContainsAny(s, ".eE") && math.Abs(f) > maxExactInt {
		return fmt.Errorf("the integer %s is too large to be represented exactly (the limit is ±%d)", clip(s, clipBytes), int64(maxExactInt))
	}
	return nil
}
