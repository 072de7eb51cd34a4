package gatekeeper

import (
	"bytes"
	"encoding/json"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The constraint CRD that Gatekeeper makes from a template has the
// template's openAPIV3Schema as the schema of spec.parameters, and the API
// server applies that structural schema's defaults to every constraint
// (the frameworks client does too: templateClient.ApplyDefaultParams).
// Constraints read from a live cluster already hold them; constraints from
// manifests do not, so the engine applies them.

// applyParameterDefaults applies the defaults of the template's parameters
// schema to the constraint's spec.parameters, when the constraint has
// spec.parameters (as the API server does, a missing spec.parameters is
// not created). The constraint's object is copied, never changed.
func applyParameterDefaults(c *Constraint, schema map[string]any) error {
	if schema == nil || c.Object == nil {
		return nil
	}
	p, found, err := unstructured.NestedFieldNoCopy(c.Object.Object, "spec", "parameters")
	if err != nil || !found {
		return nil
	}
	if _, ok := p.(map[string]any); !ok {
		return nil
	}
	obj := c.Object.DeepCopy()
	params := obj.Object["spec"].(map[string]any)["parameters"].(map[string]any)
	if !defaultValue(params, schema) {
		return nil
	}
	v, err := ast.InterfaceToValue(params)
	if err != nil {
		return err
	}
	c.Object, c.Parameters, c.params = obj, params, v
	return nil
}

// defaultValue is the API server's structural defaulting
// (apiextensions-apiserver pkg/apiserver/schema/defaulting.Default) on one
// value: a property with a default is set when missing, or null and not
// nullable, then every property, additionalProperties value and item is
// defaulted in turn. It reports whether it changed anything.
func defaultValue(x any, s map[string]any) bool {
	if s == nil {
		return false
	}
	changed := false
	switch x := x.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		for k, ps := range props {
			prop, _ := ps.(map[string]any)
			d, hasDefault := prop["default"]
			if !hasDefault || d == nil {
				continue
			}
			if v, found := x[k]; !found || isNonNullableNull(v, prop) {
				x[k] = deepCopyJSON(d)
				changed = true
			}
		}
		addl, _ := s["additionalProperties"].(map[string]any)
		for k := range x {
			if ps, found := props[k]; found {
				prop, _ := ps.(map[string]any)
				changed = defaultValue(x[k], prop) || changed
			} else if addl != nil {
				if d, ok := addl["default"]; ok && d != nil && isNonNullableNull(x[k], addl) {
					x[k] = deepCopyJSON(d)
					changed = true
				}
				changed = defaultValue(x[k], addl) || changed
			}
		}
	case []any:
		items, _ := s["items"].(map[string]any)
		if items == nil {
			return false
		}
		for i := range x {
			if d, ok := items["default"]; ok && d != nil && isNonNullableNull(x[i], items) {
				x[i] = deepCopyJSON(d)
				changed = true
			}
			changed = defaultValue(x[i], items) || changed
		}
	}
	return changed
}

func isNonNullableNull(x any, s map[string]any) bool {
	nullable, _ := s["nullable"].(bool)
	return x == nil && !nullable
}

// deepCopyJSON copies a JSON-shaped value through JSON, with numbers as
// an unstructured object holds them (int64, else float64).
func deepCopyJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return v
	}
	return numbers(out)
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
