package gatekeeper

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func mustU(t testing.TB, s string) *unstructured.Unstructured {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// A template in the style of the gatekeeper-library (v1, legacy rego field,
// a lib under data.lib, details) — it must run unchanged.
const requiredLabels = `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequiredlabels
  annotations:
    metadata.gatekeeper.sh/title: "Required Labels"
spec:
  crd:
    spec:
      names: {kind: K8sRequiredLabels}
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels: {type: array, items: {type: object, properties: {key: {type: string}, allowedRegex: {type: string}}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8srequiredlabels
      import data.lib.helpers.get_message

      violation[{"msg": msg, "details": {"missing_labels": missing}}] {
        provided := {label | input.review.object.metadata.labels[label]}
        required := {label | label := input.parameters.labels[_].key}
        missing := required - provided
        count(missing) > 0
        msg := get_message(sprintf("you must provide labels: %v", [missing]))
      }

      violation[{"msg": msg}] {
        value := input.review.object.metadata.labels[key]
        expected := input.parameters.labels[_]
        expected.key == key
        expected.allowedRegex != ""
        not re_match(expected.allowedRegex, value)
        msg := sprintf("Label <%v: %v> does not satisfy allowed regex: %v", [key, value, expected.allowedRegex])
      }
    libs:
    - |
      package lib.helpers
      get_message(m) = out {
        out := object.get(input.parameters, "message", m)
      }
`

// A Rego v1 template in the multi-engine (code) form. (With a
// K8sNativeValidation entry beside it, CEL would decide: cel_test.go.)
const v1Template = `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sdenyname}
spec:
  crd: {spec: {names: {kind: K8sDenyName}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    code:
    - engine: Rego
      source:
        version: "v1"
        rego: |
          package k8sdenyname
          violation contains {"msg": msg} if {
            input.review.object.metadata.name == input.parameters.name
            msg := sprintf("name %v is not allowed", [input.parameters.name])
          }
`

// A template reading data.inventory, as uniqueserviceselector does.
const uniqueLabel = `
apiVersion: templates.gatekeeper.sh/v1beta1
kind: ConstraintTemplate
metadata: {name: k8suniqueapp}
spec:
  crd: {spec: {names: {kind: K8sUniqueApp}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8suniqueapp
      violation[{"msg": msg}] {
        app := input.review.object.metadata.labels.app
        other := data.inventory.namespace[ns][_]["Service"][name]
        other.metadata.labels.app == app
        not same(ns, name)
        msg := sprintf("app label %v is already used by service %v/%v", [app, ns, name])
      }
      same(ns, name) {
        ns == input.review.object.metadata.namespace
        name == input.review.object.metadata.name
      }
`

const errTemplate = `
apiVersion: templates.gatekeeper.sh/v1beta1
kind: ConstraintTemplate
metadata: {name: k8sconflict}
spec:
  crd: {spec: {names: {kind: K8sConflict}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sconflict
      f = 1 { true }
      f = 2 { true }
      violation[{"msg": msg}] {
        f == 3
        msg := "never"
      }
`

func constraint(kind, name, extra string) string {
	return "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: " + kind + "\nmetadata: {name: " + name + "}\nspec:\n" + extra
}

func engine(t testing.TB, templates []string, constraints []string, opts Options) *Engine {
	t.Helper()
	var ts, cs []Item
	for _, s := range templates {
		ts = append(ts, Item{Obj: mustU(t, s)})
	}
	for _, s := range constraints {
		cs = append(cs, Item{Obj: mustU(t, s)})
	}
	e, err := New(context.Background(), ts, cs, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func podObject(name, namespace string, labels map[string]string) *Object {
	l := map[string]any{}
	for k, v := range labels {
		l[k] = v
	}
	return &Object{Version: "v1", Kind: "Pod", Resource: "pods", Namespace: namespace, Name: name, Labels: labels, Source: SourceOriginal,
		NamespaceObject: ns(namespace, nil),
		Object:          map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": name, "namespace": namespace, "labels": l}}}
}

type got struct {
	Constraint, Msg string
}

func review(t *testing.T, e *Engine, o *Object) []got {
	t.Helper()
	rs, err := e.Review(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	var out []got
	for _, r := range rs {
		out = append(out, got{r.Constraint.Name, r.Msg})
	}
	return out
}

func TestLibraryTemplateRunsUnchanged(t *testing.T) {
	e := engine(t, []string{requiredLabels}, []string{
		constraint("K8sRequiredLabels", "must-have-owner", `  match: {kinds: [{apiGroups: [""], kinds: ["Pod"]}]}
  parameters:
    labels: [{key: owner, allowedRegex: "^[a-z]+\\.agilebank\\.demo$"}]
`)}, Options{})
	if len(e.Problems()) > 0 {
		t.Fatal(e.Problems())
	}
	cases := []struct {
		labels map[string]string
		want   []got
	}{
		{nil, []got{{"must-have-owner", `you must provide labels: {"owner"}`}}},
		{map[string]string{"owner": "me.agilebank.demo"}, nil},
		{map[string]string{"owner": "me"}, []got{{"must-have-owner", `Label <owner: me> does not satisfy allowed regex: ^[a-z]+\.agilebank\.demo$`}}},
	}
	for _, tc := range cases {
		if diff := cmp.Diff(tc.want, review(t, e, podObject("p", "ns", tc.labels))); diff != "" {
			t.Errorf("labels %v (-want +got):\n%s", tc.labels, diff)
		}
	}
	rs, _ := e.Review(context.Background(), podObject("p", "ns", nil))
	if diff := cmp.Diff(map[string]any{"missing_labels": []any{"owner"}}, rs[0].Details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
}

func TestRegoV1WhenDeclared(t *testing.T) {
	e := engine(t, []string{v1Template}, []string{constraint("K8sDenyName", "no-bad", "  parameters: {name: bad}\n")}, Options{})
	if len(e.Problems()) > 0 {
		t.Fatal(e.Problems())
	}
	if tm := e.Template("K8sDenyName"); tm.RegoVersion.String() != "v1" {
		t.Errorf("rego version = %v, want v1", tm.RegoVersion)
	}
	if diff := cmp.Diff([]got{{"no-bad", "name bad is not allowed"}}, review(t, e, podObject("bad", "ns", nil))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if g := review(t, e, podObject("good", "ns", nil)); len(g) != 0 {
		t.Errorf("good pod violated: %v", g)
	}
}

func TestTemplatesGatekeeperRejects(t *testing.T) {
	cases := []struct {
		name, tmpl, want string
	}{
		{"v1 syntax without version v1", strings.Replace(v1Template, `version: "v1"`, "", 1), "rego_parse_error"},
		{"missing violation", `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8snoviolation}
spec:
  crd: {spec: {names: {kind: K8sNoViolation}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package x
      deny[msg] { msg := "x" }
`, "missing required rules: [violation]"},
		{"data outside lib and inventory", `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sdataref}
spec:
  crd: {spec: {names: {kind: K8sDataRef}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package x
      violation[{"msg": "x"}] { data.other.thing }
`, "disallowed ref data.other.thing"},
		{"lib outside data.lib", `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sbadlib}
spec:
  crd: {spec: {names: {kind: K8sBadLib}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package x
      violation[{"msg": "x"}] { false }
    libs:
    - |
      package helpers
      f = 1
`, "not found in lib prefixes"},
		{"name is not the kind", strings.Replace(requiredLabels, "name: k8srequiredlabels", "name: required", 1), "lower-case of the kind"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := engine(t, []string{tc.tmpl}, nil, Options{})
			if len(e.Problems()) != 1 || !strings.Contains(e.Problems()[0].Message, tc.want) {
				t.Errorf("problems = %v, want one containing %q", e.Problems(), tc.want)
			}
		})
	}
}

func TestEnforcementActions(t *testing.T) {
	match := "  match: {kinds: [{apiGroups: [\"\"], kinds: [\"Pod\"]}]}\n  parameters: {labels: [{key: owner}]}\n"
	e := engine(t, []string{requiredLabels}, []string{
		constraint("K8sRequiredLabels", "a-deny", match),
		constraint("K8sRequiredLabels", "b-warn", match+"  enforcementAction: warn\n"),
		constraint("K8sRequiredLabels", "c-dryrun", match+"  enforcementAction: dryrun\n"),
		constraint("K8sRequiredLabels", "d-scoped-webhook", match+"  enforcementAction: scoped\n  scopedEnforcementActions: [{action: warn, enforcementPoints: [{name: validation.gatekeeper.sh}]}]\n"),
		constraint("K8sRequiredLabels", "e-scoped-audit-only", match+"  enforcementAction: scoped\n  scopedEnforcementActions: [{action: deny, enforcementPoints: [{name: audit.gatekeeper.sh}]}]\n"),
		constraint("K8sRequiredLabels", "f-bogus", match+"  enforcementAction: block\n"),
	}, Options{})
	if len(e.Problems()) != 1 || !strings.Contains(e.Problems()[0].Message, "enforcementAction") {
		t.Errorf("problems = %v, want the bogus action rejected", e.Problems())
	}
	rs, err := e.Review(context.Background(), podObject("p", "ns", nil))
	if err != nil {
		t.Fatal(err)
	}
	type act struct {
		Name        string
		Deny, Warns bool
	}
	var gotActs []act
	for _, r := range rs {
		gotActs = append(gotActs, act{r.Constraint.Name, r.Constraint.Denies(), r.Constraint.Warns()})
	}
	want := []act{{"a-deny", true, false}, {"b-warn", false, true}, {"c-dryrun", false, false}, {"d-scoped-webhook", false, true}}
	if diff := cmp.Diff(want, gotActs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestAutorejectWithoutNamespace(t *testing.T) {
	e := engine(t, []string{requiredLabels}, []string{constraint("K8sRequiredLabels", "sel",
		"  match: {namespaceSelector: {matchLabels: {env: prod}}}\n  parameters: {labels: [{key: owner}]}\n")}, Options{})
	o := podObject("p", "ns", map[string]string{"owner": "x"})
	o.NamespaceObject = nil
	rs, err := e.Review(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || !rs[0].Autoreject || !strings.HasPrefix(rs[0].Msg, "unable to match constraints") {
		t.Errorf("got %+v, want one autoreject", rs)
	}
}

func TestEvalErrorIsAViolation(t *testing.T) {
	e := engine(t, []string{errTemplate}, []string{constraint("K8sConflict", "c", "  parameters: {}\n")}, Options{})
	g := review(t, e, podObject("p", "ns", nil))
	if len(g) != 1 || !strings.Contains(g[0].Msg, "conflict") {
		t.Errorf("got %v, want the evaluation error reported as the violation", g)
	}
}

func TestInventory(t *testing.T) {
	inv := map[string]any{"namespace": map[string]any{"shop": map[string]any{"v1": map[string]any{"Service": map[string]any{
		"cart": map[string]any{"metadata": map[string]any{"name": "cart", "namespace": "shop", "labels": map[string]any{"app": "cart"}}},
	}}}}}
	called := 0
	e := engine(t, []string{uniqueLabel, requiredLabels}, []string{constraint("K8sUniqueApp", "unique", "  parameters: {}\n")}, Options{Inventory: func() (map[string]any, error) { called++; return inv, nil }})
	if called != 1 {
		t.Errorf("inventory loaded %d times, want once", called)
	}
	svc := &Object{Version: "v1", Kind: "Service", Namespace: "web", Name: "front", Labels: map[string]string{"app": "cart"}, NamespaceObject: ns("web", nil), Source: SourceOriginal,
		Object: map[string]any{"metadata": map[string]any{"name": "front", "namespace": "web", "labels": map[string]any{"app": "cart"}}}}
	if diff := cmp.Diff([]got{{"unique", "app label cart is already used by service shop/cart"}}, review(t, e, svc)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	e2 := engine(t, []string{requiredLabels}, nil, Options{Inventory: func() (map[string]any, error) { called++; return inv, nil }})
	_ = e2
	if called != 1 {
		t.Errorf("inventory loaded for templates that do not read it")
	}
}

func TestConcurrentReviews(t *testing.T) {
	e := engine(t, []string{requiredLabels}, []string{constraint("K8sRequiredLabels", "owner", "  parameters: {labels: [{key: owner}]}\n")}, Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			labels := map[string]string{}
			if i%2 == 0 {
				labels["owner"] = "x"
			}
			for j := 0; j < 50; j++ {
				rs, err := e.Review(context.Background(), podObject("p", "ns", labels))
				if err != nil || (len(rs) == 0) != (i%2 == 0) {
					t.Errorf("goroutine %d: %v %v", i, rs, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
}

func TestResource(t *testing.T) {
	for kind, want := range map[string]string{"Pod": "pods", "Ingress": "ingresses", "NetworkPolicy": "networkpolicies", "Endpoints": "endpoints", "Gateway": "gateways"} {
		if got := Resource(kind); got != want {
			t.Errorf("Resource(%s) = %s, want %s", kind, got, want)
		}
	}
}

// Without a namespace the frameworks Rego driver hands templates an empty
// namespaceObject (its ReviewCfg's nil map converts to {}), not null.
func TestNamespaceObjectWithoutNamespace(t *testing.T) {
	tmpl := `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sshowns}
spec:
  crd: {spec: {names: {kind: K8sShowNs}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sshowns
      violation[{"msg": msg}] {
        msg := sprintf("ns=%v", [input.review.namespaceObject])
      }
`
	e := engine(t, []string{tmpl}, []string{constraint("K8sShowNs", "show", "")}, Options{})
	o := podObject("p", "team", nil)
	o.NamespaceObject = nil
	if diff := cmp.Diff([]got{{"show", "ns={}"}}, review(t, e, o)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	o = podObject("p", "team", nil)
	gs := review(t, e, o)
	if len(gs) != 1 || !strings.Contains(gs[0].Msg, `"name": "team"`) {
		t.Errorf("with a namespace: %v", gs)
	}
}

// With a Request the review is that request as the target hands it on
// (gatekeeper pkg/target: unstructuredToAdmissionRequest for gator's plain
// objects, the AdmissionRequest itself for webhooks and AdmissionReviews);
// the Rego and the CEL template see the same request.
func TestReviewOfARequest(t *testing.T) {
	rego := `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sreviewinput}
spec:
  crd: {spec: {names: {kind: K8sReviewInput}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sreviewinput
      violation[{"msg": sprintf("operation is %q", [input.review.operation])}] { true }
      violation[{"msg": "oldObject is null"}] { input.review.oldObject == null }
      violation[{"msg": sprintf("uid is %q", [input.review.uid])}] { true }
      violation[{"msg": "requestKind is set"}] { input.review.requestKind }
      violation[{"msg": sprintf("dryRun is %v", [input.review.dryRun])}] { input.review.dryRun == input.review.dryRun }
      violation[{"msg": sprintf("object name %v", [input.review.object.metadata.name])}] { true }
`
	cel := `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sreviewcel}
spec:
  crd: {spec: {names: {kind: K8sReviewCel}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    code:
    - engine: K8sNativeValidation
      source:
        validations:
        - expression: "false"
          messageExpression: "'cel operation=' + request.operation + ' dryRun=' + string(request.dryRun) + ' old=' + (oldObject == null ? 'null' : oldObject.metadata.name) + ' object=' + (object == null ? 'null' : object.metadata.name)"
`
	e := engine(t, []string{rego, cel}, []string{constraint("K8sReviewInput", "probe", ""), constraint("K8sReviewCel", "cel", "")}, Options{})
	cm := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm","namespace":"ns"}}`)
	old := []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-old","namespace":"ns"}}`)
	plain := &admissionv1.AdmissionRequest{Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Name: "cm", Namespace: "ns", Object: runtime.RawExtension{Raw: cm}}
	yes := true
	update := &admissionv1.AdmissionRequest{UID: "705ab4f5", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Name: "cm", Namespace: "ns",
		Operation: admissionv1.Update, DryRun: &yes, Object: runtime.RawExtension{Raw: cm}, OldObject: runtime.RawExtension{Raw: old}}
	del := &admissionv1.AdmissionRequest{UID: "d", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}, Name: "cm", Namespace: "ns",
		Operation: admissionv1.Delete, OldObject: runtime.RawExtension{Raw: old}}
	for _, tc := range []struct {
		name string
		req  *admissionv1.AdmissionRequest
		want []got
	}{
		{"plain object as gator makes it", plain, []got{
			{"cel", "cel operation= dryRun=false old=null object=cm"},
			{"probe", `object name cm`}, {"probe", `oldObject is null`}, {"probe", `operation is ""`}, {"probe", `uid is ""`}}},
		{"an UPDATE request with dryRun", update, []got{
			{"cel", "cel operation=UPDATE dryRun=true old=cm-old object=cm"},
			{"probe", `dryRun is true`}, {"probe", `object name cm`}, {"probe", `operation is "UPDATE"`}, {"probe", `uid is "705ab4f5"`}}},
		{"a DELETE: Rego sees the old object as object, CEL no object", del, []got{
			{"cel", "cel operation=DELETE dryRun=false old=cm-old object=null"},
			{"probe", `object name cm-old`}, {"probe", `operation is "DELETE"`}, {"probe", `uid is "d"`}}},
	} {
		o := &Object{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: "ns", Name: "cm", Source: SourceOriginal, Request: tc.req,
			Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "cm", "namespace": "ns"}}}
		if diff := cmp.Diff(tc.want, review(t, e, o)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	bad := *del
	bad.OldObject = runtime.RawExtension{}
	o := &Object{Version: "v1", Kind: "ConfigMap", Resource: "configmaps", Namespace: "ns", Name: "cm", Source: SourceOriginal, Request: &bad}
	if _, err := e.Review(context.Background(), o); err == nil || !strings.Contains(err.Error(), "oldObject cannot be nil for DELETE operations") {
		t.Errorf("DELETE without oldObject: err = %v", err)
	}
}
