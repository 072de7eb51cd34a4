package rbac

import (
	"testing"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/azure"
)

func TestChainWithAzureRBAC(t *testing.T) {
	const cluster = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
	e := world(
		clusterRole("pod-reader", nil, rule(s("get"), s(""), s("pods"))),
		rb("a", "jane-pods", "ClusterRole", "pod-reader", user("jane@contoso.com")),
	)
	e.Cluster = &azure.ManagedCluster{ID: cluster, Name: "aks1", AADProfile: &azure.AADProfile{Managed: true, EnableAzureRBAC: true}}
	e.Azure.Cluster = e.Cluster
	e.Azure.RoleAssignments = []*azure.RoleAssignment{{ID: "ra1", PrincipalID: "oid-bob", Scope: cluster + "/namespaces/b",
		RoleDefinitionID: "/providers/Microsoft.Authorization/roleDefinitions/7f6c6a51-bcf8-42ba-9220-52d62157d7db"}}
	a := New(e, WithoutBootstrap(), WithoutAKSBindings())
	jane := authn.UserInfo{Name: "jane@contoso.com", Groups: s(authn.AllAuthenticated), Extra: map[string][]string{"oid": {"oid-jane"}}}
	bob := authn.UserInfo{Name: "bob@contoso.com", Groups: s(authn.AllAuthenticated), Extra: map[string][]string{"oid": {"oid-bob"}}}
	tests := []struct {
		name               string
		attrs              *Attributes
		allowed, denied    bool
		authorizer, reason string
	}{
		{"RBAC allows before the webhook", ask(jane, "get", "", "pods", "", "a", "p"), true, false, AuthorizerRBAC, `RBAC: allowed by RoleBinding "jane-pods/a" of ClusterRole "pod-reader" to User "jane@contoso.com"`},
		{"webhook denies what RBAC and Azure do not allow", ask(jane, "get", "", "pods", "", "b", "p"), false, true, AuthorizerAzureRBAC, "User does not have access to the resource in Azure. Update role assignment to allow access."},
		{"Azure role assignment at namespace scope", ask(bob, "list", "", "pods", "", "b", ""), true, false, AuthorizerAzureRBAC, "Access allowed by Azure RBAC"},
		{"ServiceAccounts fall through to no opinion", ask(authn.ServiceAccount("a", "x"), "get", "", "pods", "", "a", "p"), false, false, "", "webhook: Azure does not have opinion for this user."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := a.Authorize(tc.attrs)
			if d.Allowed != tc.allowed || d.Denied != tc.denied || d.Reason != tc.reason {
				t.Errorf("got allowed %v denied %v reason %q; want %v %v %q", d.Allowed, d.Denied, d.Reason, tc.allowed, tc.denied, tc.reason)
			}
			got := ""
			if d.DecidedBy != nil {
				got = d.DecidedBy.Authorizer
			}
			if got != tc.authorizer {
				t.Errorf("decided by %q, want %q", got, tc.authorizer)
			}
		})
	}
}

func TestAzureAdminFinding(t *testing.T) {
	const cluster = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks1"
	e := world()
	e.Cluster = &azure.ManagedCluster{ID: cluster, Name: "aks1", AADProfile: &azure.AADProfile{Managed: true, EnableAzureRBAC: true, AdminGroupObjectIDs: s("g-admins")}}
	def := "/providers/Microsoft.Authorization/roleDefinitions/"
	e.Azure.RoleAssignments = []*azure.RoleAssignment{
		{Name: "ra-ca", PrincipalID: "u1", Scope: cluster, RoleDefinitionID: def + "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"},
		{Name: "ra-admin-ns", PrincipalID: "u2", Scope: cluster + "/namespaces/a", RoleDefinitionID: def + "3498e952-d568-435e-9b2c-8d77e338d7f7"},
		{Name: "ra-admin-cluster", PrincipalID: "u3", Scope: "/subscriptions/s1", RoleDefinitionID: def + "3498e952-d568-435e-9b2c-8d77e338d7f7"},
		{Name: "ra-admins-group", PrincipalID: "g-admins", Scope: cluster, RoleDefinitionID: def + "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"},
		{Name: "ra-reader", PrincipalID: "u4", Scope: cluster, RoleDefinitionID: def + "7f6c6a51-bcf8-42ba-9220-52d62157d7db"},
	}
	var got []string
	for _, f := range New(e).azureFindings(map[string]bool{"g-admins": true}) {
		got = append(got, f.Object.Name)
	}
	if want := s("ra-ca", "ra-admin-cluster"); len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("findings on %v, want %v", got, want)
	}
}
