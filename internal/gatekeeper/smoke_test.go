package gatekeeper

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func mustU(t *testing.T, s string) *unstructured.Unstructured {
	t.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func TestSmoke(t *testing.T) {
	tmpl := mustU(t, `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8srequiredlabels}
spec:
  crd: {spec: {names: {kind: K8sRequiredLabels}}}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8srequiredlabels
      violation[{"msg": msg, "details": {"missing_labels": missing}}] {
        provided := {label | input.review.object.metadata.labels[label]}
        required := {label | label := input.parameters.labels[_]}
        missing := required - provided
        count(missing) > 0
        msg := sprintf("you must provide labels: %v", [missing])
      }
`)
	con := mustU(t, `
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata: {name: ns-must-have-gk}
spec:
  match: {kinds: [{apiGroups: [""], kinds: ["Pod"]}]}
  parameters: {labels: ["gatekeeper"]}
`)
	e, err := New(context.Background(), []Item{{Obj: tmpl}}, []Item{{Obj: con}}, Options{})
	if err != nil || len(e.Problems()) > 0 {
		t.Fatal(err, e.Problems())
	}
	rs, err := e.Review(context.Background(), &Object{Version: "v1", Kind: "Pod", Namespace: "x", Name: "p", Object: map[string]any{"metadata": map[string]any{"name": "p"}}})
	t.Logf("%+v %v", rs, err)
}
