package azurerbac

import (
	"testing"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

const cluster = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"

func TestDataAction(t *testing.T) {
	a := &Authorizer{clusterID: cluster}
	tests := []struct {
		req          Request
		action, scop string
	}{
		{Request{Verb: "get", Resource: "pods", Namespace: "ns", ResourceRequest: true}, "Microsoft.ContainerService/managedClusters/pods/read", cluster + "/namespaces/ns"},
		{Request{Verb: "list", APIGroup: "apps", Resource: "deployments", ResourceRequest: true}, "Microsoft.ContainerService/managedClusters/apps/deployments/read", cluster},
		{Request{Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "ns", ResourceRequest: true}, "Microsoft.ContainerService/managedClusters/pods/exec/action", cluster + "/namespaces/ns"},
		{Request{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "ns", ResourceRequest: true}, "Microsoft.ContainerService/managedClusters/pods/read", cluster + "/namespaces/ns"},
		{Request{Verb: "patch", APIGroup: "apps", Resource: "deployments", Subresource: "scale", ResourceRequest: true}, "Microsoft.ContainerService/managedClusters/apps/deployments/write", cluster},
		{Request{Verb: "deletecollection", Resource: "secrets", ResourceRequest: true}, "Microsoft.ContainerService/managedClusters/secrets/delete", cluster},
		{Request{Verb: "impersonate", Resource: "serviceaccounts", ResourceRequest: true}, "Microsoft.ContainerService/managedClusters/serviceaccounts/impersonate/action", cluster},
		{Request{Verb: "bind", APIGroup: "rbac.authorization.k8s.io", Resource: "clusterroles", ResourceRequest: true}, "Microsoft.ContainerService/managedClusters/rbac.authorization.k8s.io/clusterroles/bind/action", cluster},
		{Request{Verb: "get", Path: "/metrics"}, "Microsoft.ContainerService/managedClusters/metrics/read", cluster},
	}
	for _, tc := range tests {
		action, scope := a.DataAction(&tc.req)
		if action != tc.action || scope != tc.scop {
			t.Errorf("DataAction(%+v) = %s @ %s, want %s @ %s", tc.req, action, scope, tc.action, tc.scop)
		}
	}
}

func world(assignments ...*azure.RoleAssignment) *env.Environment {
	s := &snapshot.Snapshot{}
	s.Azure.Cluster = &azure.ManagedCluster{ID: cluster, Name: "aks1", AADProfile: &azure.AADProfile{Managed: true, EnableAzureRBAC: true}}
	s.Azure.RoleAssignments = assignments
	return env.New(s)
}

func assign(principal, role, scope string) *azure.RoleAssignment {
	return &azure.RoleAssignment{ID: "ra-" + principal + "-" + role[:4], PrincipalID: principal, Scope: scope,
		RoleDefinitionID: "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/" + role}
}

const (
	reader       = "7f6c6a51-bcf8-42ba-9220-52d62157d7db"
	writer       = "a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb"
	admin        = "3498e952-d568-435e-9b2c-8d77e338d7f7"
	clusterAdmin = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
)

func TestAuthorize(t *testing.T) {
	a := New(world(
		assign("u-reader", reader, cluster),
		assign("g-writers", writer, cluster+"/namespaces/team"),
		assign("u-admin", admin, cluster+"/namespaces/team"),
		assign("u-sub", clusterAdmin, "/subscriptions/s1"),
		assign("u-other", clusterAdmin, "/subscriptions/s2"),
	))
	user := func(oid string, groups ...string) authn.UserInfo {
		return authn.UserInfo{Name: oid + "@contoso.com", Groups: groups, Extra: map[string][]string{"oid": {oid}}}
	}
	tests := []struct {
		name            string
		req             Request
		allowed, denied bool
	}{
		{"reader lists pods anywhere", Request{User: user("u-reader"), Verb: "list", Resource: "pods", Namespace: "x", ResourceRequest: true}, true, false},
		{"reader reads pod logs (subresource collapses)", Request{User: user("u-reader"), Verb: "get", Resource: "pods", Subresource: "log", Namespace: "x", ResourceRequest: true}, true, false},
		{"reader cannot read secrets", Request{User: user("u-reader"), Verb: "get", Resource: "secrets", Namespace: "x", ResourceRequest: true}, false, true},
		{"reader cannot exec", Request{User: user("u-reader"), Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "x", ResourceRequest: true}, false, true},
		{"writer through group in its namespace", Request{User: user("u-w", "g-writers"), Verb: "get", Resource: "secrets", Namespace: "team", ResourceRequest: true}, true, false},
		{"writer execs (pods/*)", Request{User: user("u-w", "g-writers"), Verb: "create", Resource: "pods", Subresource: "exec", Namespace: "team", ResourceRequest: true}, true, false},
		{"writer not in another namespace", Request{User: user("u-w", "g-writers"), Verb: "get", Resource: "secrets", Namespace: "other", ResourceRequest: true}, false, true},
		{"namespace assignment does not grant cluster-wide", Request{User: user("u-w", "g-writers"), Verb: "list", Resource: "secrets", ResourceRequest: true}, false, true},
		{"writer has no RBAC rights", Request{User: user("u-w", "g-writers"), Verb: "create", APIGroup: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: "team", ResourceRequest: true}, false, true},
		{"admin creates rolebindings", Request{User: user("u-admin"), Verb: "create", APIGroup: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: "team", ResourceRequest: true}, true, false},
		{"admin NotDataActions resourcequotas write", Request{User: user("u-admin"), Verb: "update", Resource: "resourcequotas", Namespace: "team", ResourceRequest: true}, false, true},
		{"inherited from subscription", Request{User: user("u-sub"), Verb: "delete", Resource: "nodes", ResourceRequest: true}, true, false},
		{"other subscription does not cover", Request{User: user("u-other"), Verb: "get", Resource: "pods", Namespace: "x", ResourceRequest: true}, false, true},
		{"system users: no opinion", Request{User: authn.UserInfo{Name: "system:serviceaccount:a:b", Extra: map[string][]string{"oid": {"x"}}}, Verb: "get", Resource: "pods", ResourceRequest: true}, false, false},
		{"no oid: no opinion", Request{User: authn.UserInfo{Name: "jane"}, Verb: "get", Resource: "pods", ResourceRequest: true}, false, false},
		{"discovery allowed", Request{User: user("u-none"), Verb: "get", Path: "/apis/apps"}, true, false},
		{"non-discovery path denied", Request{User: user("u-none"), Verb: "get", Path: "/metrics"}, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.Authorize(&tc.req)
			if r.Allowed != tc.allowed || r.Denied != tc.denied {
				t.Errorf("allowed, denied = %v, %v; want %v, %v (%s %s)", r.Allowed, r.Denied, tc.allowed, tc.denied, r.DataAction, r.Reason)
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"a/*", "a/b/c", true},
		{"a/*/read", "a/b/read", true},
		{"a/*/read", "a/b/write", false},
		{"A/B", "a/b", true},
		{"a/b", "a/bc", false},
		{"*", "", true},
	} {
		if got := wildcardMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}
