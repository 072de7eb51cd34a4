// Package finding is the common result of every layer's checks: a
// misconfiguration with a stable rule ID, a severity, the object and its
// place in the snapshot, the evidence, and the fix. Reports render findings;
// layers produce them; nothing else decides their shape.
package finding

import (
	"fmt"
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/source"
)

// Severity orders findings for the CI gate (--fail-on).
type Severity int

// Severities, lowest first.
const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = []string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// ParseSeverity reads a severity name, case-insensitively.
func ParseSeverity(name string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(n, name) {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q, expected one of %s", name, strings.Join(severityNames, ", "))
}

// Layer names the seed's defense-in-depth layers; every finding belongs to
// one.
type Layer string

// The layers, in the order of the scorecard.
const (
	LayerEntra       Layer = "entra"
	LayerAPIServer   Layer = "apiserver-auth"
	LayerRBAC        Layer = "rbac"
	LayerNetwork     Layer = "network"
	LayerPodSecurity Layer = "pod-security"
	LayerSecrets     Layer = "keyvault-secrets"
	LayerImages      Layer = "images"
)

// Layers lists every layer in scorecard order.
var Layers = []Layer{LayerEntra, LayerAPIServer, LayerRBAC, LayerNetwork, LayerPodSecurity, LayerSecrets, LayerImages}

// Object names the object a finding is about.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (o Object) String() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

// Evidence is one fact the finding rests on, at its place.
type Evidence struct {
	Loc  source.Location `json:"location"`
	Text string          `json:"text"`
}

// Finding is one misconfiguration.
type Finding struct {
	RuleID   string          `json:"ruleID"`
	Severity Severity        `json:"severity"`
	Layer    Layer           `json:"layer"`
	Object   Object          `json:"object"`
	Loc      source.Location `json:"location"`
	// Reason says what is wrong in one sentence.
	Reason   string     `json:"reason"`
	Evidence []Evidence `json:"evidence,omitempty"`
	// Fix says what to change, as a command or YAML where one exists.
	Fix string `json:"fix"`
}

// Key identifies a finding across runs for baselines and suppressions:
// rule and object, not location (which moves when files are edited).
func (f *Finding) Key() string { return f.RuleID + " " + f.Object.String() }

// Sort orders findings by severity (highest first), then rule, then object.
func Sort(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.RuleID != b.RuleID {
			return a.RuleID < b.RuleID
		}
		return a.Object.String() < b.Object.String()
	})
}

// Rule describes a check: its stable ID, layer, default severity and what
// it looks for. Each layer keeps a registry of its rules as data.
type Rule struct {
	ID       string
	Layer    Layer
	Severity Severity
	Title    string
}

// Registry is a validated set of rules.
type Registry struct {
	rules map[string]Rule
	order []string
}

// NewRegistry validates rules: IDs are unique, non-empty and of the form
// AKS-<AREA>-<NNN>, and each names a known layer.
func NewRegistry(rules ...Rule) (*Registry, error) {
	r := &Registry{rules: map[string]Rule{}}
	for _, rule := range rules {
		if rule.ID == "" || !strings.HasPrefix(rule.ID, "AKS-") {
			return nil, fmt.Errorf("rule %q: IDs start with AKS-", rule.ID)
		}
		if _, dup := r.rules[rule.ID]; dup {
			return nil, fmt.Errorf("rule %s registered twice", rule.ID)
		}
		known := false
		for _, l := range Layers {
			known = known || l == rule.Layer
		}
		if !known {
			return nil, fmt.Errorf("rule %s: unknown layer %q", rule.ID, rule.Layer)
		}
		r.rules[rule.ID] = rule
		r.order = append(r.order, rule.ID)
	}
	return r, nil
}

// Rule returns the rule with the ID.
func (r *Registry) Rule(id string) (Rule, bool) { v, ok := r.rules[id]; return v, ok }

// Rules returns every rule in registration order.
func (r *Registry) Rules() []Rule {
	out := make([]Rule, len(r.order))
	for i, id := range r.order {
		out[i] = r.rules[id]
	}
	return out
}

// New makes a finding of rule at obj, with the rule's layer and severity.
func (rule Rule) New(obj Object, loc source.Location, reason, fix string, evidence ...Evidence) Finding {
	return Finding{RuleID: rule.ID, Severity: rule.Severity, Layer: rule.Layer, Object: obj, Loc: loc, Reason: reason, Evidence: evidence, Fix: fix}
}
