package rbac

import (
	"context"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/source"
)

func TestRulesRegistry(t *testing.T) {
	if _, err := finding.NewRegistry(Rules()...); err != nil {
		t.Fatal(err)
	}
}

func TestContosoFindings(t *testing.T) {
	a := contosoAuthorizer(t)
	fs := a.Check(context.Background())
	var got []string
	for _, f := range fs {
		got = append(got, f.RuleID+" "+f.Object.String())
		if f.Loc.File == "" || f.Fix == "" || f.Reason == "" {
			t.Errorf("%s %s: location, reason and fix are required: %+v", f.RuleID, f.Object, f)
		}
	}
	sort.Strings(got)
	for _, want := range []string{
		"AKS-ENTRA-001 RoleBinding/trading/trading-analysts-read",
		"AKS-ENTRA-003 ManagedCluster/aks-contoso-bank",
	} {
		i := sort.SearchStrings(got, want)
		if i == len(got) || got[i] != want {
			t.Errorf("missing finding %q in\n%s", want, cmp.Diff(nil, got))
		}
	}
	for _, g := range got {
		if g == "AKS-AUTH-001 ManagedCluster/aks-contoso-bank" {
			t.Errorf("local accounts are disabled in the example, got %q", g)
		}
	}
}

func TestChecksWorld(t *testing.T) {
	yes := true
	e := world(
		clusterRole("star", nil, rule(s("*"), s(""), s("configmaps"))),
		clusterRole("escalator", nil, rule(s("escalate", "bind"), s("rbac.authorization.k8s.io"), s("clusterroles"))),
		clusterRole("secret-reader", nil, rule(s("get"), s(""), s("secrets"))),
		clusterRole("exec", nil, rule(s("create"), s(""), s("pods/exec"))),
		clusterRole("pod-creator", nil, rule(s("create"), s(""), s("pods"))),
		crb("star-b", "star", user("u1")),
		crb("esc-b", "escalator", user("u2")),
		crb("secrets-b", "secret-reader", group("g-secrets")),
		rb("a", "exec-b", "ClusterRole", "exec", user("u3")),
		crb("admin-b", "cluster-admin", user("u4")),
		crb("anon-b", "secret-reader", group("system:unauthenticated")),
		crb("dangling-b", "nope", user("u5")),
		crb("bad-b", "star", rbacv1.Subject{Kind: "Robot", Name: "r"}),
		crb("powerful-sa", "cluster-admin", sa("x", "ci")),
		rb("x", "dev-pods", "ClusterRole", "pod-creator", group("devs")),
	)
	e.ServiceAccounts = append(e.ServiceAccounts, env.Item[corev1.ServiceAccount]{Loc: source.Location{File: "sa.yaml", Line: 1},
		Obj: &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "x", Name: "ci"}}})
	e.Cluster = &azure.ManagedCluster{Name: "aks1", Src: source.Location{File: "azure/aks.json", Line: 1}, DisableLocalAccounts: &yes,
		AADProfile: &azure.AADProfile{Managed: true}}
	a := New(e)
	var got []string
	for _, f := range a.Check(context.Background()) {
		got = append(got, f.RuleID+" "+f.Object.String())
	}
	sort.Strings(got)
	want := []string{
		"AKS-ENTRA-003 ManagedCluster/aks1",
		"AKS-RBAC-001 ClusterRoleBinding/dangling-b",
		"AKS-RBAC-002 ClusterRole/star",
		"AKS-RBAC-003 ClusterRole/escalator",
		"AKS-RBAC-004 ClusterRoleBinding/secrets-b",
		"AKS-RBAC-005 ClusterRole/exec",
		"AKS-RBAC-006 ClusterRoleBinding/admin-b",
		"AKS-RBAC-006 ClusterRoleBinding/powerful-sa",
		"AKS-RBAC-007 RoleBinding/x/dev-pods",
		"AKS-RBAC-008 ClusterRoleBinding/bad-b",
		"AKS-RBAC-009 ClusterRoleBinding/anon-b",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	// Local accounts on, no Entra integration.
	e.Cluster = &azure.ManagedCluster{Name: "aks2"}
	got = nil
	for _, f := range New(e).clusterFindings() {
		got = append(got, f.RuleID)
	}
	if diff := cmp.Diff([]string{"AKS-AUTH-001", "AKS-AUTH-002"}, got); diff != "" {
		t.Errorf("cluster findings (-want +got):\n%s", diff)
	}
}
