package gkdiff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/akssec/akssec/internal/gatekeeper"
)

// policySet is one set of templates, constraints and synced data loaded
// into both engines.
type policySet struct {
	name        string
	templates   []*unstructured.Unstructured
	constraints []*unstructured.Unstructured
	data        []*unstructured.Unstructured
	opts        gatekeeper.Options
}

// tally counts what a comparison covered.
type tally struct {
	reviews    int // object reviews compared
	violating  int // reviews where the oracle reported at least one violation
	violations int // violations the oracle reported (all equal to akssec's when the test passes)
	templates  map[string]bool
	errors     int // reviews both engines failed
}

func (t *tally) add(o tally) {
	t.reviews += o.reviews
	t.violating += o.violating
	t.violations += o.violations
	t.errors += o.errors
	if t.templates == nil {
		t.templates = map[string]bool{}
	}
	for k := range o.templates {
		t.templates[k] = true
	}
}

// compare loads the set into both engines and reviews every request with
// both, failing on any difference in what they accept, what they report,
// and with which enforcement action.
func compare(t *testing.T, ctx context.Context, ps policySet, reqs []*request) tally {
	t.Helper()
	ps = withoutCEL(t, ps)
	if len(ps.templates) == 0 {
		return tally{}
	}
	or, err := newOracle(ctx, ps.templates, ps.constraints, ps.data)
	if err != nil {
		t.Fatalf("%s: oracle: %v", ps.name, err)
	}
	all, err := newSubject(ctx, ps.templates, ps.constraints, ps.data, ps.opts)
	if err != nil {
		t.Fatalf("%s: akssec: %v", ps.name, err)
	}
	var rejectDiff []string
	known := map[string][]string{}
	for _, k := range keys(or.rejected) {
		if _, ok := all.rejected[k]; !ok {
			if reason := knownAccepts(or.rejected[k]); reason != "" {
				known[reason] = append(known[reason], k)
				continue
			}
			rejectDiff = append(rejectDiff, fmt.Sprintf("- %s: rejected by Gatekeeper only: %s", k, or.rejected[k]))
		}
	}
	for reason, ks := range known {
		t.Logf("%s: KNOWN BUG %s: Gatekeeper rejects %s, akssec accepts them", ps.name, reason, strings.Join(ks, ", "))
		observed[reason] = true
	}
	for _, k := range keys(all.rejected) {
		if gkErr, ok := or.rejected[k]; ok && strings.HasPrefix(k, "ConstraintTemplate/") {
			t.Logf("%s: %s rejected by both: gatekeeper: %s; akssec: %s", ps.name, k, gkErr, all.rejected[k])
		}
		if _, ok := or.rejected[k]; !ok {
			rejectDiff = append(rejectDiff, fmt.Sprintf("+ %s: rejected by akssec only: %s", k, all.rejected[k]))
		}
	}
	if len(rejectDiff) > 0 {
		t.Errorf("%s: templates/constraints accepted differently (-gatekeeper +akssec):\n%s", ps.name, strings.Join(rejectDiff, "\n"))
	}
	// The reviews run on what Gatekeeper accepted, so that one rejection
	// does not hide the comparison of the other constraints.
	var accepted []*unstructured.Unstructured
	for _, u := range ps.constraints {
		if _, bad := or.rejected[u.GetKind()+"/"+u.GetName()]; !bad {
			accepted = append(accepted, u)
		}
	}
	sub, err := newSubject(ctx, ps.templates, accepted, ps.data, ps.opts)
	if err != nil {
		t.Fatalf("%s: akssec: %v", ps.name, err)
	}
	out := tally{templates: map[string]bool{}}
	for _, tm := range ps.templates {
		if _, bad := or.rejected["ConstraintTemplate/"+tm.GetName()]; !bad {
			out.templates[tm.GetName()] = true
		}
	}
	for _, r := range reqs {
		want, werr := or.review(ctx, r)
		got, gerr := sub.review(ctx, r)
		id := fmt.Sprintf("%s: %s %s %s/%s", ps.name, r.Operation, r.Kind, r.Namespace, r.Name)
		if r.Generated {
			id += " (generated)"
		}
		switch {
		case werr != nil && gerr != nil:
			out.errors++
			t.Logf("%s: both engines fail the review: gatekeeper: %v; akssec: %v", id, werr, gerr)
			continue
		case werr != nil || gerr != nil:
			t.Errorf("%s: gatekeeper error %v, akssec error %v", id, werr, gerr)
			continue
		}
		normalize(want)
		normalize(got)
		if diff := cmp.Diff(want, got); diff != "" {
			if reason := knownDiffs[ps.templates[0].GetName()]; len(ps.templates) == 1 && reason != "" {
				t.Logf("%s: KNOWN BUG %s: violations (-gatekeeper +akssec):\n%s", id, reason, diff)
				observed[reason] = true
			} else {
				t.Errorf("%s: violations (-gatekeeper +akssec):\n%s", id, diff)
			}
		}
		out.reviews++
		if len(want) > 0 {
			out.violating++
			out.violations += len(want)
		}
	}
	return out
}

// Known bugs: disagreements found by this test and not fixed yet. Each is
// logged where it shows, and TestKnownBugsObserved fails when one no
// longer shows, so that the list is kept true.
const (
	bugParamSchema = "[parameters-schema: akssec does not validate a constraint's spec.parameters against the template's openAPIV3Schema, which the constraint CRD's structural schema makes the API server and Gatekeeper's webhook enforce]"
)

// observed records the known bugs the tests saw.
var observed = map[string]bool{}

// knownAccepts says which known bug makes akssec accept a constraint
// Gatekeeper rejects with the error; "" for any other.
func knownAccepts(gatekeeperErr string) string {
	if strings.Contains(gatekeeperErr, "schema validation failed") || strings.Contains(gatekeeperErr, "unknown fields") {
		return bugParamSchema
	}
	return ""
}

// knownDiffs are the templates (by name) whose violations differ by a
// known bug.
var knownDiffs = map[string]string{}

// withoutCEL takes the K8sNativeValidation (CEL) code out of the
// templates: Gatekeeper decides a template with CEL code by its CEL driver
// (which outranks Rego), and the oracle has none, because gatekeeper's
// pkg/drivers/k8scel does not compile with k8s.io/apiserver v0.37 (the
// reference's section 3.6). A template with Rego code too is compared on
// its Rego (both engines run Rego once the CEL code is gone); a CEL-only
// template is left out with its constraints.
func withoutCEL(t *testing.T, ps policySet) policySet {
	t.Helper()
	skip := map[string]bool{}
	var tmpls []*unstructured.Unstructured
	for _, tm := range ps.templates {
		stripped, cel, rego := stripCEL(tm)
		switch {
		case !cel:
			tmpls = append(tmpls, tm)
		case rego:
			t.Logf("%s: template %s: its K8sNativeValidation (CEL) code is left out and its Rego compared (the oracle has no CEL driver: gatekeeper's k8scel does not build with k8s.io/* v0.37)", ps.name, tm.GetName())
			tmpls = append(tmpls, stripped)
		default:
			kind, _, _ := unstructured.NestedString(tm.Object, "spec", "crd", "spec", "names", "kind")
			skip[kind] = true
			t.Logf("%s: SKIP template %s: CEL only (K8sNativeValidation), and the oracle has no CEL driver (gatekeeper's k8scel does not build with k8s.io/* v0.37)", ps.name, tm.GetName())
		}
	}
	ps.templates = tmpls
	if len(skip) == 0 {
		return ps
	}
	var cs []*unstructured.Unstructured
	for _, c := range ps.constraints {
		if !skip[c.GetKind()] {
			cs = append(cs, c)
		}
	}
	ps.constraints = cs
	return ps
}

// stripCEL returns the template without its K8sNativeValidation code
// entries, whether it had any, and whether it has Rego.
func stripCEL(tm *unstructured.Unstructured) (out *unstructured.Unstructured, cel, rego bool) {
	out = tm.DeepCopy()
	targets, _, _ := unstructured.NestedSlice(out.Object, "spec", "targets")
	for i, tg := range targets {
		tgm, _ := tg.(map[string]any)
		if r, _ := tgm["rego"].(string); r != "" {
			rego = true
		}
		code, ok := tgm["code"].([]any)
		if !ok {
			continue
		}
		var kept []any
		for _, c := range code {
			cm, _ := c.(map[string]any)
			switch cm["engine"] {
			case "K8sNativeValidation":
				cel = true
				continue
			case "Rego":
				rego = true
			}
			kept = append(kept, c)
		}
		tgm["code"] = kept
		if len(kept) == 0 {
			delete(tgm, "code")
		}
		targets[i] = tgm
	}
	if cel {
		_ = unstructured.SetNestedSlice(out.Object, targets, "spec", "targets")
	}
	return out, cel, rego
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// normalize sorts the violations and gives details one JSON form (the
// engines may hold numbers as json.Number or float64).
func normalize(vs []violation) {
	for i := range vs {
		b, err := json.Marshal(vs[i].Details)
		if err != nil {
			panic(err)
		}
		var d any
		if err := json.Unmarshal(b, &d); err != nil {
			panic(err)
		}
		vs[i].Details = d
	}
	sortViolations(vs)
}

// readManifests reads every YAML or JSON document of a file.
func readManifests(path string) ([]*unstructured.Unstructured, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(m) == 0 {
			continue
		}
		if items, ok := m["items"].([]any); ok && strings.HasSuffix(fmt.Sprint(m["kind"]), "List") {
			for _, it := range items {
				if im, ok := it.(map[string]any); ok {
					out = append(out, &unstructured.Unstructured{Object: im})
				}
			}
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
}

// clusterScoped are the cluster-scoped kinds of the corpora.
var clusterScoped = map[string]bool{"Namespace": true, "Node": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"CustomResourceDefinition": true, "StorageClass": true, "PersistentVolume": true, "PriorityClass": true,
	"ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true, "IngressClass": true}

// newRequest makes the AdmissionRequest the API server sends for the
// CREATE of the object: the namespace is the object's, and the Namespace
// object is the one of that name in namespaces (or, if there is none, the
// Namespace as the API server creates it, labelled with its name). A
// Namespace is reviewed with no namespace, as the webhook does.
func newRequest(u *unstructured.Unstructured, namespaces map[string]*corev1.Namespace) *request {
	gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
	r := &request{Group: gv.Group, Version: gv.Version, Kind: u.GetKind(), Resource: gatekeeper.Resource(u.GetKind()),
		Name: u.GetName(), Object: u.Object, Operation: "CREATE"}
	if !clusterScoped[u.GetKind()] && u.GetNamespace() != "" {
		r.Namespace = u.GetNamespace()
		r.NamespaceObject = namespaces[r.Namespace]
		if r.NamespaceObject == nil {
			r.NamespaceObject = &corev1.Namespace{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
				ObjectMeta: metav1.ObjectMeta{Name: r.Namespace, Labels: map[string]string{corev1.LabelMetadataName: r.Namespace}},
			}
		}
	}
	return r
}

// namespaceObjects indexes the Namespace objects by name (the first of a
// name wins).
func namespaceObjects(objs []*unstructured.Unstructured) map[string]*corev1.Namespace {
	out := map[string]*corev1.Namespace{}
	for _, u := range objs {
		if u.GetKind() != "Namespace" || u.GetAPIVersion() != "v1" || out[u.GetName()] != nil {
			continue
		}
		ns := &corev1.Namespace{}
		b, _ := json.Marshal(u.Object)
		if err := json.Unmarshal(b, ns); err != nil {
			continue
		}
		out[ns.Name] = ns
	}
	return out
}

func logTally(t *testing.T, name string, n tally) {
	t.Logf("%s: %d templates, %d reviews compared, %d with violations, %d violations, %d reviews both engines failed",
		name, len(n.templates), n.reviews, n.violating, n.violations, n.errors)
}
