package graph

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

func exampleGraph(t *testing.T) (*env.Environment, *Graph) {
	t.Helper()
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := env.New(s)
	g, err := Build(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return e, g
}

func labels(p *Path) []string {
	if p == nil {
		return nil
	}
	var out []string
	for _, n := range p.Nodes {
		out = append(out, n.Label)
	}
	return out
}

// The planted three-layer path: bob is in team-alpha-devs, which may create
// pods in team-alpha, where alpha-ci-sa is federated to alpha-ci-identity,
// which Key Vault lets get db-password.
func TestExampleAttackPath(t *testing.T) {
	e, g := exampleGraph(t)
	src, err := g.Resolve(e.Directory, "bob@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := g.Resolve(e.Directory, "keyvault/myKV/db-password")
	if err != nil {
		t.Fatal(err)
	}
	p := g.Shortest(src[0], dst[0], 0)
	want := []string{
		"user bob@contoso.com",
		"Kubernetes group 2b222222-0000-4000-8000-000000000003 (team-alpha-devs)",
		"create pods in team-alpha",
		"ServiceAccount team-alpha/alpha-ci-sa",
		"managed identity alpha-ci-identity",
		"Key Vault secret myKV/db-password",
	}
	if diff := cmp.Diff(want, labels(p)); diff != "" {
		t.Fatalf("path (-want +got):\n%s", diff)
	}
	if got := len(p.Layers()); got < 3 {
		t.Errorf("path crosses %d layers, want at least 3: %v", got, p.Layers())
	}
	for _, e := range p.Edges {
		if e.Action == "may create pods in team-alpha" && (len(e.Evidence) == 0 || !strings.Contains(e.Evidence[0].Loc.String(), "kubernetes/rbac.yaml:")) {
			t.Errorf("RBAC edge lacks the binding's location: %+v", e.Evidence)
		}
	}
}

func TestNoPathWhereTheLayersHold(t *testing.T) {
	e, g := exampleGraph(t)
	dst, _ := g.Resolve(e.Directory, "myKV/db-password")
	for _, who := range []string{
		"carol@contoso.com", // view: no create pods, no secrets
		"erin@contoso.com",  // her RoleBinding names the group by display name
		"contractors",       // the assertion suite's path: none
		"gina_fabrikam.com#EXT#@contosobank.onmicrosoft.com",
	} {
		src, err := g.Resolve(e.Directory, who)
		if err != nil {
			t.Fatal(err)
		}
		if p := g.Shortest(src[0], dst[0], 0); p != nil {
			t.Errorf("%s reaches db-password: %s", who, p)
		}
	}
}

func TestTradingIdentityIsNotReachedThroughTheBrokenCredential(t *testing.T) {
	_, g := exampleGraph(t)
	// trading-identity's credential lacks the issuer's trailing slash, so
	// Entra refuses the exchange: trading-sa must not become the identity.
	for _, e := range g.Out(saID("trading", "trading-sa")) {
		if strings.Contains(e.To, "trading-identity") {
			t.Errorf("edge through a mismatched federated credential: %+v", e)
		}
	}
	if len(g.Out(saID("team-alpha", "alpha-ci-sa"))) == 0 {
		t.Error("alpha-ci-sa has no edges")
	}
}

func TestAllSimpleIncludesShortest(t *testing.T) {
	e, g := exampleGraph(t)
	src, _ := g.Resolve(e.Directory, "alice@contoso.com")
	dst, _ := g.Resolve(e.Directory, "myKV/db-password")
	all := g.AllSimple(src[0], dst[0], 8)
	short := g.Shortest(src[0], dst[0], 0)
	if len(all) < 2 || short == nil || len(all[0].Edges) != len(short.Edges) {
		t.Fatalf("alice: %d simple paths, shortest %v", len(all), short)
	}
	// alice holds Key Vault Administrator on myKV: one hop.
	if len(short.Edges) != 1 {
		t.Errorf("alice's shortest path = %s, want the direct Key Vault role", short)
	}
}

// Only groups the token carries count: a Microsoft 365 group (mail-enabled,
// not security-enabled) bound in RBAC grants its members nothing.
func TestOnlyTokenGroupsGrant(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"kubernetes/rbac.yaml": `apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: m365, namespace: x}
subjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: g-m365}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: sec, namespace: x}
subjects: [{kind: Group, apiGroup: rbac.authorization.k8s.io, name: g-sec}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
`,
		"azure/users.json":          `[{"id": "u-1", "userPrincipalName": "u1@contoso.com"}, {"id": "u-2", "userPrincipalName": "u2@contoso.com"}]`,
		"azure/groups.json":         `[{"id": "g-m365", "displayName": "m365", "securityEnabled": false, "mailEnabled": true, "groupTypes": ["Unified"]}, {"id": "g-sec", "displayName": "sec", "securityEnabled": true}]`,
		"azure/members/g-m365.json": `[{"@odata.type": "#microsoft.graph.user", "id": "u-1"}]`,
		"azure/members/g-sec.json":  `[{"@odata.type": "#microsoft.graph.user", "id": "u-2"}]`,
	}
	for name, content := range files {
		p := dir + "/" + name
		if err := os.MkdirAll(p[:strings.LastIndex(p, "/")], 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := env.New(s)
	g, err := Build(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if p := g.Shortest(principalID("u-1"), createPodsID("x"), 0); p != nil {
		t.Errorf("member of a Microsoft 365 group reaches create pods: %s", p)
	}
	if p := g.Shortest(principalID("u-2"), createPodsID("x"), 0); p == nil {
		t.Error("member of a security group does not reach create pods")
	}
}

// Impersonating ServiceAccounts, or creating their tokens, becomes them
// without a pod: no admission layer stands in the way.
func TestImpersonationAndTokenRequestBecomeServiceAccounts(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"kubernetes/rbac.yaml": `apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: x}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: imp, namespace: x}
rules: [{apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: imp, namespace: x}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: u1@contoso.com}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: imp}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: tok, namespace: x}
rules: [{apiGroups: [""], resources: [serviceaccounts/token], verbs: [create]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: tok, namespace: x}
subjects: [{kind: User, apiGroup: rbac.authorization.k8s.io, name: u2@contoso.com}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: tok}
`,
		"azure/users.json": `[{"id": "u-1", "userPrincipalName": "u1@contoso.com"}, {"id": "u-2", "userPrincipalName": "u2@contoso.com"}, {"id": "u-3", "userPrincipalName": "u3@contoso.com"}]`,
	}
	for name, content := range files {
		p := dir + "/" + name
		os.MkdirAll(p[:strings.LastIndex(p, "/")], 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Build(context.Background(), env.New(s))
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"u-1", "u-2"} {
		if p := g.Shortest(principalID(who), saID("x", "deployer"), 0); p == nil {
			t.Errorf("%s does not become x/deployer", who)
		}
	}
	if p := g.Shortest(principalID("u-3"), saID("x", "deployer"), 0); p != nil {
		t.Errorf("u3 has no right but becomes x/deployer: %s", p)
	}
}
