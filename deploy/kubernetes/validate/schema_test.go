package validate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFileName(t *testing.T) {
	for _, tc := range []struct {
		gvk  GVK
		want string
	}{
		{GVK{"v1", "Service"}, "service-v1.json"},
		{GVK{"apps/v1", "Deployment"}, "deployment-apps-v1.json"},
		{GVK{"networking.k8s.io/v1", "NetworkPolicy"}, "networkpolicy-networking-v1.json"},
		{GVK{"autoscaling/v2", "HorizontalPodAutoscaler"}, "horizontalpodautoscaler-autoscaling-v2.json"},
		{GVK{"monitoring.coreos.com/v1", "ServiceMonitor"}, "servicemonitor-monitoring-v1.json"},
	} {
		if got := tc.gvk.FileName(); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.gvk, got, tc.want)
		}
	}
}

// A small OpenAPI v2 document with the shapes the conversion treats
// specially.
const testSwagger = `{"definitions": {
  "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
    "type": "object", "description": "meta",
    "properties": {"name": {"type": "string", "description": "the name"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}}
  },
  "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
  "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
  "io.example.v1.Node": {
    "type": "object",
    "properties": {"children": {"type": "array", "items": {"$ref": "#/definitions/io.example.v1.Node"}}, "description": {"type": "string"}}
  },
  "io.example.v1.Widget": {
    "type": "object", "required": ["spec"],
    "x-kubernetes-group-version-kind": [{"group": "example.io", "version": "v1", "kind": "Widget"}],
    "properties": {
      "apiVersion": {"type": "string"}, "kind": {"type": "string"},
      "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "description": "ignored"},
      "spec": {"type": "object", "x-kubernetes-list-type": "atomic", "properties": {
        "size": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
        "port": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
        "tree": {"$ref": "#/definitions/io.example.v1.Node"}
      }}
    }
  },
  "io.example.v1.Gadget": {
    "type": "object",
    "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Gadget"}],
    "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"}}
  }
}}`

const testCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  group: example.io
  names: {kind: Probe}
  versions:
    - name: v1
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: {type: string}
            kind: {type: string}
            metadata: {type: object}
            spec:
              type: object
              description: the spec
              x-kubernetes-validations: [{rule: "self.a > 0"}]
              properties:
                target: {x-kubernetes-int-or-string: true, pattern: "^[0-9]+%?$"}
                note: {type: string, nullable: true}
                extra:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties: {known: {type: string}}
`

func TestSchema(t *testing.T) {
	c, err := NewCatalog([]byte(testSwagger), []byte(testCRD))
	if err != nil {
		t.Fatal(err)
	}
	objectMeta := map[string]any{
		"type": "object", "additionalProperties": false,
		"properties": map[string]any{
			"name":   map[string]any{"type": "string"},
			"labels": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
		},
	}
	for _, tc := range []struct {
		gvk  GVK
		want string // JSON
	}{
		{
			// Strict objects, $ref siblings and annotations dropped, kind and
			// apiVersion pinned, Quantity as string or number, IntOrString as
			// integer or string, a recursive definition referenced once.
			gvk: GVK{"example.io/v1", "Widget"},
			want: `{
			  "type": "object", "required": ["spec"], "additionalProperties": false,
			  "properties": {
			    "apiVersion": {"type": "string", "enum": ["example.io/v1"]},
			    "kind": {"type": "string", "enum": ["Widget"]},
			    "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
			    "spec": {"type": "object", "additionalProperties": false, "properties": {
			      "size": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
			      "port": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
			      "tree": {"$ref": "#/definitions/io.example.v1.Node"}
			    }}
			  },
			  "definitions": {
			    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": OBJECTMETA,
			    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"oneOf": [{"type": "string"}, {"type": "number"}]},
			    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"oneOf": [{"type": "integer"}, {"type": "string"}]},
			    "io.example.v1.Node": {"type": "object", "additionalProperties": false, "properties": {
			      "children": {"type": "array", "items": {"$ref": "#/definitions/io.example.v1.Node"}},
			      "description": {"type": "string"}
			    }}
			  }
			}`,
		},
		{
			// The core group's apiVersion has no group part.
			gvk: GVK{"v1", "Gadget"},
			want: `{"type": "object", "additionalProperties": false, "properties": {
			  "apiVersion": {"type": "string", "enum": ["v1"]}, "kind": {"type": "string", "enum": ["Gadget"]}}}`,
		},
		{
			// A CRD: metadata checked as ObjectMeta, int-or-string, nullable,
			// preserve-unknown-fields left open, CEL rules dropped.
			gvk: GVK{"example.io/v1", "Probe"},
			want: `{
			  "type": "object", "additionalProperties": false,
			  "properties": {
			    "apiVersion": {"type": "string", "enum": ["example.io/v1"]},
			    "kind": {"type": "string", "enum": ["Probe"]},
			    "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
			    "spec": {"type": "object", "additionalProperties": false, "properties": {
			      "target": {"pattern": "^[0-9]+%?$", "oneOf": [{"type": "integer"}, {"type": "string"}]},
			      "note": {"type": ["string", "null"]},
			      "extra": {"type": "object", "properties": {"known": {"type": "string"}}}
			    }}
			  },
			  "definitions": {"io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": OBJECTMETA}
			}`,
		},
	} {
		t.Run(tc.gvk.String(), func(t *testing.T) {
			got, err := c.Schema(tc.gvk)
			if err != nil {
				t.Fatal(err)
			}
			om, _ := json.Marshal(objectMeta)
			var want map[string]any
			if err := json.Unmarshal([]byte(strings.ReplaceAll(tc.want, "OBJECTMETA", string(om))), &want); err != nil {
				t.Fatal(err)
			}
			// Compare as JSON values, the form kubeconform reads.
			b, _ := json.Marshal(got)
			var gotJSON map[string]any
			json.Unmarshal(b, &gotJSON)
			if d := cmp.Diff(want, gotJSON); d != "" {
				t.Errorf("schema (-want +got):\n%s", d)
			}
		})
	}
	if _, err := c.Schema(GVK{"example.io/v2", "Widget"}); err == nil {
		t.Error("an unknown version got a schema")
	}
}

func TestNewCatalogErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		swagger string
		crd     string
		want    string
	}{
		"not json":       {swagger: `{`, want: "openapi document"},
		"no definitions": {swagger: `{"definitions": {}}`, want: "no definitions"},
		"no ObjectMeta":  {swagger: `{"definitions": {"x": {}}}`, want: "lacks " + objectMetaDef},
		"not a CRD":      {swagger: testSwagger, crd: "kind: ConfigMap\n", want: "not a CustomResourceDefinition"},
		"CRD without schema": {swagger: testSwagger,
			crd: "kind: CustomResourceDefinition\nspec: {group: a.io, names: {kind: A}, versions: [{name: v1}]}\n", want: "no openAPIV3Schema"},
	} {
		t.Run(name, func(t *testing.T) {
			var crds [][]byte
			if tc.crd != "" {
				crds = append(crds, []byte(tc.crd))
			}
			_, err := NewCatalog([]byte(tc.swagger), crds...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestManifestKinds(t *testing.T) {
	got, err := ManifestKinds([]byte("apiVersion: v1\nkind: Service\n---\n---\napiVersion: apps/v1\nkind: Deployment\n"),
		[]byte("apiVersion: v1\nkind: Service\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []GVK{{"apps/v1", "Deployment"}, {"v1", "Service"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("kinds (-want +got):\n%s", d)
	}
	if _, err := ManifestKinds([]byte("metadata: {name: x}\n")); err == nil {
		t.Error("a document without apiVersion and kind was accepted")
	}
}
