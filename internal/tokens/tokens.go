// Package tokens counts cl100k_base tokens, the encoding the published MCP
// token-cost figures use. The vocabulary is embedded in the tokenizer
// module, so counting works offline; it is loaded on first use only.
//
// The codec comes from the module's codec package rather than
// tokenizer.Get: Get can return any of the module's five encodings, so
// calling it links all four vocabularies into the binary (o200k_base alone
// is 200,000 entries), where only cl100k_base is ever used.
package tokens

import (
	"sync"

	"github.com/tiktoken-go/tokenizer/codec"
)

var cl100k = sync.OnceValue(codec.NewCl100kBase)

// Count returns the number of cl100k_base tokens in s.
func Count(s string) (int, error) {
	ids, _, err := cl100k().Encode(s)
	return len(ids), err
}
