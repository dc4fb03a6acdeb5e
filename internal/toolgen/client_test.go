package toolgen

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxClientBytes bounds gen/client/client.gen.go. It was 1,745,857 bytes with
// oapi-codegen's ClientWithResponses and 510,186 without it (#13); the
// ceiling leaves room for the spec to grow, not for that surface to return.
const maxClientBytes = 640 << 10

// TestClientCarriesOnlyWhatIsUsed: the generated client declares no
// ClientWithResponses, no *Response wrapper types and no Parse*Response
// functions, for both the fixture and the committed catalog client, and the
// committed client stays under maxClientBytes.
func TestClientCarriesOnlyWhatIsUsed(t *testing.T) {
	out, err := Generate(fixtureInputs(t))
	if err != nil {
		t.Fatal(err)
	}
	fixture := out.Files["internal/toolgen/testdata/golden/gen/client/client.gen.go"]
	real, err := os.ReadFile(filepath.Join("..", "..", "gen", "client", "client.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(real) > maxClientBytes {
		t.Errorf("gen/client/client.gen.go is %d bytes, over the ceiling of %d", len(real), maxClientBytes)
	}
	for name, src := range map[string][]byte{"fixture client": fixture, "gen/client": real} {
		t.Run(name, func(t *testing.T) {
			unused := unusedClientSurface(t, src)
			if len(unused) > 0 {
				t.Errorf("%d declarations of the unused response-parsing client are back, e.g. %s", len(unused), strings.Join(unused[:min(5, len(unused))], ", "))
			}
			// The surface the tools do call is still there.
			for _, want := range []string{"type ClientInterface interface", "func NewClient(", "func WithRequestEditorFn("} {
				if !strings.Contains(string(src), want) {
					t.Errorf("the client lost %q", want)
				}
			}
		})
	}
}

// unusedClientSurface lists the declarations that belong to oapi-codegen's
// client-with-responses.tmpl.
func unusedClientSurface(t *testing.T, src []byte) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "client.gen.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			name := d.Name.Name
			if strings.HasPrefix(name, "Parse") && strings.HasSuffix(name, "Response") ||
				strings.HasSuffix(name, "WithResponse") || strings.Contains(name, "ClientWithResponses") {
				out = append(out, "func "+name)
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				ts, ok := s.(*ast.TypeSpec)
				if !ok {
					continue
				}
				st, isStruct := ts.Type.(*ast.StructType)
				if strings.Contains(ts.Name.Name, "ClientWithResponses") || isStruct && hasField(st, "HTTPResponse") {
					out = append(out, "type "+ts.Name.Name)
				}
			}
		}
	}
	return out
}

func hasField(st *ast.StructType, name string) bool {
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			if n.Name == name {
				return true
			}
		}
	}
	return false
}
