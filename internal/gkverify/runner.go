package gkverify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/source"
)

// GatorEnforcementPoint is the enforcement point gator reviews at: a
// scoped constraint counts only with actions listed for it (or "*").
const GatorEnforcementPoint = "gator.gatekeeper.sh"

// targetName is Gatekeeper's admission target.
const targetName = "admission.k8s.gatekeeper.sh"

// Runner runs Suites read from a file system (the one their Target was
// read from). It holds no state between runs and is safe for concurrent
// use.
type Runner struct {
	fsys fs.FS
}

// NewRunner returns a Runner reading files from fsys.
func NewRunner(fsys fs.FS) *Runner { return &Runner{fsys: fsys} }

// Run runs the tests of a Suite that the filter selects.
func (r *Runner) Run(ctx context.Context, f *Filter, s *Suite) SuiteResult {
	if s.Skip {
		return SuiteResult{Path: s.InputPath, Skipped: true}
	}
	start := time.Now()
	dir := path.Dir(s.AbsolutePath)
	res := SuiteResult{Path: s.InputPath, Tests: make([]TestResult, len(s.Tests))}
	for i := range s.Tests {
		t := &s.Tests[i]
		if t.Skip || !f.MatchesTest(t) {
			res.Tests[i] = TestResult{Name: t.Name, Skipped: true}
			continue
		}
		res.Tests[i] = r.runTest(ctx, dir, f, t)
	}
	res.Runtime = Duration(time.Since(start))
	return res
}

func (r *Runner) runTest(ctx context.Context, dir string, f *Filter, t *Test) TestResult {
	start := time.Now()
	p, err := r.prepare(ctx, dir, t)
	var cases []CaseResult
	switch {
	case t.Invalid:
		if errors.Is(err, ErrSchema) {
			err = nil
		} else {
			err = fmt.Errorf("%w: got error %w but want %w", ErrValidConstraint, err, ErrSchema)
		}
	case err == nil && t.Expansion != "":
		err = fmt.Errorf("%w: test %q has expansion %q", ErrExpansionSupported, t.Name, t.Expansion)
	case err == nil:
		cases = make([]CaseResult, len(t.Cases))
		for i, c := range t.Cases {
			if c.Skip || !f.MatchesCase(t.Name, c.Name) {
				cases[i] = CaseResult{Name: c.Name, Skipped: true}
				continue
			}
			cases[i] = r.runCase(ctx, dir, p, c)
		}
	}
	return TestResult{Name: t.Name, Err: err, Error: errString(err), Runtime: Duration(time.Since(start)), Cases: cases}
}

// prepared is a test's template and constraint as the engine takes them.
type prepared struct {
	template   gatekeeper.Item
	constraint gatekeeper.Item
	// inert is set for a scoped constraint with no action at gator's
	// enforcement point: it is never evaluated.
	inert bool
	// match is the constraint's match, decided here rather than by the
	// engine (see matches); the engine gets the constraint without it.
	match *gatekeeper.Match
}

// prepare reads, validates and compiles the template and the constraint,
// in gator's order, with gator's errors.
func (r *Runner) prepare(ctx context.Context, dir string, t *Test) (*prepared, error) {
	if t.Template == "" {
		return nil, fmt.Errorf("%w: missing template", ErrInvalidSuite)
	}
	tp := path.Join(dir, t.Template)
	b, err := fs.ReadFile(r.fsys, tp)
	if err != nil {
		return nil, fmt.Errorf("reading ConstraintTemplate from %q: %w", tp, err)
	}
	tmpl, err := readUnstructured(b)
	if err != nil {
		return nil, fmt.Errorf("%w: parsing ConstraintTemplate YAML from %q: %w", ErrAddingTemplate, tp, err)
	}
	gvk := tmpl.GroupVersionKind()
	if gvk.Group != "templates.gatekeeper.sh" || gvk.Kind != "ConstraintTemplate" {
		return nil, fmt.Errorf("path %q: %w", tp, ErrNotATemplate)
	}
	switch gvk.Version {
	case "v1", "v1beta1", "v1alpha1":
	default:
		return nil, fmt.Errorf("path %q: %w: no kind \"ConstraintTemplate\" is registered for version %q in scheme \"pkg/runtime/scheme.go:111\"", tp, ErrAddingTemplate, tmpl.GetAPIVersion())
	}
	if err := checkTemplate(tmpl, tp); err != nil {
		return nil, err
	}
	cs, err := newConstraintSchema(tmpl)
	if err != nil {
		return nil, fmt.Errorf("path %q: %w", tp, err)
	}
	p := &prepared{template: gatekeeper.Item{Loc: source.Location{File: "/" + tp, Line: 1}, Obj: forEngineTemplate(tmpl)}}
	eng, err := gatekeeper.New(ctx, []gatekeeper.Item{p.template}, nil, gatekeeper.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAddingTemplate, err)
	}
	if probs := eng.Problems(); len(probs) > 0 {
		return nil, templateProblem(tmpl, probs[0].Message)
	}

	if t.Constraint == "" {
		return nil, fmt.Errorf("%w: missing constraint", ErrInvalidSuite)
	}
	cp := path.Join(dir, t.Constraint)
	if b, err = fs.ReadFile(r.fsys, cp); err != nil {
		return nil, fmt.Errorf("reading Constraint from %q: %w", cp, err)
	}
	con, err := readUnstructured(b)
	if err != nil {
		return nil, fmt.Errorf("%w: parsing Constraint from %q: %w", ErrAddingConstraint, cp, err)
	}
	if con.GroupVersionKind().Group != constraintsGroup {
		return nil, ErrNotAConstraint
	}
	con, err = cs.admit(con)
	if err != nil {
		return nil, err
	}
	engCon, inert, err := forEngineConstraint(con)
	if err != nil {
		return nil, err
	}
	p.inert = inert
	m, _, err := unstructured.NestedMap(con.Object, "spec", "match")
	if err != nil {
		return nil, fmt.Errorf("%w: spec.match: %w", ErrInvalidConstraint, err)
	}
	if p.match, err = gatekeeper.ParseMatch(m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConstraint, err)
	}
	unstructured.RemoveNestedField(engCon.Object, "spec", "match")
	p.constraint = gatekeeper.Item{Loc: source.Location{File: "/" + cp, Line: 1}, Obj: engCon}
	eng, err = gatekeeper.New(ctx, []gatekeeper.Item{p.template}, []gatekeeper.Item{p.constraint}, gatekeeper.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAddingConstraint, err)
	}
	if probs := eng.Problems(); len(probs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidConstraint, probs[0].Message)
	}
	return p, nil
}

// forEngineTemplate drops the target's operations: the webhook runs a
// template only for its operations, but gator reviews at its own
// enforcement point, where every template runs.
func forEngineTemplate(tmpl *unstructured.Unstructured) *unstructured.Unstructured {
	out := tmpl.DeepCopy()
	// The client compares the name with the kind ignoring case; the
	// engine wants it lower-case.
	out.SetName(strings.ToLower(out.GetName()))
	targets, _, _ := unstructured.NestedSlice(out.Object, "spec", "targets")
	for _, tg := range targets {
		if m, ok := tg.(map[string]any); ok {
			delete(m, "operations")
		}
	}
	if targets != nil {
		_ = unstructured.SetNestedSlice(out.Object, targets, "spec", "targets")
	}
	return out
}

// forEngineConstraint returns the constraint with the enforcement action
// the engine evaluates at the webhook: gator counts every result whatever
// its action, so any action becomes deny; a scoped constraint counts only
// with an action for gator's enforcement point (inert otherwise).
func forEngineConstraint(c *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	act, found, err := unstructured.NestedString(c.Object, "spec", "enforcementAction")
	if err != nil {
		return nil, false, fmt.Errorf("%w: invalid spec.enforcementAction", ErrInvalidConstraint)
	}
	inert := false
	if found && act == gatekeeper.ActionScoped {
		raw, found, _ := unstructured.NestedFieldNoCopy(c.Object, "spec", "scopedEnforcementActions")
		if !found {
			return nil, false, fmt.Errorf("%w: spec.scopedEnforcementActions must be defined", ErrMissingField)
		}
		b, _ := json.Marshal(raw)
		var scoped []struct {
			Action            string `json:"action"`
			EnforcementPoints []struct {
				Name string `json:"name"`
			} `json:"enforcementPoints"`
		}
		if err := json.Unmarshal(b, &scoped); err != nil {
			return nil, false, fmt.Errorf("%w: %w", ErrInvalidConstraint, err)
		}
		inert = true
		for _, s := range scoped {
			for _, ep := range s.EnforcementPoints {
				if ep.Name == GatorEnforcementPoint || ep.Name == "*" {
					inert = false
				}
			}
		}
	}
	out := c.DeepCopy()
	_ = unstructured.SetNestedField(out.Object, gatekeeper.ActionDeny, "spec", "enforcementAction")
	unstructured.RemoveNestedField(out.Object, "spec", "scopedEnforcementActions")
	return out, inert, nil
}

func (r *Runner) runCase(ctx context.Context, dir string, p *prepared, c *Case) CaseResult {
	start := time.Now()
	msgs, err := r.checkCase(ctx, dir, p, c)
	return CaseResult{Name: c.Name, Err: err, Error: errString(err), Runtime: Duration(time.Since(start)), Messages: msgs}
}

func (r *Runner) checkCase(ctx context.Context, dir string, p *prepared, c *Case) ([]string, error) {
	if c.Object == "" {
		return nil, fmt.Errorf("%w: must define object", ErrInvalidCase)
	}
	if len(c.Assertions) == 0 {
		return nil, fmt.Errorf("%w: assertions must be non-empty", ErrInvalidCase)
	}
	msgs, err := r.review(ctx, dir, p, c)
	if err != nil {
		return nil, err
	}
	for i := range c.Assertions {
		if err := c.Assertions[i].Check(msgs); err != nil {
			return msgs, err
		}
	}
	return msgs, nil
}

// review reviews the case's object with the test's constraint and returns
// the messages of every result (all enforcement actions count).
func (r *Runner) review(ctx context.Context, dir string, p *prepared, c *Case) ([]string, error) {
	op := path.Join(dir, c.Object)
	objs, err := readObjects(r.fsys, op)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("%w: %q defines %d objects", ErrMultipleObjects, op, len(objs))
	}
	inv := newInventory()
	for _, ip := range c.Inventory {
		items, err := readObjects(r.fsys, path.Join(dir, ip))
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if err := inv.add(it); err != nil {
				// The client reports target errors as an error map: the
				// target's name, the error, a newline.
				return nil, fmt.Errorf("%w: %v %v/%v: %s: %w\n", ErrAddInventory, it.GroupVersionKind(), it.GetNamespace(), it.GetName(), targetName, err)
			}
		}
	}
	u := objs[0]
	var obj *reviewed
	if u.GetKind() == "AdmissionReview" && u.GroupVersionKind().Group == admissionv1.SchemeGroupVersion.Group {
		obj, err = admissionObject(u)
	} else {
		obj, err = plainObject(u)
	}
	if err != nil {
		return nil, err
	}
	if p.inert {
		return nil, nil
	}
	ok, merr := p.matches(obj, inv)
	if merr != nil {
		// The target could not match: Gatekeeper autorejects, a result.
		return []string{fmt.Sprintf("unable to match constraints: error matching the requested object: %s :failed to run Match criteria: %v", merr.name, merr.err)}, nil
	}
	if !ok {
		return nil, nil
	}
	eng, err := gatekeeper.New(ctx, []gatekeeper.Item{p.template}, []gatekeeper.Item{p.constraint}, gatekeeper.Options{
		Inventory: func() (map[string]any, error) { return inv.data, nil },
	})
	if err != nil {
		return nil, err
	}
	results, err := eng.Review(ctx, obj.Object)
	if err != nil {
		return nil, fmt.Errorf("reviewing %v %s/%s: %w", u.GroupVersionKind(), u.GetNamespace(), u.GetName(), err)
	}
	msgs := make([]string, 0, len(results))
	for _, res := range results {
		msgs = append(msgs, res.Msg)
	}
	// The client's Results() orders by enforcement action, then message;
	// a test has one constraint, so by message.
	sort.Strings(msgs)
	return msgs, nil
}

// plainObject is an object reviewed as gator reviews it: a request with
// the object's kind, name and namespace (no resource, no user, no
// namespace defaulting), from the Original source.
func plainObject(u *unstructured.Unstructured) (*reviewed, error) {
	m, err := gatekeeper.ToMap(u.Object)
	if err != nil {
		return nil, err
	}
	raw, err := u.MarshalJSON()
	if err != nil {
		return nil, err
	}
	gvk := u.GroupVersionKind()
	// gatekeeper pkg/target unstructuredToAdmissionRequest: no operation,
	// uid, resource or user.
	req := &admissionv1.AdmissionRequest{
		Kind:   metav1.GroupVersionKind{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind},
		Object: runtime.RawExtension{Raw: raw}, Name: u.GetName(), Namespace: u.GetNamespace(),
	}
	return &reviewed{
		Object: &gatekeeper.Object{
			Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
			Namespace: u.GetNamespace(), Name: u.GetName(), GenerateName: u.GetGenerateName(), Labels: u.GetLabels(),
			Object: m, Source: "Original", Request: req,
		},
		namespace: u.GetNamespace(),
		matchOn:   []*unstructured.Unstructured{u},
	}, nil
}

// reviewed is an object under review with what the target matches on:
// the request's namespace (whose Namespace it looks up) and the object
// and old object (the constraint applies when either matches).
type reviewed struct {
	*gatekeeper.Object
	namespace string
	matchOn   []*unstructured.Unstructured
}

// matchError is a match that could not be decided, on the named object.
type matchError struct {
	name string
	err  error
}

// matches decides the constraint's match as gator's target does
// (pkg/target matcher.go): on the object, then the old object, each with
// its own kind, namespace, name and labels, the Namespace from the cache
// by the request's namespace, and the Original source. The engine would
// hand templates the Namespace it matches on as
// input.review.namespaceObject, which gator leaves null, and matches the
// old object not at all; so the match is decided here.
func (p *prepared) matches(r *reviewed, inv *inventory) (bool, *matchError) {
	var ns *corev1.Namespace
	if r.namespace != "" {
		ns = inv.namespaces[r.namespace]
	}
	for _, u := range r.matchOn {
		gvk := u.GroupVersionKind()
		mt := &gatekeeper.MatchTarget{Group: gvk.Group, Kind: gvk.Kind, Namespace: u.GetNamespace(), Name: u.GetName(),
			GenerateName: u.GetGenerateName(), Labels: u.GetLabels(), NamespaceObject: ns, Source: "Original"}
		ok, err := p.match.Matches(mt)
		if err != nil {
			return false, &matchError{name: u.GetName(), err: err}
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

// admissionObject is the request of an AdmissionReview, checked as gator
// checks it: no unknown fields, a request, an object or oldObject; for
// DELETE the old object is the one reviewed.
func admissionObject(u *unstructured.Unstructured) (*reviewed, error) {
	var ar admissionv1.AdmissionReview
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.UnstructuredContent(), &ar, true); err != nil {
		return nil, fmt.Errorf("%w: unable to convert to an AdmissionReview object, error: %w", ErrInvalidAdmission, err)
	}
	req := ar.Request
	if req == nil {
		return nil, fmt.Errorf("%w: request did not actually pass in an AdmissionRequest", ErrMissingRequest)
	}
	if req.Object.Raw == nil && req.OldObject.Raw == nil {
		return nil, fmt.Errorf("%w: AdmissionRequest does not contain an \"object\" or \"oldObject\" to review", ErrNoObjectForReview)
	}
	var obj, old *unstructured.Unstructured
	for _, x := range []struct {
		raw []byte
		out **unstructured.Unstructured
	}{{req.Object.Raw, &obj}, {req.OldObject.Raw, &old}} {
		if x.raw == nil {
			continue
		}
		v := &unstructured.Unstructured{}
		if err := v.UnmarshalJSON(x.raw); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnmarshallObject, err)
		}
		*x.out = v
	}
	raw := req.Object.Raw
	if req.Operation == admissionv1.Delete {
		if req.OldObject.Raw == nil {
			// The client's error map: target, error, newline.
			return nil, fmt.Errorf("%s: target.HandleReview failed for target %q: %w\n", targetName, targetName, ErrOldObjectIsNil)
		}
		raw, obj = req.OldObject.Raw, old
	}
	o := &gatekeeper.Object{
		Group: req.Kind.Group, Version: req.Kind.Version, Kind: req.Kind.Kind, Resource: req.Resource.Resource,
		Namespace: req.Namespace, Name: req.Name, Operation: string(req.Operation), Source: "Original",
		Request: req, // reviewed as the request it is (uid, dryRun, oldObject, ...)
	}
	if raw != nil {
		m := map[string]any{}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrUnmarshallObject, err)
		}
		o.Object = m
	}
	r := &reviewed{Object: o, namespace: req.Namespace}
	for _, x := range []*unstructured.Unstructured{obj, old} {
		if x != nil {
			r.matchOn = append(r.matchOn, x)
		}
	}
	first := r.matchOn[0]
	o.GenerateName, o.Labels = first.GetGenerateName(), first.GetLabels()
	ui, err := gatekeeper.ToMap(req.UserInfo)
	if err != nil {
		return nil, err
	}
	o.UserInfo = ui
	return r, nil
}

// inventory is data.inventory as the target's AddData keys it:
// cluster/<groupVersion>/<kind>/<name> and
// namespace/<ns>/<groupVersion>/<kind>/<name>; and the target's Namespace
// cache, which namespaceSelectors match against.
type inventory struct {
	data       map[string]any
	namespaces map[string]*corev1.Namespace
}

func newInventory() *inventory {
	return &inventory{data: map[string]any{}, namespaces: map[string]*corev1.Namespace{}}
}

func (inv *inventory) add(u *unstructured.Unstructured) error {
	gvk := u.GroupVersionKind()
	if gvk.Version == "" {
		return fmt.Errorf("%w: resource %s has no version", ErrRequestObject, u.GetName())
	}
	if gvk.Kind == "" {
		return fmt.Errorf("%w: resource %s has no kind", ErrRequestObject, u.GetName())
	}
	gv := gvk.GroupVersion().String()
	if gvk.Group == "" && gvk.Kind == "Namespace" {
		ns := &corev1.Namespace{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, ns); err != nil {
			return fmt.Errorf("cannot cache non-namespace type: cannot cache Namespace: %w", err)
		}
		if u.GetNamespace() == "" && gv == "v1" {
			inv.namespaces[u.GetName()] = ns
		}
	}
	m, err := gatekeeper.ToMap(u.Object)
	if err != nil {
		return err
	}
	gatekeeper.AddToInventory(inv.data, gv, gvk.Kind, u.GetNamespace(), u.GetName(), m)
	return nil
}
