package authn

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/entra"
)

func TestImpersonate(t *testing.T) {
	tests := []struct {
		name   string
		user   string
		groups []string
		want   UserInfo
	}{
		{"user gets authenticated", "jane", nil, UserInfo{Name: "jane", Groups: []string{AllAuthenticated}}},
		{"groups kept and authenticated added", "jane", []string{"dev"}, UserInfo{Name: "jane", Groups: []string{"dev", AllAuthenticated}}},
		{"authenticated not duplicated", "jane", []string{AllAuthenticated, "dev"}, UserInfo{Name: "jane", Groups: []string{AllAuthenticated, "dev"}}},
		{"unauthenticated requested: no authenticated", "jane", []string{AllUnauthenticated}, UserInfo{Name: "jane", Groups: []string{AllUnauthenticated}}},
		{"service account gets its groups", "system:serviceaccount:ns1:sa1", nil, UserInfo{Name: "system:serviceaccount:ns1:sa1", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns1", AllAuthenticated}}},
		{"service account with explicit groups", "system:serviceaccount:ns1:sa1", []string{"g"}, UserInfo{Name: "system:serviceaccount:ns1:sa1", Groups: []string{"g", AllAuthenticated}}},
		{"anonymous gets unauthenticated", Anonymous, nil, UserInfo{Name: Anonymous, Groups: []string{AllUnauthenticated}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Impersonate(tc.user, tc.groups)); diff != "" {
				t.Errorf("Impersonate (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSplitServiceAccountUsername(t *testing.T) {
	for _, tc := range []struct {
		in       string
		ns, name string
		ok       bool
	}{
		{"system:serviceaccount:a:b", "a", "b", true},
		{"system:serviceaccount:a", "", "", false},
		{"system:serviceaccount::b", "", "", false},
		{"system:serviceaccount:a:b:c", "", "", false},
		{"jane", "", "", false},
	} {
		ns, name, ok := SplitServiceAccountUsername(tc.in)
		if ns != tc.ns || name != tc.name || ok != tc.ok {
			t.Errorf("Split(%q) = %q, %q, %v; want %q, %q, %v", tc.in, ns, name, ok, tc.ns, tc.name, tc.ok)
		}
	}
}

func directory(nGroups int) *entra.Directory {
	d := &azure.Data{
		Users: []*azure.User{
			{ID: "u-member", UserPrincipalName: "alice@contoso.com", DisplayName: "Alice"},
			{ID: "u-guest", UserPrincipalName: "gina_fabrikam.com#EXT#@contoso.onmicrosoft.com", DisplayName: "Gina", UserType: "Guest"},
			{ID: "u-many", UserPrincipalName: "many@contoso.com"},
		},
		ServicePrincipals: []*azure.ServicePrincipal{
			{ID: "sp-object", AppID: "sp-app", DisplayName: "ci-deployer", ServicePrincipalType: "Application"},
			{ID: "sp-many", AppID: "sp-many-app", DisplayName: "busy-app", ServicePrincipalType: "Application"},
		},
		Identities: []*azure.Identity{{Name: "myapp-identity", ClientID: "mi-client", PrincipalID: "mi-object"}},
		Groups: []*azure.Group{
			{ID: "g-outer", DisplayName: "outer", SecurityEnabled: true},
			{ID: "g-inner", DisplayName: "inner", SecurityEnabled: true},
			{ID: "g-m365", DisplayName: "all-staff", MailEnabled: true, GroupTypes: []string{"Unified"}},
		},
		Members: []*azure.GroupMembers{
			{GroupID: "g-outer", Members: []*azure.Member{{ID: "g-inner", ODataType: "#microsoft.graph.group"}}},
			{GroupID: "g-inner", Members: []*azure.Member{{ID: "u-member"}, {ID: "u-guest"}, {ID: "sp-object", ODataType: "#microsoft.graph.servicePrincipal"}, {ID: "mi-object", ODataType: "#microsoft.graph.servicePrincipal"}}},
			{GroupID: "g-m365", Members: []*azure.Member{{ID: "u-member"}, {ID: "u-many"}}},
		},
	}
	for i := 0; i < nGroups; i++ {
		gid := fmt.Sprintf("g-%03d", i)
		d.Groups = append(d.Groups, &azure.Group{ID: gid, DisplayName: gid, SecurityEnabled: true})
		d.Members = append(d.Members, &azure.GroupMembers{GroupID: gid, Members: []*azure.Member{{ID: "u-many"}, {ID: "sp-many", ODataType: "#microsoft.graph.servicePrincipal"}}})
	}
	return entra.New(d)
}

func TestFromEntra(t *testing.T) {
	dir := directory(0)
	oid := func(id string) map[string][]string { return map[string][]string{"oid": {id}} }
	tests := []struct {
		name string
		who  string
		want UserInfo
		from string
	}{
		{"member user by UPN: username is the UPN, transitive security groups", "alice@contoso.com",
			UserInfo{Name: "alice@contoso.com", Groups: []string{"g-inner", "g-outer", AllAuthenticated}, Extra: oid("u-member")}, "upn"},
		{"member user by object ID", "u-member",
			UserInfo{Name: "alice@contoso.com", Groups: []string{"g-inner", "g-outer", AllAuthenticated}, Extra: oid("u-member")}, "upn"},
		{"guest: username is the object ID", "Gina",
			UserInfo{Name: "u-guest", Groups: []string{"g-inner", "g-outer", AllAuthenticated}, Extra: oid("u-guest")}, "oid"},
		{"service principal by client ID: username is the SP object ID", "sp-app",
			UserInfo{Name: "sp-object", Groups: []string{"g-inner", "g-outer", AllAuthenticated}, Extra: oid("sp-object")}, "oid"},
		{"managed identity by name: username is its object ID", "myapp-identity",
			UserInfo{Name: "mi-object", Groups: []string{"g-inner", "g-outer", AllAuthenticated}, Extra: oid("mi-object")}, "oid"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, err := FromEntra(dir, tc.who)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, id.User); diff != "" {
				t.Errorf("user info (-want +got):\n%s", diff)
			}
			if id.UsernameFrom != tc.from {
				t.Errorf("username from %q, want %q", id.UsernameFrom, tc.from)
			}
		})
	}
	if _, err := FromEntra(dir, "outer"); err == nil {
		t.Error("a group authenticated, want an error")
	}
	if _, err := FromEntra(dir, "nobody@contoso.com"); err == nil {
		t.Error("an unknown principal authenticated, want an error")
	}
}

func TestOverage(t *testing.T) {
	dir := directory(GroupOverageLimit) // u-many: 200 + the M365 group; sp-many: 200
	id, err := FromEntra(dir, "many@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if id.Overage || len(id.User.Groups) != GroupOverageLimit+1 {
		t.Errorf("200 security groups: overage %v, %d groups; want no overage, 200 groups + system:authenticated", id.Overage, len(id.User.Groups))
	}
	dir = directory(GroupOverageLimit + 1)
	id, _ = FromEntra(dir, "many@contoso.com")
	if !id.Overage || !id.Authenticated() {
		t.Fatalf("201 groups: overage %v, err %q; want overage resolved through Graph", id.Overage, id.Err)
	}
	// getMemberGroups with securityEnabledOnly false adds the M365 group.
	if got, want := len(id.User.Groups), GroupOverageLimit+1+1+1; got != want {
		t.Errorf("groups after overage = %d, want %d (all groups and system:authenticated)", got, want)
	}
	sp, _ := FromEntra(dir, "busy-app")
	if sp.Authenticated() || sp.Err != "service principal with group membership exceeding 200 is not supported" {
		t.Errorf("SP with 201 groups: err %q, want Guard's rejection", sp.Err)
	}
}

func TestLocal(t *testing.T) {
	yes, no := true, false
	if l := Local(&azure.ManagedCluster{}); !l.Enabled || l.Admin == nil || !l.Admin.InGroup(SystemMasters) {
		t.Errorf("default: %+v, want local accounts enabled with a system:masters admin", l)
	}
	if l := Local(&azure.ManagedCluster{DisableLocalAccounts: &no}); !l.Enabled {
		t.Error("disableLocalAccounts false: local accounts disabled, want enabled")
	}
	if l := Local(&azure.ManagedCluster{DisableLocalAccounts: &yes}); l.Enabled || l.Admin != nil {
		t.Errorf("disableLocalAccounts true: %+v, want disabled", l)
	}
	if Local(nil) != nil {
		t.Error("no cluster: want nil")
	}
}
