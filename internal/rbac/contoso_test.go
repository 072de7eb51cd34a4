package rbac

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

var contoso = sync.OnceValues(func() (*env.Environment, error) {
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		return nil, err
	}
	return env.New(s), nil
})

func contosoAuthorizer(t testing.TB) *Authorizer {
	t.Helper()
	e, err := contoso()
	if err != nil {
		t.Fatalf("loading examples/contoso-bank: %v", err)
	}
	return New(e)
}

func entraUser(t testing.TB, a *Authorizer, name string) *authn.Identity {
	t.Helper()
	id, err := authn.FromEntra(a.Env().Directory, name)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Lab 1 of the seed: the viewer group lists pods in every namespace and may
// not delete; erin is forbidden in trading because the RoleBinding names
// her group by display name.
func TestContosoLab1(t *testing.T) {
	a := contosoAuthorizer(t)
	tests := []struct {
		who, verb, resource, sub, ns string
		want                         bool
	}{
		{"carol@contoso.com", "list", "pods", "", "", true},
		{"carol@contoso.com", "list", "pods", "", "trading", true},
		{"carol@contoso.com", "get", "pods", "log", "production", true},
		{"carol@contoso.com", "delete", "pods", "", "default", false},
		{"carol@contoso.com", "get", "secrets", "", "default", false},
		{"dave@contoso.com", "list", "pods", "", "compliance", true}, // nested group compliance-auditors in aks-viewers
		{"alice@contoso.com", "delete", "nodes", "", "", true},
		{"bob@contoso.com", "create", "pods", "", "team-alpha", true},
		{"bob@contoso.com", "create", "pods", "", "default", false},
		{"bob@contoso.com", "create", "pods", "exec", "team-alpha", false},
		{"erin@contoso.com", "list", "pods", "", "trading", false},
	}
	for _, tc := range tests {
		t.Run(tc.who+" "+tc.verb+" "+tc.resource+"/"+tc.sub+" "+tc.ns, func(t *testing.T) {
			id := entraUser(t, a, tc.who)
			d := a.Authorize(&Attributes{User: id.User, Verb: tc.verb, Resource: tc.resource, Subresource: tc.sub, Namespace: tc.ns, ResourceRequest: true})
			if d.Allowed != tc.want {
				t.Errorf("allowed = %v, want %v (reason %q)", d.Allowed, tc.want, d.Reason)
			}
		})
	}
}

func TestContosoCarolReason(t *testing.T) {
	a := contosoAuthorizer(t)
	id := entraUser(t, a, "carol@contoso.com")
	d := a.Authorize(&Attributes{User: id.User, Verb: "list", Resource: "pods", ResourceRequest: true})
	want := `RBAC: allowed by ClusterRoleBinding "contoso-viewers-view" of ClusterRole "view" to Group "2b222222-0000-4000-8000-000000000002"`
	if diff := cmp.Diff(want, d.Reason); diff != "" {
		t.Errorf("reason (-want +got):\n%s", diff)
	}
}

func TestContosoExplainErin(t *testing.T) {
	a := contosoAuthorizer(t)
	id := entraUser(t, a, "erin@contoso.com")
	ex := a.Explain(&Attributes{User: id.User, Verb: "list", Resource: "pods", Namespace: "trading", ResourceRequest: true}, id)
	if ex.Decision.Allowed {
		t.Fatal("erin is allowed, want forbidden")
	}
	if len(ex.NearMisses) == 0 {
		t.Fatal("no near miss")
	}
	m := ex.NearMisses[0]
	if m.Problem != ProblemGroupDisplayName || m.Binding != "RoleBinding/trading/trading-analysts-read" {
		t.Errorf("nearest = %s %s, want %s RoleBinding/trading/trading-analysts-read", m.Problem, m.Binding, ProblemGroupDisplayName)
	}
	gid := ""
	for g, n := range id.GroupNames {
		if n == "trading-analysts" {
			gid = g
		}
	}
	if gid == "" || !strings.Contains(m.Fix, "name: "+gid) {
		t.Errorf("fix does not name the group object ID %q:\n%s", gid, m.Fix)
	}
}
