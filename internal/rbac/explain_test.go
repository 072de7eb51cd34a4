package rbac

import (
	"strings"
	"testing"

	"github.com/akssec/akssec/internal/authn"
)

func TestExplainNearMisses(t *testing.T) {
	e := world(
		clusterRole("deploy-editor", nil, rule(s("update"), s("extensions"), s("deployments"))),
		clusterRole("pod-reader", nil, rule(s("get", "list"), s(""), s("pods"))),
		role("a", "named", rule(s("get"), s(""), s("secrets"), "one")),
		rb("a", "jane-deploy", "ClusterRole", "deploy-editor", user("jane")),
		rb("b", "jane-pods-b", "ClusterRole", "pod-reader", user("jane")),
		rb("a", "jane-missing", "Role", "gone", user("jane")),
		rb("a", "jane-named", "Role", "named", user("jane")),
		rb("a", "jane-logs", "ClusterRole", "pod-reader", user("jane")),
		rb("a", "sa-other-ns", "ClusterRole", "pod-reader", sa("b", "builder")),
	)
	a := New(e, WithoutBootstrap(), WithoutAKSBindings())
	jane := authn.Impersonate("jane", nil)
	tests := []struct {
		name    string
		attrs   *Attributes
		problem string
		in      string
	}{
		{"apiGroup mismatch", ask(jane, "update", "apps", "deployments", "", "a", "web"), ProblemAPIGroup, `"apps"`},
		{"binding in another namespace", ask(jane, "list", "", "pods", "", "c", ""), ProblemOtherNamespace, "RoleBinding/"},
		{"subresource not granted", ask(jane, "get", "", "pods", "log", "a", "p"), ProblemSubresource, `"pods/log"`},
		{"resourceNames", ask(jane, "get", "", "secrets", "", "a", "two"), ProblemResourceName, `"two"`},
		{"missing role", ask(jane, "delete", "", "configmaps", "", "a", "x"), ProblemMissingRole, "gone"},
		{"ServiceAccount namespace", ask(authn.ServiceAccount("c", "builder"), "get", "", "pods", "", "a", "p"), ProblemServiceAccountNS, "b/builder"},
		{"nothing at all", ask(jane, "create", "", "nodes", "", "", ""), ProblemNoBinding, "kubectl create"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex := a.Explain(tc.attrs, nil)
			if ex.Decision.Allowed {
				t.Fatal("allowed")
			}
			for _, m := range ex.NearMisses {
				if m.Problem == tc.problem {
					if !strings.Contains(m.Why+m.Fix, tc.in) {
						t.Errorf("%s: %q does not mention %s", m.Problem, m.Why+" / "+m.Fix, tc.in)
					}
					return
				}
			}
			var got []string
			for _, m := range ex.NearMisses {
				got = append(got, m.Problem)
			}
			t.Errorf("no %s among %v", tc.problem, got)
		})
	}
}
