package fakemodel

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
)

// SchemaDiff counts, per JSON Schema keyword, how a client's copy of a
// tool's input schema differs from the server's: keywords it dropped,
// added, or whose value it changed. Property names count under
// "properties.NAME" when a whole property is dropped or added.
type SchemaDiff struct {
	Stripped, Added, Changed map[string]int
}

// NewSchemaDiff returns an empty diff.
func NewSchemaDiff() SchemaDiff {
	return SchemaDiff{Stripped: map[string]int{}, Added: map[string]int{}, Changed: map[string]int{}}
}

// Compare adds the differences between ours and theirs to d.
func (d SchemaDiff) Compare(ours, theirs json.RawMessage) {
	var a, b any
	_ = json.Unmarshal(ours, &a)
	_ = json.Unmarshal(theirs, &b)
	d.walk(a, b)
}

// Empty reports whether no difference was seen.
func (d SchemaDiff) Empty() bool {
	return len(d.Stripped) == 0 && len(d.Added) == 0 && len(d.Changed) == 0
}

// subschemaMaps hold name → schema (each value is a schema).
var subschemaMaps = map[string]bool{"properties": true, "patternProperties": true, "$defs": true, "definitions": true}

// subschemas hold one schema, or a list of them.
var subschemas = map[string]bool{"items": true, "additionalProperties": true, "not": true,
	"anyOf": true, "oneOf": true, "allOf": true, "prefixItems": true, "contains": true}

func (d SchemaDiff) walk(a, b any) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		if !reflect.DeepEqual(a, b) {
			d.Changed["(schema)"]++
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(am)) {
		bv, ok := bm[k]
		switch {
		case !ok:
			d.Stripped[k]++
		case subschemaMaps[k]:
			d.walkMap(k, am[k], bv)
		case subschemas[k]:
			d.walkSub(k, am[k], bv)
		case !reflect.DeepEqual(am[k], bv):
			d.Changed[k]++
		}
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			d.Added[k]++
		}
	}
}

func (d SchemaDiff) walkMap(key string, a, b any) {
	am, _ := a.(map[string]any)
	bm, ok := b.(map[string]any)
	if !ok {
		d.Changed[key]++
		return
	}
	for name, sub := range am {
		if bsub, ok := bm[name]; ok {
			d.walk(sub, bsub)
		} else {
			d.Stripped[key+"."+name]++
		}
	}
	for name := range bm {
		if _, ok := am[name]; !ok {
			d.Added[key+"."+name]++
		}
	}
}

func (d SchemaDiff) walkSub(key string, a, b any) {
	al, aok := a.([]any)
	bl, bok := b.([]any)
	switch {
	case aok && bok && len(al) == len(bl):
		for i := range al {
			d.walk(al[i], bl[i])
		}
	case aok || bok:
		if !reflect.DeepEqual(a, b) {
			d.Changed[key]++
		}
	default:
		_, am := a.(map[string]any)
		_, bm := b.(map[string]any)
		if am && bm {
			d.walk(a, b)
		} else if !reflect.DeepEqual(a, b) {
			d.Changed[key]++
		}
	}
}
