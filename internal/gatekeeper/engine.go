// Package gatekeeper is a Gatekeeper-compatible policy engine on the OPA Go
// library: ConstraintTemplates (templates.gatekeeper.sh v1, v1beta1; Rego v0,
// and v1 when the template's source says so) and their constraints, with
// Gatekeeper's match semantics, enforcement actions (deny, dryrun, warn,
// scoped), parameters and data.inventory. Templates with K8sNativeValidation
// code are decided by CEL on the API server's ValidatingAdmissionPolicy
// validator, as Gatekeeper's k8scel driver does (cel.go).
//
// It re-implements the frameworks Rego driver's hook and the
// admission.k8s.gatekeeper.sh target instead of embedding the frameworks
// client: that client builds a new rego.Rego (query compile plus a JSON
// round trip of the review) for every review and template, which costs
// milliseconds a review; here each template is compiled and prepared once,
// constraints are matched in Go before any Rego runs, and the object is
// converted to an ast.Value once per review. An Engine is immutable after
// New and safe for concurrent use.
package gatekeeper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apiserver/pkg/admission"

	"github.com/akssec/akssec/internal/source"
)

// Item is an unstructured object with its location (templates,
// constraints).
type Item struct {
	Loc source.Location
	Obj *unstructured.Unstructured
}

// Problem is a template or constraint Gatekeeper would reject.
type Problem struct {
	Loc     source.Location
	Object  string
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("%s: %s: %s", p.Loc, p.Object, p.Message) }

// Options tune New.
type Options struct {
	// Inventory returns data.inventory (see Inventory); it is called only
	// when a template reads data.inventory.
	Inventory func() (map[string]any, error)
	// Prefilters, by template name, say in Go whether a template may report
	// an object; when one says no, the template's Rego is not run. They are
	// attached only to templates annotated akssec.io/azure-template (the
	// templates akssec ships, whose prefilters are tested never to miss a
	// violation the Rego would report).
	Prefilters map[string]Prefilter
}

// Prefilter reports whether a template may report the object with the
// constraint's parameters. It must never return false for an object the
// template's Rego reports.
type Prefilter func(o *Object, params map[string]any) bool

// Engine holds compiled templates and parsed constraints.
type Engine struct {
	templates   map[string]*Template // by constraint kind
	constraints []*Constraint        // by kind, then name
	problems    []Problem
	store       storage.Store
	nsValues    sync.Map // *corev1.Namespace → ast.Value (namespaceValue)
	nsCached    atomic.Int64
}

// maxNamespaceValues bounds the namespace cache: callers that make a new
// Namespace object per review (unknown namespaces) must not grow it forever.
const maxNamespaceValues = 100_000

// New compiles the templates and parses the constraints. A template or
// constraint Gatekeeper would reject is left out and reported in Problems;
// the error is only for an inventory that cannot be loaded.
func New(ctx context.Context, templates, constraints []Item, opts Options) (*Engine, error) {
	e := &Engine{templates: map[string]*Template{}, store: inmem.NewWithOpts(inmem.OptRoundTripOnWrite(false))}
	needInventory := false
	for _, it := range templates {
		t, err := ParseTemplate(it.Obj, it.Loc)
		if err != nil {
			e.problems = append(e.problems, Problem{Loc: it.Loc, Object: "ConstraintTemplate/" + it.Obj.GetName(), Message: err.Error()})
			continue
		}
		if prev, dup := e.templates[t.Kind]; dup {
			e.problems = append(e.problems, Problem{Loc: it.Loc, Object: "ConstraintTemplate/" + t.Name, Message: fmt.Sprintf("kind %s is already defined by the template at %s; this one replaces it", t.Kind, prev.Loc)})
		}
		if pf := opts.Prefilters[t.Name]; pf != nil && t.Annotations["akssec.io/azure-template"] != "" {
			t.prefilter = pf
		}
		e.templates[t.Kind] = t
		needInventory = needInventory || t.UsesInventory
	}
	for _, it := range constraints {
		c, err := ParseConstraint(it.Obj, it.Loc)
		if err != nil {
			e.problems = append(e.problems, Problem{Loc: it.Loc, Object: it.Obj.GetKind() + "/" + it.Obj.GetName(), Message: err.Error()})
			continue
		}
		t := e.templates[c.Kind]
		if t == nil {
			e.problems = append(e.problems, Problem{Loc: it.Loc, Object: c.Kind + "/" + c.Name, Message: fmt.Sprintf("no ConstraintTemplate defines kind %s: the constraint cannot exist in the cluster", c.Kind)})
			continue
		}
		if err := applyParameterDefaults(c, t.ParametersSchema); err != nil {
			e.problems = append(e.problems, Problem{Loc: it.Loc, Object: c.Kind + "/" + c.Name, Message: fmt.Sprintf("applying the parameters' defaults: %v", err)})
			continue
		}
		c.Template = t
		e.constraints = append(e.constraints, c)
	}
	sort.SliceStable(e.constraints, func(i, j int) bool {
		a, b := e.constraints[i], e.constraints[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	if needInventory && opts.Inventory != nil {
		inv, err := opts.Inventory()
		if err != nil {
			return nil, fmt.Errorf("loading data.inventory: %w", err)
		}
		if err := storage.WriteOne(ctx, e.store, storage.AddOp, storage.MustParsePath("/inventory"), inv); err != nil {
			return nil, fmt.Errorf("loading data.inventory: %w", err)
		}
	}
	return e, nil
}

// Templates returns the compiled templates sorted by name.
func (e *Engine) Templates() []*Template {
	out := make([]*Template, 0, len(e.templates))
	for _, t := range e.templates {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Template returns the template of a constraint kind, or nil.
func (e *Engine) Template(kind string) *Template { return e.templates[kind] }

// Constraints returns the constraints sorted by kind and name.
func (e *Engine) Constraints() []*Constraint { return e.constraints }

// Problems lists what Gatekeeper would reject.
func (e *Engine) Problems() []Problem { return e.problems }

// Object is an object under review.
type Object struct {
	Group, Version, Kind string
	// Resource is the plural resource name for review.resource.
	Resource     string
	Namespace    string
	Name         string
	GenerateName string
	Labels       map[string]string
	// Object is the object as the API server serializes it. When nil, it is
	// made from Typed, and only if some template has to run.
	Object map[string]any
	// Typed is the Go object (e.g. *corev1.Pod), for prefilters and for
	// Object.
	Typed any
	// NamespaceObject is the object's Namespace (nil for cluster-scoped
	// objects or when unknown): input.review.namespaceObject and the
	// namespaceSelector read it.
	NamespaceObject *corev1.Namespace
	// Operation is CREATE unless set.
	Operation string
	// Source is Original for objects sent to the API server, Generated for
	// pods expanded from workloads.
	Source   string
	UserInfo map[string]any
	// Request, when set, is the admission request under review exactly as
	// Gatekeeper's target receives it (a webhook's AdmissionRequest, or the
	// request gator makes of a plain object: kind, name, namespace, object
	// and nothing else). input.review is then its JSON, and the CEL request
	// is made from it; Operation, UserInfo and Object do not shape the
	// review (Object, Labels and the other fields still decide the match).
	Request *admissionv1.AdmissionRequest
}

// Result is one violation.
type Result struct {
	Constraint *Constraint
	Msg        string
	Details    any
	// Autoreject is set when the constraint could not be matched (its
	// namespaceSelector needs a Namespace the snapshot lacks): Gatekeeper
	// then reports the constraint as violated.
	Autoreject bool
}

// Review evaluates every constraint that matches the object. Results are in
// constraint order (kind, name), then message order.
func (e *Engine) Review(ctx context.Context, obj *Object) ([]Result, error) {
	mt := &MatchTarget{Group: obj.Group, Kind: obj.Kind, Namespace: obj.Namespace, Name: obj.Name, GenerateName: obj.GenerateName, Labels: obj.Labels, NamespaceObject: obj.NamespaceObject, Source: obj.Source}
	op := obj.Operation
	if op == "" {
		op = "CREATE"
	}
	var results []Result
	var matched []*Constraint
	for _, c := range e.constraints {
		if len(c.Actions) == 0 {
			continue // scoped, with no action at the admission webhook
		}
		if !c.Template.MatchesOperation(op) {
			continue // the webhook does not run the template for this operation
		}
		ok, err := c.Match.Matches(mt)
		if err != nil {
			results = append(results, Result{Constraint: c, Autoreject: true,
				Msg: fmt.Sprintf("unable to match constraints: error matching the requested object: %s :failed to run Match criteria: %v", obj.Name, err)})
			continue
		}
		if ok && (c.Template.prefilter == nil || c.Template.prefilter(obj, c.Parameters)) {
			matched = append(matched, c)
		}
	}
	if len(matched) == 0 {
		return results, nil
	}
	if obj.Object == nil {
		m, err := ToMap(obj.Typed)
		if err != nil {
			return nil, err
		}
		obj.Object = m
	}
	var review ast.Value                        // input.review for Rego templates, made once when the first one runs
	var celAttrs *admission.VersionedAttributes // the request for CEL templates, likewise
	txn, err := e.store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer e.store.Abort(ctx, txn)
	now := time.Now()
	for i := 0; i < len(matched); {
		j := i
		for j < len(matched) && matched[j].Kind == matched[i].Kind {
			j++
		}
		var rs []Result
		if t := matched[i].Template; t.cel != nil {
			if celAttrs == nil {
				if celAttrs, err = celAttributes(obj); err != nil {
					return nil, err
				}
			}
			for _, c := range matched[i:j] {
				r := t.cel.eval(ctx, c, obj, celAttrs)
				rs = append(rs, r...)
			}
		} else {
			if review == nil {
				if review, err = e.reviewValue(obj); err != nil {
					return nil, err
				}
			}
			if rs, err = e.eval(ctx, txn, now, t, matched[i:j], review); err != nil {
				return nil, err
			}
		}
		results = append(results, rs...)
		i = j
	}
	return results, nil
}

// eval runs one template for each of its matched constraints. An
// evaluation error becomes a violation of the constraint whose message is
// the error, as the frameworks driver reports it.
func (e *Engine) eval(ctx context.Context, txn storage.Transaction, now time.Time, t *Template, cs []*Constraint, review ast.Value) ([]Result, error) {
	var out []Result
	reviewTerm := ast.NewTerm(review)
	for _, c := range cs {
		input := ast.NewTerm(ast.NewObject(
			[2]*ast.Term{ast.StringTerm("review"), reviewTerm},
			[2]*ast.Term{ast.StringTerm("parameters"), ast.NewTerm(c.params)},
		))
		var mine []Result
		var badMsg error
		seen := map[string]bool{}
		q := topdown.NewQuery(t.query).WithCompiler(t.compiler).WithStore(e.store).WithTransaction(txn).WithInput(input).WithTime(now)
		err := q.Iter(ctx, func(qr topdown.QueryResult) error {
			r := qr[t.resultVar]
			if r == nil {
				return nil
			}
			obj, ok := r.Value.(ast.Object)
			if !ok {
				return nil // a non-object result has no msg: the hook drops it
			}
			mt := obj.Get(msgKey)
			if mt == nil {
				return nil
			}
			ms, ok := mt.Value.(ast.String)
			if !ok {
				badMsg = fmt.Errorf("template %s: extracting message binding: msg is %s, not a string", t.Name, ast.ValueName(mt.Value))
				return nil
			}
			var details any = map[string]any{}
			if dt := obj.Get(detailsKey); dt != nil {
				d, err := ast.JSON(dt.Value)
				if err != nil {
					return err
				}
				details = d
			}
			key, _ := json.Marshal([]any{string(ms), details})
			if seen[string(key)] {
				return nil
			}
			seen[string(key)] = true
			mine = append(mine, Result{Constraint: c, Msg: string(ms), Details: details})
			return nil
		})
		if badMsg != nil {
			return nil, badMsg
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			out = append(out, Result{Constraint: c, Msg: err.Error()})
			continue
		}
		sort.SliceStable(mine, func(i, j int) bool { return mine[i].Msg < mine[j].Msg })
		out = append(out, mine...)
	}
	return out, nil
}

var (
	msgKey     = ast.StringTerm("msg")
	detailsKey = ast.StringTerm("details")
)

// reviewValue builds input.review as the target hands it to Rego: the
// AdmissionRequest's JSON (uid, kind, resource, name, namespace, operation,
// userInfo, object, oldObject, dryRun, options) plus namespaceObject.
func (e *Engine) reviewValue(obj *Object) (ast.Value, error) {
	if obj.Request != nil {
		return e.requestValue(obj)
	}
	op := obj.Operation
	if op == "" {
		op = "CREATE"
	}
	userInfo := obj.UserInfo
	if userInfo == nil {
		userInfo = map[string]any{}
	}
	gvk := map[string]any{"group": obj.Group, "version": obj.Version, "kind": obj.Kind}
	gvr := map[string]any{"group": obj.Group, "version": obj.Version, "resource": obj.Resource}
	r := map[string]any{
		"uid":             "",
		"kind":            gvk,
		"resource":        gvr,
		"requestKind":     gvk,
		"requestResource": gvr,
		"operation":       op,
		"userInfo":        userInfo,
		"oldObject":       nil,
		"dryRun":          false,
		"options":         nil,
	}
	if obj.Name != "" {
		r["name"] = obj.Name
	}
	if obj.Namespace != "" {
		r["namespace"] = obj.Namespace
	}
	v, err := toValue(r)
	if err != nil {
		return nil, err
	}
	// The object is converted lazily: a template reads a few of its fields,
	// and converting a whole pod costs more than evaluating most templates.
	var object ast.Value = ast.NullValue
	if obj.Object != nil {
		object = ast.LazyObject(obj.Object)
	}
	v.(ast.Object).Insert(ast.StringTerm("object"), ast.NewTerm(object))
	nsObj, err := e.namespaceValue(obj.NamespaceObject)
	if err != nil {
		return nil, err
	}
	v.(ast.Object).Insert(ast.StringTerm("namespaceObject"), ast.NewTerm(nsObj))
	return v, nil
}

// requestValue is input.review for an Object with a Request: the request's
// JSON (after the target's DELETE rule: object is the old object), plus
// namespaceObject.
func (e *Engine) requestValue(obj *Object) (ast.Value, error) {
	req := *obj.Request
	if req.Operation == admissionv1.Delete {
		if req.OldObject.Raw == nil {
			return nil, errOldObjectIsNil
		}
		req.Object = req.OldObject
	}
	b, err := json.Marshal(&req)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	v, err := toValue(m)
	if err != nil {
		return nil, err
	}
	nsObj, err := e.namespaceValue(obj.NamespaceObject)
	if err != nil {
		return nil, err
	}
	v.(ast.Object).Insert(ast.StringTerm("namespaceObject"), ast.NewTerm(nsObj))
	return v, nil
}

// errOldObjectIsNil is the target's refusal of a DELETE without oldObject.
var errOldObjectIsNil = errors.New("oldObject cannot be nil for DELETE operations")

// namespaceValue converts a Namespace for input.review.namespaceObject
// once per Namespace object (callers pass the same object for every review
// in a namespace; the object must not change afterwards).
func (e *Engine) namespaceValue(ns *corev1.Namespace) (ast.Value, error) {
	if ns == nil {
		// The frameworks Rego driver sets review["namespaceObject"] to the
		// ReviewCfg's Namespace map, a nil map when the review has no
		// namespace (cluster-scoped objects, gator), and a nil map converts
		// to an empty object: {} rather than null.
		return ast.NewObject(), nil
	}
	if v, ok := e.nsValues.Load(ns); ok {
		return v.(ast.Value), nil
	}
	m, err := ToMap(ns)
	if err != nil {
		return nil, err
	}
	v, err := toValue(m)
	if err != nil {
		return nil, err
	}
	if e.nsCached.Add(1) <= maxNamespaceValues {
		e.nsValues.Store(ns, v)
	}
	return v, nil
}

// ToMap serializes a Go object as the API server would and decodes it into
// the generic form Rego sees (numbers kept exact).
func ToMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// Resource returns the plural resource name of a kind, as discovery names
// the built-in kinds (lower case plus "s", with the irregular plurals).
func Resource(kind string) string {
	k := strings.ToLower(kind)
	switch {
	case k == "endpoints":
		return k
	case strings.HasSuffix(k, "y") && len(k) > 1 && !strings.ContainsRune("aeiou", rune(k[len(k)-2])):
		return k[:len(k)-1] + "ies"
	case strings.HasSuffix(k, "s"), strings.HasSuffix(k, "x"), strings.HasSuffix(k, "ch"):
		return k + "es"
	}
	return k + "s"
}
