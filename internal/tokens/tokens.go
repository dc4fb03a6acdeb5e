// Package tokens counts cl100k_base tokens, the encoding the published MCP
// token-cost figures use. The vocabulary is embedded in the tokenizer
// module, so counting works offline; it is loaded on first use only.
package tokens

import (
	"sync"

	"github.com/tiktoken-go/tokenizer"
)

var (
	once  sync.Once
	codec tokenizer.Codec
	err   error
)

// Count returns the number of cl100k_base tokens in s.
func Count(s string) (int, error) {
	once.Do(func() { codec, err = tokenizer.Get(tokenizer.Cl100kBase) })
	if err != nil {
		return 0, err
	}
	ids, _, e := codec.Encode(s)
	return len(ids), e
}
