package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/akssec/akssec/internal/authn"
)

func TestCovers(t *testing.T) {
	tests := []struct {
		name           string
		owner, servant []rbacv1.PolicyRule
		want           bool
	}{
		{"same", []rbacv1.PolicyRule{rule(s("get"), s(""), s("pods"))}, []rbacv1.PolicyRule{rule(s("get"), s(""), s("pods"))}, true},
		{"star verb covers", []rbacv1.PolicyRule{rule(s("*"), s(""), s("pods"))}, []rbacv1.PolicyRule{rule(s("get", "delete"), s(""), s("pods"))}, true},
		{"servant star verb needs owner star", []rbacv1.PolicyRule{rule(s("get", "list"), s(""), s("pods"))}, []rbacv1.PolicyRule{rule(s("*"), s(""), s("pods"))}, false},
		{"*/scale covers foo/scale", []rbacv1.PolicyRule{rule(s("update"), s("apps"), s("*/scale"))}, []rbacv1.PolicyRule{rule(s("update"), s("apps"), s("deployments/scale"))}, true},
		{"named owner does not cover unnamed", []rbacv1.PolicyRule{rule(s("get"), s(""), s("pods"), "a")}, []rbacv1.PolicyRule{rule(s("get"), s(""), s("pods"))}, false},
		{"unnamed owner covers named", []rbacv1.PolicyRule{rule(s("get"), s(""), s("pods"))}, []rbacv1.PolicyRule{rule(s("get"), s(""), s("pods"), "a")}, true},
		{"url prefix", []rbacv1.PolicyRule{urlRule(s("get"), "/logs/*")}, []rbacv1.PolicyRule{urlRule(s("get"), "/logs/x")}, true},
		{"resource does not cover subresource", []rbacv1.PolicyRule{rule(s("get"), s(""), s("pods"))}, []rbacv1.PolicyRule{rule(s("get"), s(""), s("pods/log"))}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, _ := Covers(tc.owner, tc.servant); got != tc.want {
				t.Errorf("Covers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBindAllowed(t *testing.T) {
	e := world(
		clusterRole("pod-reader", nil, rule(s("get"), s(""), s("pods"))),
		clusterRole("secret-reader", nil, rule(s("get"), s(""), s("secrets"))),
		clusterRole("binder", nil, rule(s("bind"), s("rbac.authorization.k8s.io"), s("clusterroles"), "secret-reader")),
		rb("a", "jane-pods", "ClusterRole", "pod-reader", user("jane")),
		rb("a", "jane-binder", "ClusterRole", "binder", user("jane")),
	)
	a := New(e, WithoutBootstrap(), WithoutAKSBindings())
	jane := authn.Impersonate("jane", nil)
	ref := func(name string) rbacv1.RoleRef { return rbacv1.RoleRef{Kind: "ClusterRole", Name: name} }
	for _, tc := range []struct {
		name string
		u    authn.UserInfo
		ns   string
		ref  rbacv1.RoleRef
		want bool
	}{
		{"holds the rules in a", jane, "a", ref("pod-reader"), true},
		{"does not hold them in b", jane, "b", ref("pod-reader"), false},
		{"bind on the role name", jane, "a", ref("secret-reader"), true},
		{"bind is namespaced", jane, "b", ref("secret-reader"), false},
		{"cluster-wide needs cluster rules", jane, "", ref("pod-reader"), false},
		{"system:masters", authn.Impersonate("root", s("system:masters")), "", ref("cluster-admin"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, why := a.BindAllowed(tc.u, tc.ns, tc.ref); got != tc.want {
				t.Errorf("BindAllowed = %v (%s), want %v", got, why, tc.want)
			}
		})
	}
}
