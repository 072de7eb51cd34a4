package gatekeeper

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The webhook runs a template only for the operations its target lists
// (frameworks client.Review with the validation.gatekeeper.sh enforcement
// point, templateClient.MatchesOperation); found by test/gkdiff on
// gatekeeper's test/bats k8srequiredlabels_template_with_update_operations.
func TestTemplateOperations(t *testing.T) {
	withOps := func(ops string) string {
		return strings.Replace(requiredLabels, "  - target: admission.k8s.gatekeeper.sh\n", "  - target: admission.k8s.gatekeeper.sh\n    operations: "+ops+"\n", 1)
	}
	c := constraint("K8sRequiredLabels", "must-have-owner", "  match: {kinds: [{apiGroups: [\"\"], kinds: [\"Pod\"]}]}\n  parameters: {labels: [{key: owner}]}\n")
	violated := []got{{"must-have-owner", `you must provide labels: {"owner"}`}}
	cases := []struct {
		ops, op string
		want    []got
	}{
		{"", "CREATE", violated},
		{"", "UPDATE", violated},
		{`["UPDATE"]`, "CREATE", nil},
		{`["UPDATE"]`, "", nil}, // an unset operation is a CREATE
		{`["UPDATE"]`, "UPDATE", violated},
		{`["CREATE", "UPDATE"]`, "CREATE", violated},
		{`["*"]`, "DELETE", violated},
		{`[]`, "CONNECT", violated},
	}
	for _, tc := range cases {
		tmpl := requiredLabels
		if tc.ops != "" {
			tmpl = withOps(tc.ops)
		}
		e := engine(t, []string{tmpl}, []string{c}, Options{})
		if len(e.Problems()) > 0 {
			t.Fatal(e.Problems())
		}
		o := podObject("p", "ns", nil)
		o.Operation = tc.op
		if diff := cmp.Diff(tc.want, review(t, e, o)); diff != "" {
			t.Errorf("operations %s, %q (-want +got):\n%s", tc.ops, tc.op, diff)
		}
	}
	// gatekeeper pkg/webhook/policy.go validateTemplate
	e := engine(t, []string{withOps(`["*", "CREATE"]`)}, nil, Options{})
	if len(e.Problems()) != 1 || !strings.Contains(e.Problems()[0].Message, "if '*' is present, must not specify other operations") {
		t.Errorf("problems = %v, want the '*' with other operations rejection", e.Problems())
	}
}
