package entra

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/azure"
)

func dir() *Directory {
	return New(&azure.Data{
		Users: []*azure.User{
			{ID: "u1", UserPrincipalName: "Ann@Contoso.com", DisplayName: "Ann"},
			{ID: "u2", UserPrincipalName: "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com", DisplayName: "Bob"},
			{ID: "u3", UserPrincipalName: "carl@contoso.com", DisplayName: "Twin"},
			{ID: "u4", UserPrincipalName: "dina@contoso.com", DisplayName: "Twin"},
		},
		Groups: []*azure.Group{{ID: "g1", DisplayName: "outer"}, {ID: "g2", DisplayName: "inner"}, {ID: "g3", DisplayName: "loop"}},
		Members: []*azure.GroupMembers{
			{GroupID: "g1", Members: []*azure.Member{{ODataType: "#microsoft.graph.group", ID: "g2"}, {ID: "u3"}}},
			{GroupID: "g2", Members: []*azure.Member{{ODataType: "#microsoft.graph.user", ID: "u1"}, {ODataType: "#microsoft.graph.group", ID: "g3"}}},
			// A cycle Entra forbids but a snapshot may hold must not hang.
			{GroupID: "g3", Members: []*azure.Member{{ODataType: "#microsoft.graph.group", ID: "g1"}, {ID: "u2"}}},
		},
		Identities: []*azure.Identity{{Name: "mi", ClientID: "c1", PrincipalID: "p1"}},
	})
}

func TestResolve(t *testing.T) {
	d := dir()
	for _, tt := range []struct{ name, wantID, wantErr string }{
		{"ann@contoso.com", "u1", ""}, // UPNs are case-insensitive in Entra
		{"U1", "u1", ""},              // object IDs are GUIDs: case-insensitive
		{"c1", "p1", ""},              // client ID of a managed identity
		{"inner", "g2", ""},
		{"Twin", "", "ambiguous"},
		{"nobody", "", "no Entra principal"},
	} {
		p, err := d.Resolve(tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Resolve(%q) error = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || p.ID != tt.wantID {
			t.Errorf("Resolve(%q) = %v, %v; want %s", tt.name, p, err, tt.wantID)
		}
	}
	if mi := d.IdentityByClientID("C1"); mi == nil || mi.Kind != KindManagedIdentity {
		t.Errorf("identity by client ID = %+v", mi)
	}
	if !d.ByUPN("bob_fabrikam.com#ext#@contoso.onmicrosoft.com").Guest {
		t.Error("an #EXT# UPN is a guest")
	}
}

func TestTransitive(t *testing.T) {
	d := dir()
	if diff := cmp.Diff([]string{"g1", "g2", "g3"}, d.TransitiveGroups("u1")); diff != "" {
		t.Errorf("groups of u1 through nesting and a cycle (-want +got):\n%s", diff)
	}
	var ids []string
	for _, p := range d.TransitiveMembers("g2") {
		ids = append(ids, p.ID)
	}
	if diff := cmp.Diff([]string{"u1", "u2", "u3"}, ids); diff != "" {
		t.Errorf("members of g2 (-want +got):\n%s", diff)
	}
	if !d.MembersKnown("G1") || d.MembersKnown("g9") {
		t.Error("MembersKnown")
	}
}
