package env

import "github.com/akssec/akssec/internal/snapshot"

// Apply returns the Environment as it would be after objs are applied
// (kubectl apply): each object replaces the snapshot's object of the same
// group, kind, namespace and name, or is added. e is not changed.
func (e *Environment) Apply(objs []*snapshot.Object) *Environment {
	if len(objs) == 0 {
		return e
	}
	replaced := make(map[key]bool, len(objs))
	for _, o := range objs {
		replaced[key{o.Group, o.Kind, o.Namespace, o.Name}] = true
	}
	s := *e.Snapshot
	s.Objects = make([]*snapshot.Object, 0, len(e.Snapshot.Objects)+len(objs))
	for _, o := range e.Snapshot.Objects {
		if !replaced[key{o.Group, o.Kind, o.Namespace, o.Name}] {
			s.Objects = append(s.Objects, o)
		}
	}
	s.Objects = append(s.Objects, objs...)
	return New(&s)
}
