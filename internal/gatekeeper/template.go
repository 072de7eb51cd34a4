package gatekeeper

import (
	"errors"
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/source"
)

// RegoEngine is the code engine name of Gatekeeper's Rego driver.
const RegoEngine = "Rego"

// Target is the only Gatekeeper target akssec evaluates.
const Target = "admission.k8s.gatekeeper.sh"

// ErrNoRego is returned for a template whose target has neither
// K8sNativeValidation code nor a Rego source.
var ErrNoRego = errors.New("could not extract Rego from the constraint template")

// Template is a compiled ConstraintTemplate.
type Template struct {
	Name        string // metadata.name
	Kind        string // spec.crd.spec.names.kind: the constraint kind
	Loc         source.Location
	APIVersion  string
	Annotations map[string]string
	// RegoVersion is v1 only when the template's code says
	// `source.version: "v1"`; the legacy `rego:` field is always v0.
	RegoVersion ast.RegoVersion
	Rego        string
	Libs        []string
	// UsesInventory is true when the Rego reads data.inventory.
	UsesInventory bool
	// ParametersSchema is spec.crd.spec.validation.openAPIV3Schema: the
	// schema of the constraints' spec.parameters.
	ParametersSchema map[string]any
	// Operations are the target's operations: the admission operations the
	// webhook runs the template for (none: every operation).
	Operations []string

	// Engine is the code engine that decides: CELEngine when the target
	// has K8sNativeValidation code, else RegoEngine.
	Engine string

	cel       *celProgram
	compiler  *ast.Compiler
	query     ast.Body
	resultVar ast.Var
	prefilter Prefilter
}

// The frameworks driver runs templates through a hook module that, for each
// constraint, evaluates data.template.violation with input {review,
// parameters} and keeps results with a msg, defaulting details to {}. The
// engine evaluates data.template.violation directly once per constraint with
// the same input (a `with input as` in a hook defeats OPA's caching of the
// template's partial rules) and applies the hook's msg/details rules in Go:
// the results are the same.

var (
	dataRef      = ast.Ref{ast.VarTerm("data")}
	libRef       = ast.Ref{ast.VarTerm("data"), ast.StringTerm("lib")}
	inventoryRef = ast.Ref{ast.VarTerm("data"), ast.StringTerm("inventory")}
	inputRef     = ast.Ref{ast.VarTerm("input")}
	futureRef    = ast.Ref{ast.VarTerm("future")}
	regoRef      = ast.Ref{ast.VarTerm("rego")}
)

// ParseTemplate reads a ConstraintTemplate (templates.gatekeeper.sh v1,
// v1beta1 or v1alpha1) and compiles its admission target, as the frameworks
// Rego driver does: the entry module is renamed to data.template, it must
// define `violation`, libs must live under data.lib, data references are
// limited to data.lib and data.inventory, and the modules are compiled
// together with the hook. The returned Template is immutable and safe for
// concurrent evaluation.
func ParseTemplate(obj *unstructured.Unstructured, loc source.Location) (*Template, error) {
	t := &Template{Name: obj.GetName(), Loc: loc, APIVersion: obj.GetAPIVersion(), Annotations: obj.GetAnnotations()}
	kind, _, _ := unstructured.NestedString(obj.Object, "spec", "crd", "spec", "names", "kind")
	if kind == "" {
		return nil, fmt.Errorf("template %s: spec.crd.spec.names.kind is required", t.Name)
	}
	t.Kind = kind
	if !strings.EqualFold(kind, t.Name) {
		return nil, fmt.Errorf("template %s: metadata.name must be the lower-case of the kind %q (%s)", t.Name, kind, strings.ToLower(kind))
	}
	targets, _, _ := unstructured.NestedSlice(obj.Object, "spec", "targets")
	if len(targets) != 1 {
		return nil, fmt.Errorf("template %s: expected exactly one target, got %d", t.Name, len(targets))
	}
	tgt, _ := targets[0].(map[string]any)
	if name, _ := tgt["target"].(string); name != Target {
		return nil, fmt.Errorf("template %s: target %q is not %s", t.Name, name, Target)
	}
	if ps, ok, _ := unstructured.NestedFieldNoCopy(obj.Object, "spec", "crd", "spec", "validation", "openAPIV3Schema"); ok {
		t.ParametersSchema, _ = ps.(map[string]any)
	}
	t.Operations = stringSlice(tgt["operations"])
	for _, op := range t.Operations {
		if op == "*" && len(t.Operations) > 1 {
			// gatekeeper pkg/webhook/policy.go validateTemplate
			return nil, fmt.Errorf("template %s: if '*' is present, must not specify other operations", t.Name)
		}
	}
	switch src, err := celCode(tgt); {
	case err == nil:
		// CEL wins over Rego, as Gatekeeper's driver priority has it.
		if t.cel, err = compileCEL(src, t.Name); err != nil {
			return nil, fmt.Errorf("template %s: %w", t.Name, err)
		}
		t.Engine = CELEngine
		return t, nil
	case err != errNoCEL:
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	t.Engine = RegoEngine
	if err := t.readSource(tgt); err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	if err := t.compile(); err != nil {
		return nil, fmt.Errorf("template %s: %w", t.Name, err)
	}
	return t, nil
}

// MatchesOperation reports whether the webhook runs the template for an
// admission operation (frameworks templateClient.MatchesOperation: every
// operation when the target lists none, or lists "*").
func (t *Template) MatchesOperation(op string) bool {
	if len(t.Operations) == 0 {
		return true
	}
	for _, o := range t.Operations {
		if o == op || o == "*" {
			return true
		}
	}
	return false
}

// readSource takes the Rego of the target: the `code` entry with engine
// Rego when there is one, else the legacy rego/libs fields.
func (t *Template) readSource(tgt map[string]any) error {
	if code, ok := tgt["code"].([]any); ok {
		for _, c := range code {
			cm, _ := c.(map[string]any)
			if eng, _ := cm["engine"].(string); eng != "Rego" {
				continue
			}
			src, _ := cm["source"].(map[string]any)
			t.Rego, _ = src["rego"].(string)
			t.Libs = stringSlice(src["libs"])
			if v, _ := src["version"].(string); v == "v1" {
				t.RegoVersion = ast.RegoV1
			} else {
				t.RegoVersion = ast.RegoV0
			}
			if t.Rego == "" {
				return ErrNoRego
			}
			return nil
		}
	}
	r, _ := tgt["rego"].(string)
	if r == "" {
		return ErrNoRego
	}
	t.Rego, t.Libs, t.RegoVersion = r, stringSlice(tgt["libs"]), ast.RegoV0
	return nil
}

func (t *Template) compile() error {
	opts := ast.ParserOptions{RegoVersion: t.RegoVersion}
	entry, err := ast.ParseModuleWithOpts("template", t.Rego, opts)
	if err != nil {
		return fmt.Errorf("invalid rego: %w", err)
	}
	if entry == nil {
		return errors.New(`invalid rego: module "template" is empty`)
	}
	entry.Package.Path = ast.Ref{ast.VarTerm("data"), ast.StringTerm("template")}
	hasViolation := false
	for _, r := range entry.Rules {
		if r.Head.Name == "violation" || (len(r.Head.Reference) > 0 && r.Head.Reference[0].Value.Compare(ast.Var("violation")) == 0) {
			hasViolation = true
		}
	}
	if !hasViolation {
		return errors.New("invalid rego: invalid module: missing required rules: [violation]")
	}
	mods := map[string]*ast.Module{"template0": entry}
	all := []*ast.Module{entry}
	for i, src := range t.Libs {
		m, err := ast.ParseModuleWithOpts(fmt.Sprintf(`libs["lib_%d"]`, i), src, opts)
		if err != nil {
			return fmt.Errorf("invalid lib %d: %w", i, err)
		}
		if m == nil {
			return fmt.Errorf("invalid lib %d: module is empty", i)
		}
		if !m.Package.Path.HasPrefix(libRef) || m.Package.Path.Equal(libRef) {
			return fmt.Errorf("invalid libs: path %s not found in lib prefixes", m.Package.Path)
		}
		mods[fmt.Sprintf("template%d", i+1)] = m
		all = append(all, m)
	}
	for _, m := range all {
		if err := checkModule(m); err != nil {
			return err
		}
		ast.WalkRefs(m, func(r ast.Ref) bool {
			if r.HasPrefix(inventoryRef) {
				t.UsesInventory = true
			}
			return false
		})
	}
	c := ast.NewCompiler().WithCapabilities(capabilities)
	c.Compile(mods)
	if c.Failed() {
		return fmt.Errorf("compiling: %v", c.Errors)
	}
	t.compiler = c
	qc := c.QueryCompiler()
	q, err := qc.Compile(ast.NewBody(ast.NewExpr(ast.RefTerm(ast.VarTerm("data"), ast.StringTerm("template"), ast.StringTerm("violation"), ast.VarTerm("result")))))
	if err != nil {
		return fmt.Errorf("preparing: %w", err)
	}
	t.query = q
	t.resultVar = ast.Var("result")
	for k, v := range qc.RewrittenVars() {
		if v == t.resultVar {
			t.resultVar = k
		}
	}
	return nil
}

var capabilities = ast.CapabilitiesForThisVersion()

// checkModule applies the frameworks regorewriter's checks: imports only
// of data.lib, future keywords or rego.v1, never input; data references
// only to data.lib and data.inventory.
func checkModule(m *ast.Module) error {
	for _, imp := range m.Imports {
		ref, ok := imp.Path.Value.(ast.Ref)
		if !ok {
			return fmt.Errorf("invalid import: %s", imp.Path)
		}
		switch {
		case ref.HasPrefix(inputRef):
			return fmt.Errorf("invalid import: cannot import input: %q", ref)
		case ref.HasPrefix(libRef), ref.HasPrefix(futureRef), ref.HasPrefix(regoRef):
		default:
			return fmt.Errorf("invalid import: bad import: %q", ref)
		}
	}
	var errs []string
	for _, r := range m.Rules {
		ast.WalkRefs(r, func(ref ast.Ref) bool {
			if ref.HasPrefix(dataRef) && !ref.HasPrefix(libRef) && !ref.HasPrefix(inventoryRef) {
				errs = append(errs, fmt.Sprintf("disallowed ref %s", ref))
			}
			return true
		})
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid data references: check refs failed on module %s: %s", m.Package.Path, strings.Join(errs, ", "))
	}
	return nil
}

func stringSlice(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
