package gatekeeper

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/source"
)

// Enforcement actions.
const (
	ActionDeny   = "deny"
	ActionDryRun = "dryrun"
	ActionWarn   = "warn"
	ActionScoped = "scoped"
)

// EnforcementPoint is the admission webhook's enforcement point name.
const EnforcementPoint = "validation.gatekeeper.sh"

// Constraint is a parsed constraint (constraints.gatekeeper.sh).
type Constraint struct {
	Kind, Name  string
	Loc         source.Location
	Labels      map[string]string
	Annotations map[string]string
	Match       *Match
	Parameters  map[string]any
	// Action is spec.enforcementAction as written ("deny" when unset).
	Action string
	// Actions are the actions at the admission webhook: one of deny, dryrun,
	// warn for non-scoped constraints; for `scoped` the actions listed for
	// validation.gatekeeper.sh (or "*"), possibly none.
	Actions  []string
	Template *Template
	Object   *unstructured.Unstructured

	params ast.Value
	key    ast.Value
}

// ParseConstraint reads a constraint. Unknown enforcement actions are
// rejected as Gatekeeper does by default.
func ParseConstraint(obj *unstructured.Unstructured, loc source.Location) (*Constraint, error) {
	c := &Constraint{Kind: obj.GetKind(), Name: obj.GetName(), Loc: loc, Labels: obj.GetLabels(), Annotations: obj.GetAnnotations(), Object: obj}
	m, _, err := unstructured.NestedMap(obj.Object, "spec", "match")
	if err != nil {
		return nil, fmt.Errorf("constraint %s/%s: spec.match: %w", c.Kind, c.Name, err)
	}
	if c.Match, err = ParseMatch(m); err != nil {
		return nil, fmt.Errorf("constraint %s/%s: %w", c.Kind, c.Name, err)
	}
	p, found, err := unstructured.NestedFieldNoCopy(obj.Object, "spec", "parameters")
	if err != nil {
		return nil, fmt.Errorf("constraint %s/%s: spec.parameters: %w", c.Kind, c.Name, err)
	}
	if pm, ok := p.(map[string]any); ok && found {
		c.Parameters = pm
	} else if found && p != nil {
		return nil, fmt.Errorf("constraint %s/%s: spec.parameters must be an object", c.Kind, c.Name)
	}
	if c.Parameters == nil {
		c.Parameters = map[string]any{}
	}
	act, _, _ := unstructured.NestedString(obj.Object, "spec", "enforcementAction")
	if act == "" {
		act = ActionDeny
	}
	c.Action = act
	switch act {
	case ActionDeny, ActionDryRun, ActionWarn:
		c.Actions = []string{act}
	case ActionScoped:
		scoped, _, _ := unstructured.NestedSlice(obj.Object, "spec", "scopedEnforcementActions")
		for _, s := range scoped {
			sm, _ := s.(map[string]any)
			a, _ := sm["action"].(string)
			pts, _ := sm["enforcementPoints"].([]any)
			for _, pt := range pts {
				pm, _ := pt.(map[string]any)
				if n, _ := pm["name"].(string); n == EnforcementPoint || n == "*" {
					c.Actions = append(c.Actions, a)
					break
				}
			}
		}
	default:
		return nil, fmt.Errorf("constraint %s/%s: could not find the provided enforcementAction value %q within the supported list [deny dryrun scoped warn]", c.Kind, c.Name, act)
	}
	if c.params, err = ast.InterfaceToValue(c.Parameters); err != nil {
		return nil, fmt.Errorf("constraint %s/%s: spec.parameters: %w", c.Kind, c.Name, err)
	}
	c.key = ast.NewObject(
		[2]*ast.Term{ast.StringTerm("kind"), ast.StringTerm(c.Kind)},
		[2]*ast.Term{ast.StringTerm("name"), ast.StringTerm(c.Name)},
	)
	return c, nil
}

// Denies reports whether the constraint denies at admission.
func (c *Constraint) Denies() bool { return hasAction(c.Actions, ActionDeny) }

// Warns reports whether the constraint warns at admission.
func (c *Constraint) Warns() bool { return hasAction(c.Actions, ActionWarn) }

func hasAction(as []string, a string) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}
