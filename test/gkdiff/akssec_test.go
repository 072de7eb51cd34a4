package gkdiff

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/source"
)

// subject is akssec's engine under test.
type subject struct {
	e *gatekeeper.Engine
	// rejected are the templates and constraints the engine left out, by
	// "Kind/name", with the problem.
	rejected map[string]string
}

func newSubject(ctx context.Context, tmpls, constraints, data []*unstructured.Unstructured, opts gatekeeper.Options) (*subject, error) {
	items := func(us []*unstructured.Unstructured) []gatekeeper.Item {
		out := make([]gatekeeper.Item, len(us))
		for i, u := range us {
			out[i] = gatekeeper.Item{Loc: source.Location{File: u.GetName()}, Obj: u.DeepCopy()}
		}
		return out
	}
	if len(data) > 0 {
		inv := inventory(data)
		opts.Inventory = func() (map[string]any, error) { return inv, nil }
	}
	e, err := gatekeeper.New(ctx, items(tmpls), items(constraints), opts)
	if err != nil {
		return nil, err
	}
	s := &subject{e: e, rejected: map[string]string{}}
	for _, p := range e.Problems() {
		s.rejected[p.Object] = p.Message
	}
	return s, nil
}

// inventory is data.inventory as Gatekeeper's sync lays it out
// (gatekeeper pkg/target: cluster/<groupVersion>/<kind>/<name>,
// namespace/<ns>/<groupVersion>/<kind>/<name>).
func inventory(data []*unstructured.Unstructured) map[string]any {
	cluster, namespaced := map[string]any{}, map[string]any{}
	put := func(root map[string]any, keys []string, v any) {
		m := root
		for _, k := range keys[:len(keys)-1] {
			next, ok := m[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[k] = next
			}
			m = next
		}
		m[keys[len(keys)-1]] = v
	}
	for _, u := range data {
		obj := jsonRoundTrip(u.Object)
		if u.GetNamespace() == "" {
			put(cluster, []string{u.GetAPIVersion(), u.GetKind(), u.GetName()}, obj)
		} else {
			put(namespaced, []string{u.GetNamespace(), u.GetAPIVersion(), u.GetKind(), u.GetName()}, obj)
		}
	}
	return map[string]any{"cluster": cluster, "namespace": namespaced}
}

// jsonRoundTrip gives the generic JSON form with exact numbers.
func jsonRoundTrip(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		panic(err)
	}
	return m
}

func (s *subject) review(ctx context.Context, r *request) ([]violation, error) {
	u := &unstructured.Unstructured{Object: r.Object}
	src := gatekeeper.SourceOriginal
	if r.Generated {
		src = gatekeeper.SourceGenerated
	}
	obj := &gatekeeper.Object{
		Group: r.Group, Version: r.Version, Kind: r.Kind, Resource: r.Resource,
		Namespace: r.Namespace, Name: r.Name, GenerateName: u.GetGenerateName(), Labels: u.GetLabels(),
		Object: jsonRoundTrip(r.Object), NamespaceObject: r.NamespaceObject, Operation: r.Operation, Source: src,
	}
	rs, err := s.e.Review(ctx, obj)
	if err != nil {
		return nil, err
	}
	var out []violation
	for _, res := range rs {
		for _, a := range res.Constraint.Actions {
			out = append(out, violation{Constraint: res.Constraint.Kind + "/" + res.Constraint.Name, Msg: res.Msg, Action: a, Details: res.Details})
		}
	}
	return out, nil
}

func sortViolations(vs []violation) {
	sort.SliceStable(vs, func(i, j int) bool {
		a, b := vs[i], vs[j]
		if a.Constraint != b.Constraint {
			return a.Constraint < b.Constraint
		}
		if a.Msg != b.Msg {
			return a.Msg < b.Msg
		}
		if a.Action != b.Action {
			return a.Action < b.Action
		}
		da, _ := json.Marshal(a.Details)
		db, _ := json.Marshal(b.Details)
		return string(da) < string(db)
	})
}
