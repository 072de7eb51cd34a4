package rbac

import (
	"fmt"
	"math/rand/v2"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/akssec/akssec/internal/authn"
)

// naiveAuthorize is DefaultRuleResolver.VisitRulesFor and the RBAC
// authorizer transcribed without indexes: every ClusterRoleBinding, then
// every RoleBinding of the namespace, in order.
func naiveAuthorize(a *Authorizer, attrs *Attributes) (bool, string) {
	var errs []error
	visit := func(b *Binding, ns string) (bool, string) {
		si, ok := appliesTo(&attrs.User, b.Subjects, ns)
		if !ok {
			return false, ""
		}
		role, err := a.resolve(b.RoleRef, b.Namespace)
		if err != nil {
			errs = append(errs, err)
			return false, ""
		}
		for i := range role.Rules {
			if RuleAllows(attrs, &role.Rules[i]) {
				return true, "RBAC: allowed by " + b.describe[si]
			}
		}
		return false, ""
	}
	for _, b := range a.Bindings[:a.numCRB] {
		if ok, r := visit(b, ""); ok {
			return true, r
		}
	}
	if attrs.Namespace != "" {
		for _, b := range a.Bindings[a.numCRB:] {
			if b.Namespace != attrs.Namespace {
				continue
			}
			if ok, r := visit(b, attrs.Namespace); ok {
				return true, r
			}
		}
	}
	if len(errs) > 0 {
		return false, "RBAC: " + utilerrors.NewAggregate(errs).Error()
	}
	return false, ""
}

// TestIndexedMatchesNaive checks the indexed authorizer against the
// transcription on random worlds and requests.
func TestIndexedMatchesNaive(t *testing.T) {
	nss := s("a", "b", "c")
	users := s("alice", "bob", "system:serviceaccount:a:sa1", "system:serviceaccount:b:sa2", "system:serviceaccount:a:default")
	groups := s("devs", "ops", "system:authenticated", "system:serviceaccounts", "system:serviceaccounts:a")
	apiGroups := s("", "apps", "*")
	ruleRes := s("pods", "secrets", "*", "pods/log", "*/scale", "pods/*", "deployments", "nodes")
	verbs := s("get", "list", "create", "delete", "*", "impersonate")
	names := s("web", "db")
	queryRes := s("pods", "secrets", "deployments", "nodes")
	subres := s("", "", "log", "scale", "*")
	for seed := uint64(1); seed <= 20; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
		some := func(xs []string) []string {
			out := []string{pick(xs)}
			if r.IntN(2) == 0 {
				out = append(out, pick(xs))
			}
			return out
		}
		rules := func(urls bool) []rbacv1.PolicyRule {
			var out []rbacv1.PolicyRule
			for range 1 + r.IntN(3) {
				if urls && r.IntN(5) == 0 {
					out = append(out, urlRule(some(s("get", "*")), some(s("/healthz", "/api/*", "*"))...))
					continue
				}
				ru := rule(some(verbs), some(apiGroups), some(ruleRes))
				if r.IntN(4) == 0 {
					ru.ResourceNames = some(names)
				}
				out = append(out, ru)
			}
			return out
		}
		subjects := func(namespaced bool) []rbacv1.Subject {
			var out []rbacv1.Subject
			for range 1 + r.IntN(3) {
				switch r.IntN(3) {
				case 0:
					out = append(out, user(pick(users[:2])))
				case 1:
					out = append(out, group(pick(groups)))
				default:
					ns := pick(nss)
					if namespaced && r.IntN(3) == 0 {
						ns = ""
					}
					out = append(out, sa(ns, pick(s("sa1", "sa2", "default"))))
				}
			}
			return out
		}
		var objs []any
		for i := range 6 {
			objs = append(objs, clusterRole(fmt.Sprintf("cr%d", i), nil, rules(true)...))
		}
		for _, ns := range nss {
			for i := range 3 {
				objs = append(objs, role(ns, fmt.Sprintf("r%d", i), rules(false)...))
			}
			for i := range 5 {
				kind, name := "Role", fmt.Sprintf("r%d", r.IntN(4))
				if r.IntN(2) == 0 {
					kind, name = "ClusterRole", fmt.Sprintf("cr%d", r.IntN(7))
				}
				objs = append(objs, rb(ns, fmt.Sprintf("rb%d", i), kind, name, subjects(true)...))
			}
		}
		for i := range 5 {
			objs = append(objs, crb(fmt.Sprintf("crb%d", i), fmt.Sprintf("cr%d", r.IntN(7)), subjects(false)...))
		}
		a := New(world(objs...), WithoutBootstrap(), WithoutAKSBindings())
		for q := 0; q < 500; q++ {
			u := authn.UserInfo{Name: pick(users)}
			for range r.IntN(3) {
				u.Groups = append(u.Groups, pick(groups))
			}
			var attrs *Attributes
			if r.IntN(6) == 0 {
				attrs = &Attributes{User: u, Verb: pick(s("get", "post")), Path: pick(s("/healthz", "/api", "/api/v1", "/metrics"))}
			} else {
				attrs = ask(u, pick(verbs[:4]), pick(apiGroups[:2]), pick(queryRes), pick(subres), pick(append(nss, "")), pick(append(names, "", "x")))
			}
			gotD := a.AuthorizeRBAC(attrs)
			wantOK, wantReason := naiveAuthorize(a, attrs)
			if gotD.Allowed != wantOK || gotD.Reason != wantReason {
				t.Fatalf("seed %d: %s by %+v: got %v %q, naive %v %q", seed, attrs, attrs.User, gotD.Allowed, gotD.Reason, wantOK, wantReason)
			}
		}
	}
}
