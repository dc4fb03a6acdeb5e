// Package validate checks deploy/kubernetes offline: it turns pinned upstream
// API definitions into the standalone, strict JSON schemas kubeconform reads,
// and its tests check the rendered manifests against those schemas and
// against the miosa-mcp binary itself (issue #14, docs/hosting.md).
//
// It is its own Go module so that the server's go.mod never carries what
// this needs; it depends on yaml.v3 (and go-cmp in its tests) alone.
package validate

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// GVK names a kind the way a manifest does: apiVersion ("apps/v1", or "v1"
// for the core group) and kind.
type GVK struct{ APIVersion, Kind string }

func (g GVK) String() string { return g.APIVersion + " " + g.Kind }

// FileName is where kubeconform looks for g's schema inside a schema
// location's <version>-standalone-strict directory:
// <kind>[-<first label of the group>]-<version>.json, lowercased (the layout
// of kubeconform's default registry, so a location works for both).
func (g GVK) FileName() string {
	group, version, ok := strings.Cut(g.APIVersion, "/")
	if !ok {
		return strings.ToLower(g.Kind + "-" + g.APIVersion + ".json")
	}
	label, _, _ := strings.Cut(group, ".")
	return strings.ToLower(g.Kind + "-" + label + "-" + version + ".json")
}

// The definitions the conversion treats by name.
const (
	objectMetaDef = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
	// A resource.Quantity is a string in the OpenAPI document, but the API
	// server also accepts a number (`cpu: 1`).
	quantityDef = "io.k8s.apimachinery.pkg.api.resource.Quantity"
)

// Catalog holds the definitions schemas are made from: the Kubernetes
// OpenAPI v2 document's and those of CustomResourceDefinitions.
type Catalog struct {
	defs  map[string]any    // OpenAPI definitions by name
	kinds map[GVK]string    // built-in kind -> its definition's name
	crds  map[GVK]yamlValue // custom kind -> its openAPIV3Schema
}

type yamlValue = map[string]any

// NewCatalog reads a Kubernetes OpenAPI v2 document (api/openapi-spec/
// swagger.json in the Kubernetes source) and CustomResourceDefinition
// manifests.
func NewCatalog(swagger []byte, crds ...[]byte) (*Catalog, error) {
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(swagger, &doc); err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	if len(doc.Definitions) == 0 {
		return nil, fmt.Errorf("openapi document has no definitions")
	}
	c := &Catalog{defs: map[string]any{}, kinds: map[GVK]string{}, crds: map[GVK]yamlValue{}}
	for name, def := range doc.Definitions {
		c.defs[name] = def
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, x := range gvks {
			m, _ := x.(map[string]any)
			group, _ := m["group"].(string)
			version, _ := m["version"].(string)
			kind, _ := m["kind"].(string)
			apiVersion := version
			if group != "" {
				apiVersion = group + "/" + version
			}
			// A few shared types (DeleteOptions, WatchEvent) list every group;
			// they are no manifest's kind, so whichever holds the name wins.
			g := GVK{apiVersion, kind}
			if prev, ok := c.kinds[g]; !ok || name < prev {
				c.kinds[g] = name
			}
		}
	}
	if _, ok := c.defs[objectMetaDef]; !ok {
		return nil, fmt.Errorf("openapi document lacks %s", objectMetaDef)
	}
	for _, b := range crds {
		if err := c.addCRD(b); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Catalog) addCRD(b []byte) error {
	var crd struct {
		Kind string
		Spec struct {
			Group string
			Names struct{ Kind string }
			// yaml.v3 decodes mappings into map[string]any, which the
			// conversion shares with the JSON document's definitions.
			Versions []struct {
				Name   string
				Schema struct {
					OpenAPIV3Schema yamlValue `yaml:"openAPIV3Schema"`
				}
			}
		}
	}
	if err := yaml.Unmarshal(b, &crd); err != nil {
		return fmt.Errorf("custom resource definition: %w", err)
	}
	if crd.Kind != "CustomResourceDefinition" || crd.Spec.Group == "" || crd.Spec.Names.Kind == "" {
		return fmt.Errorf("not a CustomResourceDefinition (kind %q, group %q)", crd.Kind, crd.Spec.Group)
	}
	for _, v := range crd.Spec.Versions {
		if v.Schema.OpenAPIV3Schema == nil {
			return fmt.Errorf("%s/%s %s has no openAPIV3Schema", crd.Spec.Group, v.Name, crd.Spec.Names.Kind)
		}
		c.crds[GVK{crd.Spec.Group + "/" + v.Name, crd.Spec.Names.Kind}] = v.Schema.OpenAPIV3Schema
	}
	return nil
}

// Has reports whether the catalog defines g.
func (c *Catalog) Has(g GVK) bool {
	_, builtin := c.kinds[g]
	_, custom := c.crds[g]
	return builtin || custom
}

// Schema returns g's standalone strict JSON schema (draft 4, kubeconform's
// default). Standalone: every definition it refers to is in its own
// "definitions", so it needs no network and no other file. Strict: an
// object with declared properties allows no others, as kubectl's field
// validation does, so a misspelt or misplaced field fails; apiVersion and
// kind must be g's own.
//
// What no JSON schema can check stays unchecked: CEL rules
// (x-kubernetes-validations), list-map key uniqueness, and the defaults and
// admission the API server applies.
func (c *Catalog) Schema(g GVK) (map[string]any, error) {
	var root map[string]any
	var refs []string
	if name, ok := c.kinds[g]; ok {
		root = convert(c.defs[name].(map[string]any), &refs)
	} else if s, ok := c.crds[g]; ok {
		root = convert(s, &refs)
		// A CRD's schema leaves metadata open; check it as ObjectMeta.
		if props, ok := root["properties"].(map[string]any); ok {
			props["metadata"] = map[string]any{"$ref": "#/definitions/" + objectMetaDef}
			refs = append(refs, objectMetaDef)
		}
	} else {
		return nil, fmt.Errorf("no schema for %s", g)
	}
	props, _ := root["properties"].(map[string]any)
	if props == nil {
		return nil, fmt.Errorf("%s: the definition has no properties", g)
	}
	props["apiVersion"] = map[string]any{"type": "string", "enum": []any{g.APIVersion}}
	props["kind"] = map[string]any{"type": "string", "enum": []any{g.Kind}}

	defs := map[string]any{}
	for len(refs) > 0 {
		name := refs[len(refs)-1]
		refs = refs[:len(refs)-1]
		if _, done := defs[name]; done {
			continue
		}
		def, ok := c.defs[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: unresolved reference to %s", g, name)
		}
		if name == quantityDef {
			defs[name] = map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
			continue
		}
		defs[name] = convert(def, &refs)
	}
	if len(defs) > 0 {
		root["definitions"] = defs
	}
	return root, nil
}

// convert copies an OpenAPI schema object into a strict JSON schema,
// appending the definitions it refers to to refs. It walks the schema's
// structure, so a property that happens to be called "description" or
// "format" stays a property.
func convert(s map[string]any, refs *[]string) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		// Siblings of $ref are annotations in the OpenAPI documents (and are
		// ignored by draft 4 anyway).
		*refs = append(*refs, strings.TrimPrefix(ref, "#/definitions/"))
		return map[string]any{"$ref": ref}
	}
	out := map[string]any{}
	for k, v := range s {
		switch {
		case k == "properties" || k == "patternProperties":
			props := map[string]any{}
			for name, p := range v.(map[string]any) {
				props[name] = convert(p.(map[string]any), refs)
			}
			out[k] = props
		case k == "items" || k == "additionalProperties" || k == "not":
			if m, ok := v.(map[string]any); ok {
				out[k] = convert(m, refs)
			} else if l, ok := v.([]any); ok {
				out[k] = convertList(l, refs)
			} else {
				out[k] = v // a boolean
			}
		case k == "allOf" || k == "anyOf" || k == "oneOf":
			out[k] = convertList(v.([]any), refs)
		case k == "description" || k == "example" || k == "default" || k == "externalDocs" ||
			k == "title" || k == "nullable" || strings.HasPrefix(k, "x-"):
			// Annotations, or handled below.
		default:
			out[k] = v
		}
	}
	if s["format"] == "int-or-string" || s["x-kubernetes-int-or-string"] == true {
		delete(out, "format")
		delete(out, "type")
		alt := []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}
		if other, ok := out["oneOf"]; ok {
			out["allOf"] = []any{map[string]any{"oneOf": other}, map[string]any{"oneOf": alt}}
			delete(out, "oneOf")
		} else {
			out["oneOf"] = alt
		}
	}
	if s["nullable"] == true {
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		}
	}
	if _, ok := out["properties"]; ok && s["x-kubernetes-preserve-unknown-fields"] != true {
		if _, set := out["additionalProperties"]; !set {
			out["additionalProperties"] = false
		}
	}
	return out
}

func convertList(l []any, refs *[]string) []any {
	out := make([]any, len(l))
	for i, x := range l {
		out[i] = convert(x.(map[string]any), refs)
	}
	return out
}

// StrictDir is the directory under a schema location where kubeconform
// -strict looks for version's schemas ("1.37.2" -> "v1.37.2-standalone-strict").
func StrictDir(version string) string { return "v" + version + "-standalone-strict" }

// WriteSchemas writes the schemas of gvks under location/StrictDir(version),
// and returns the files written. The output is a pure function of the
// catalog: keys sorted, no timestamps.
func WriteSchemas(c *Catalog, location, version string, gvks []GVK) ([]string, error) {
	dir := filepath.Join(location, StrictDir(version))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for _, g := range slices.SortedFunc(slices.Values(gvks), func(a, b GVK) int { return strings.Compare(a.String(), b.String()) }) {
		s, err := c.Schema(g)
		if err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(s, "", " ")
		if err != nil {
			return nil, err
		}
		f := filepath.Join(dir, g.FileName())
		if err := os.WriteFile(f, append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// ManifestKinds returns the distinct kinds of the objects in multi-document
// YAML streams (such as `kustomize build` output), sorted.
func ManifestKinds(streams ...[]byte) ([]GVK, error) {
	seen := map[GVK]bool{}
	for _, b := range streams {
		docs, err := Documents(b)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			seen[d.GVK()] = true
		}
	}
	return slices.SortedFunc(maps.Keys(seen), func(a, b GVK) int { return strings.Compare(a.String(), b.String()) }), nil
}
