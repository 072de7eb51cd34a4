package gatekeeper

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Match is a constraint's spec.match, with Gatekeeper's semantics
// (pkg/mutation/match/match.go): every present matcher must match, in the
// order kinds, scope, namespaces, excludedNamespaces, labelSelector,
// namespaceSelector, name, source.
type Match struct {
	Kinds              []Kinds               `json:"kinds,omitempty"`
	Scope              string                `json:"scope,omitempty"`
	Namespaces         []Wildcard            `json:"namespaces,omitempty"`
	ExcludedNamespaces []Wildcard            `json:"excludedNamespaces,omitempty"`
	LabelSelector      *metav1.LabelSelector `json:"labelSelector,omitempty"`
	NamespaceSelector  *metav1.LabelSelector `json:"namespaceSelector,omitempty"`
	Name               Wildcard              `json:"name,omitempty"`
	Source             string                `json:"source,omitempty"`

	labelSel, nsSel labels.Selector
}

// Kinds is one spec.match.kinds entry.
type Kinds struct {
	APIGroups []string `json:"apiGroups,omitempty"`
	Kinds     []string `json:"kinds,omitempty"`
}

// Wildcard is a name that may start or end with `*` (prefix, suffix or
// contains glob, gatekeeper pkg/wildcard).
type Wildcard string

// Matches reports whether the candidate matches the glob.
func (w Wildcard) Matches(candidate string) bool {
	s := string(w)
	switch {
	case strings.HasPrefix(s, "*") && strings.HasSuffix(s, "*"):
		return strings.Contains(candidate, strings.TrimSuffix(strings.TrimPrefix(s, "*"), "*"))
	case strings.HasPrefix(s, "*"):
		return strings.HasSuffix(candidate, strings.TrimPrefix(s, "*"))
	case strings.HasSuffix(s, "*"):
		return strings.HasPrefix(candidate, strings.TrimSuffix(s, "*"))
	default:
		return s == candidate
	}
}

// MatchesGenerateName matches a generateName: only prefix globs can.
func (w Wildcard) MatchesGenerateName(candidate string) bool {
	s := string(w)
	switch {
	case strings.HasPrefix(s, "*") && strings.HasSuffix(s, "*"):
		return strings.Contains(candidate, strings.TrimSuffix(strings.TrimPrefix(s, "*"), "*"))
	case strings.HasSuffix(s, "*"):
		return strings.HasPrefix(candidate, strings.TrimSuffix(s, "*"))
	default:
		return false
	}
}

// Source types of the object under review (Gatekeeper expansion).
const (
	SourceOriginal  = "Original"
	SourceGenerated = "Generated"
	SourceAll       = "All"
)

// ParseMatch reads spec.match as Gatekeeper does (a JSON round trip into
// the Match type) and validates its selectors.
func ParseMatch(m map[string]any) (*Match, error) {
	out := &Match{}
	if m == nil {
		return out, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("could not convert unknown object to JSON: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, fmt.Errorf("could not convert JSON to Match: %w", err)
	}
	if out.LabelSelector != nil {
		if out.labelSel, err = metav1.LabelSelectorAsSelector(out.LabelSelector); err != nil {
			return nil, fmt.Errorf("spec.match.labelSelector: %w", err)
		}
	}
	if out.NamespaceSelector != nil {
		if out.nsSel, err = metav1.LabelSelectorAsSelector(out.NamespaceSelector); err != nil {
			return nil, fmt.Errorf("spec.match.namespaceSelector: %w", err)
		}
	}
	switch out.Scope {
	case "", "*", "Cluster", "Namespaced":
	default:
		return nil, fmt.Errorf("spec.match.scope: unsupported value %q", out.Scope)
	}
	switch out.Source {
	case "", SourceAll, SourceOriginal, SourceGenerated:
	default:
		return nil, fmt.Errorf("invalid source field %q", out.Source)
	}
	return out, nil
}

// MatchTarget is what a match is decided on: the object's identity and labels,
// its Namespace object, and its source.
type MatchTarget struct {
	Group, Kind  string
	Namespace    string // metadata.namespace ("" for cluster-scoped objects)
	Name         string
	GenerateName string
	Labels       map[string]string
	// NamespaceObject is the object's Namespace (nil when cluster-scoped or
	// not known).
	NamespaceObject *corev1.Namespace
	Source          string
}

// ErrMissingNamespace is the match error Gatekeeper raises for a
// namespaceSelector on a namespaced object whose Namespace is unknown.
var ErrMissingNamespace = errors.New("namespace selector for namespace-scoped object but missing Namespace")

func (t *MatchTarget) isNamespace() bool { return t.Kind == "Namespace" && t.Group == "" }

// Matches decides whether the constraint applies to the target.
func (m *Match) Matches(t *MatchTarget) (bool, error) {
	if m == nil {
		return true, nil
	}
	isNS := t.isNamespace()
	// kinds
	if len(m.Kinds) > 0 {
		ok := false
		for _, k := range m.Kinds {
			if (len(k.Kinds) == 0 || has(k.Kinds, "*") || has(k.Kinds, t.Kind)) &&
				(len(k.APIGroups) == 0 || has(k.APIGroups, "*") || has(k.APIGroups, t.Group)) {
				ok = true
				break
			}
		}
		if !ok {
			return false, nil
		}
	}
	// scope
	hasNS := t.Namespace != "" || t.NamespaceObject != nil
	switch m.Scope {
	case "Cluster":
		if !(isNS || !hasNS) {
			return false, nil
		}
	case "Namespaced":
		if !(!isNS && hasNS) {
			return false, nil
		}
	}
	// namespaces, excludedNamespaces
	ns, nsKnown := "", true
	switch {
	case isNS:
		ns = t.Name
	case t.NamespaceObject != nil:
		ns = t.NamespaceObject.Name
	case t.Namespace != "":
		ns = t.Namespace
	default:
		nsKnown = false
	}
	if len(m.Namespaces) > 0 && nsKnown {
		ok := false
		for _, w := range m.Namespaces {
			if w.Matches(ns) {
				ok = true
				break
			}
		}
		if !ok {
			return false, nil
		}
	}
	if len(m.ExcludedNamespaces) > 0 && nsKnown {
		for _, w := range m.ExcludedNamespaces {
			if w.Matches(ns) {
				return false, nil
			}
		}
	}
	// labelSelector
	if m.labelSel != nil && !m.labelSel.Matches(labels.Set(t.Labels)) {
		return false, nil
	}
	// namespaceSelector
	if m.nsSel != nil {
		switch {
		case isNS:
			if !m.nsSel.Matches(labels.Set(t.Labels)) {
				return false, nil
			}
		case t.NamespaceObject == nil && t.Namespace == "":
		case t.NamespaceObject == nil:
			return false, ErrMissingNamespace
		default:
			if !m.nsSel.Matches(labels.Set(t.NamespaceObject.Labels)) {
				return false, nil
			}
		}
	}
	// name
	if m.Name != "" && !m.Name.Matches(t.Name) && !m.Name.MatchesGenerateName(t.GenerateName) {
		return false, nil
	}
	// source
	src := m.Source
	if src == "" {
		src = SourceAll
	}
	if src != SourceAll {
		if t.Source == "" {
			return false, fmt.Errorf("source field not specified for resource %s", t.Name)
		}
		if src != t.Source {
			return false, nil
		}
	}
	return true, nil
}

func has(set []string, s string) bool {
	for _, v := range set {
		if v == s {
			return true
		}
	}
	return false
}
