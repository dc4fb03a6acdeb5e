package cli

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// CompositeDir is where the hand-written composite handlers live, relative to
// the repository root; their //toolgen:handler directives are the registry.
const CompositeDir = "internal/composite"

const handlerDirective = "//toolgen:handler "

// Composites reads the composite-handler registry from the Go sources in
// root/CompositeDir: every exported function whose doc comment carries
// `//toolgen:handler NAME` is the handler tools.yaml calls NAME. It maps
// NAME to "importpath.Func". The sources are parsed, not compiled, so a
// stale gen/client never stops the generator.
func Composites(root string) (map[string]string, error) {
	dir := filepath.Join(root, filepath.FromSlash(CompositeDir))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	out := map[string]string{}
	where := map[string]string{}
	fset := token.NewFileSet()
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, file, src, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Doc == nil {
				continue
			}
			for _, c := range fn.Doc.List {
				name, ok := strings.CutPrefix(c.Text, handlerDirective)
				if !ok {
					continue
				}
				name = strings.TrimSpace(name)
				pos := fset.Position(c.Pos())
				at := fmt.Sprintf("%s/%s:%d", CompositeDir, filepath.Base(pos.Filename), pos.Line)
				switch {
				case name == "" || strings.ContainsAny(name, " \t"):
					return nil, fmt.Errorf("%s: want %sNAME", at, handlerDirective)
				case fn.Recv != nil || !fn.Name.IsExported():
					return nil, fmt.Errorf("%s: handler %s must be an exported function, not %s", at, name, fn.Name.Name)
				case where[name] != "":
					return nil, fmt.Errorf("%s: handler %s is also declared at %s", at, name, where[name])
				}
				where[name] = at
				out[name] = path.Join(Module, CompositeDir) + "." + fn.Name.Name
			}
		}
	}
	return out, nil
}
