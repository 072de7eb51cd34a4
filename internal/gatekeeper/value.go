package gatekeeper

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
)

// toValue converts a JSON-shaped Go value (maps, slices, strings,
// json.Number, float64, int64, bool, nil) to an ast.Value without the
// reflection and JSON round trips ast.InterfaceToValue may take.
func toValue(v any) (ast.Value, error) {
	switch x := v.(type) {
	case nil:
		return ast.NullValue, nil
	case string:
		return ast.String(x), nil
	case bool:
		return ast.Boolean(x), nil
	case json.Number:
		return ast.Number(x), nil
	case float64:
		return ast.FloatNumberTerm(x).Value, nil
	case int64:
		return ast.IntNumberTerm(int(x)).Value, nil
	case int:
		return ast.IntNumberTerm(x).Value, nil
	case []any:
		terms := make([]*ast.Term, len(x))
		for i, e := range x {
			ev, err := toValue(e)
			if err != nil {
				return nil, err
			}
			terms[i] = ast.NewTerm(ev)
		}
		return ast.NewArray(terms...), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		kvs := make([][2]*ast.Term, len(keys))
		for i, k := range keys {
			ev, err := toValue(x[k])
			if err != nil {
				return nil, err
			}
			kvs[i] = [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(ev)}
		}
		return ast.NewObject(kvs...), nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return toValue(m)
	case []string:
		l := make([]any, len(x))
		for i, s := range x {
			l[i] = s
		}
		return toValue(l)
	}
	v2, err := ast.InterfaceToValue(v)
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", v, err)
	}
	return v2, nil
}
