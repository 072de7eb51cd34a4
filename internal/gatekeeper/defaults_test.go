package gatekeeper

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The defaults of the template's parameters schema apply to constraints,
// as the API server applies the constraint CRD's structural defaults;
// found by test/gkdiff on gatekeeper's
// test/gator/test/fixtures/manifests/with-policies/with-violations-and-defaults.yaml.
const defaultsTemplate = `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8sdefaults}
spec:
  crd:
    spec:
      names: {kind: K8sDefaults}
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels:
              type: array
              default: [{key: aRequiredLabel}]
              items:
                type: object
                properties:
                  key: {type: string}
                  why: {type: string, default: required}
            message: {type: string, default: aRequiredMessage}
            limits:
              type: object
              additionalProperties: {type: integer, default: 7}
            placeholder: {type: string}
  targets:
  - target: admission.k8s.gatekeeper.sh
    rego: |
      package k8sdefaults
      violation[{"msg": msg}] {
        msg := sprintf("%v %v %v", [input.parameters.message, input.parameters.labels, object.get(input.parameters, "limits", "none")])
      }
`

func TestParameterDefaults(t *testing.T) {
	match := "  match: {kinds: [{apiGroups: [\"\"], kinds: [\"Pod\"]}]}\n"
	cases := []struct {
		name, spec, want string
	}{
		{"defaults fill missing parameters", match + "  parameters: {placeholder: x}\n",
			`aRequiredMessage [{"key": "aRequiredLabel", "why": "required"}] none`},
		{"given values win; item defaults apply inside given arrays", match + "  parameters: {message: mine, labels: [{key: a}, {key: b, why: because}]}\n",
			`mine [{"key": "a", "why": "required"}, {"key": "b", "why": "because"}] none`},
		{"a null non-nullable value is defaulted, also under additionalProperties", match + "  parameters: {message: null, limits: {cpu: null, mem: 3}}\n",
			`aRequiredMessage [{"key": "aRequiredLabel", "why": "required"}] {"cpu": 7, "mem": 3}`},
		// The API server does not create spec.parameters to default in it.
		{"no parameters, no defaults", match, `<undefined>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := mustU(t, constraint("K8sDefaults", "c", tc.spec))
			before := c.DeepCopy()
			e, err := New(t.Context(), []Item{{Obj: mustU(t, defaultsTemplate)}}, []Item{{Obj: c}}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(e.Problems()) > 0 {
				t.Fatal(e.Problems())
			}
			want := []got{{"c", tc.want}}
			if tc.want == "<undefined>" {
				want = nil // input.parameters.message is undefined: no violation
			}
			if diff := cmp.Diff(want, review(t, e, podObject("p", "ns", nil))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before.Object, c.Object); diff != "" {
				t.Errorf("the caller's constraint changed (-before +after):\n%s", diff)
			}
		})
	}
}
