package gkdiff

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/gatekeeper"
)

func mustYAML(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// TestKnownBugConstraintSchema is the minimal reproducer of
// bugParamSchema (and of the metadata.name length check that goes with it):
// Gatekeeper rejects a constraint that breaks its CRD's schema (parameters
// of the wrong type, parameters the schema does not have on a v1 template,
// a name over 63 bytes); akssec's engine accepts all three. When the
// engine is fixed, this test fails: make it require agreement.
func TestKnownBugConstraintSchema(t *testing.T) {
	ctx := context.Background()
	tmpl := mustYAML(t, `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8srequiredlabels}
spec:
  crd:
    spec:
      names: {kind: K8sRequiredLabels}
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels:
              type: array
              items: {type: object, properties: {key: {type: string}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8srequiredlabels
      violation[{"msg": msg}] {
        required := {l | l := input.parameters.labels[_].key}
        missing := required - {l | input.review.object.metadata.labels[l]}
        count(missing) > 0
        msg := sprintf("missing %v", [missing])
      }
`)
	constraint := func(name, params string) *unstructured.Unstructured {
		return mustYAML(t, "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata: {name: "+name+"}\nspec:\n  parameters: "+params+"\n")
	}
	cs := []*unstructured.Unstructured{
		constraint("valid", "{labels: [{key: owner}]}"),
		constraint("wrong-type", "{labels: [owner]}"),
		constraint("unknown-field", "{labels: [{key: owner}], labelz: [x]}"),
		constraint(strings.Repeat("n", 64), "{labels: [{key: owner}]}"),
	}
	tmpls := []*unstructured.Unstructured{tmpl}
	or, err := newOracle(ctx, tmpls, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := newSubject(ctx, tmpls, cs, nil, gatekeeper.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantGK := []string{"K8sRequiredLabels/" + strings.Repeat("n", 64), "K8sRequiredLabels/unknown-field", "K8sRequiredLabels/wrong-type"}
	if diff := cmp.Diff(wantGK, keys(or.rejected)); diff != "" {
		t.Errorf("Gatekeeper rejects (-want +got):\n%s", diff)
	}
	for _, k := range wantGK {
		t.Logf("KNOWN BUG %s: Gatekeeper rejects %s (%s); akssec accepts it", bugParamSchema, k, or.rejected[k])
	}
	if len(sub.rejected) != 0 {
		t.Errorf("akssec now rejects %v: the known bug is fixed, make this test require agreement with Gatekeeper", sub.rejected)
	}
}
