package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/miosa-osa/miosa-mcp/internal/app"
	"github.com/miosa-osa/miosa-mcp/internal/dist"
)

const registrySchemaID = "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json"

// registrySchema compiles the MCP Registry's server.json schema from the
// pinned copy (packaging/registry/README.md names its source) under its
// $id, with format assertions on and every other URL refused: offline.
func registrySchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(readRepoFile(t, "packaging/registry/server.schema.json")))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := doc.(map[string]any)["$id"].(string); id != registrySchemaID {
		t.Fatalf("the pinned schema's $id is %q, want %q", id, registrySchemaID)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(registrySchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(registrySchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, errors.New("offline: no schema is fetched (" + url + ")")
}

// TestServerJSONSchema validates server.json against the registry's
// published schema for the $schema it names, and checks the validator
// rejects what the registry would (so a pass means something).
func TestServerJSONSchema(t *testing.T) {
	sch := registrySchema(t)
	raw := readRepoFile(t, "server.json")
	if s := loadServerJSON(t); s.Schema != registrySchemaID {
		t.Fatalf("server.json $schema = %q; pin that version's schema in packaging/registry", s.Schema)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("server.json does not validate against the registry schema:\n%v", err)
	}

	mutations := []struct {
		name   string
		mutate func(doc map[string]any)
	}{
		{"package version latest", func(d map[string]any) { pkgs(d)[0]["version"] = "latest" }},
		{"description over 100 characters", func(d map[string]any) { d["description"] = strings.Repeat("x", 101) }},
		{"name without a namespace", func(d map[string]any) { d["name"] = "miosa-mcp" }},
		{"unknown package field", func(d map[string]any) { pkgs(d)[0]["command"] = "npx" }},
		{"package without transport", func(d map[string]any) { delete(pkgs(d)[1], "transport") }},
		{"env var without name", func(d map[string]any) {
			delete(pkgs(d)[0]["environmentVariables"].([]any)[0].(map[string]any), "name")
		}},
		{"website not a URI", func(d map[string]any) { d["websiteUrl"] = "not a uri" }},
	}
	for _, m := range mutations {
		t.Run("rejects "+m.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal([]byte(raw), &doc); err != nil {
				t.Fatal(err)
			}
			m.mutate(doc)
			b, _ := json.Marshal(doc)
			inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
			if sch.Validate(inst) == nil {
				t.Error("the schema accepted it")
			}
		})
	}
}

func pkgs(doc map[string]any) []map[string]any {
	var out []map[string]any
	for _, p := range doc["packages"].([]any) {
		out = append(out, p.(map[string]any))
	}
	return out
}

// TestNPMPackageAgreesWithServerJSON: the committed launcher package is the
// one server.json lists, at its version, with the registry's ownership
// field, and lists the six platform packages make npm-pack builds at
// exactly that version. make dist takes the release version from
// server.json too (dist.ReleaseVersion).
func TestNPMPackageAgreesWithServerJSON(t *testing.T) {
	s := loadServerJSON(t)
	var pkg struct {
		Name                 string            `json:"name"`
		Version              string            `json:"version"`
		MCPName              string            `json:"mcpName"`
		Bin                  map[string]string `json:"bin"`
		Scripts              map[string]string `json:"scripts"`
		OptionalDependencies map[string]string `json:"optionalDependencies"`
	}
	if err := json.Unmarshal([]byte(readRepoFile(t, "packaging/npm/mcp/package.json")), &pkg); err != nil {
		t.Fatal(err)
	}
	if pkg.Name != app.NPMPackage || app.NPMPackage != dist.NPMScope || s.pkg(t, "npm").Identifier != pkg.Name {
		t.Errorf("names: package.json %q, app.NPMPackage %q, dist.NPMScope %q, server.json %q", pkg.Name, app.NPMPackage, dist.NPMScope, s.pkg(t, "npm").Identifier)
	}
	if pkg.Version != s.Version || pkg.MCPName != s.Name {
		t.Errorf("package.json version %q mcpName %q; server.json says %q and %q", pkg.Version, pkg.MCPName, s.Version, s.Name)
	}
	want := map[string]string{}
	for _, tg := range dist.Targets {
		want[dist.NPMPackageName(tg)] = s.Version
	}
	if !maps.Equal(pkg.OptionalDependencies, want) {
		t.Errorf("optionalDependencies = %v, want %v", pkg.OptionalDependencies, want)
	}
	if fmt.Sprint(pkg.Bin) != "map[miosa-mcp:bin/miosa-mcp.js]" || len(pkg.Scripts) != 0 {
		t.Errorf("bin %v scripts %v, want the launcher only and no install scripts", pkg.Bin, pkg.Scripts)
	}
	if v, err := dist.ReleaseVersion(repoRoot); err != nil || v != s.Version {
		t.Errorf("dist.ReleaseVersion = %q, %v; want %q", v, err, s.Version)
	}
}
