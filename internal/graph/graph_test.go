package graph

import (
	"context"
	"fmt"
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

// buildGraph writes a snapshot of files and builds its graph.
func buildGraph(t *testing.T, files map[string]string) *Graph {
	t.Helper()
	dir := t.TempDir()
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
	g, err := Build(context.Background(), env.New(s))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// steps renders a path as "node —action→ node ...", "" for no path.
func steps(p *Path) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(p.Nodes[0].Label)
	for i, e := range p.Edges {
		b.WriteString(" —" + e.Action + "→ " + p.Nodes[i+1].Label)
	}
	return b.String()
}

const testUsers = `[{"id": "u-1", "userPrincipalName": "u1@contoso.com"}, {"id": "u-2", "userPrincipalName": "u2@contoso.com"},
 {"id": "u-3", "userPrincipalName": "u3@contoso.com"}, {"id": "u-4", "userPrincipalName": "u4@contoso.com"},
 {"id": "u-5", "userPrincipalName": "u5@contoso.com"}, {"id": "u-6", "userPrincipalName": "u6@contoso.com"}]`

// rbacDoc is a Role or ClusterRole (ns "") with rules in flow YAML and its
// binding to one subject.
func rbacDoc(ns, name, rules, subject string) string {
	if ns == "" {
		return fmt.Sprintf(`---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: %[1]s}
rules: %[2]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: %[1]s}
subjects: [%[3]s]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %[1]s}
`, name, rules, subject)
	}
	return fmt.Sprintf(`---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[1]s, namespace: %[4]s}
rules: %[2]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[1]s, namespace: %[4]s}
subjects: [%[3]s]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[1]s}
`, name, rules, subject, ns)
}

func userSubject(n int) string {
	return fmt.Sprintf("{kind: User, apiGroup: rbac.authorization.k8s.io, name: u%d@contoso.com}", n)
}

const namespacesXY = `apiVersion: v1
kind: Namespace
metadata: {name: x}
---
apiVersion: v1
kind: Namespace
metadata: {name: "y"}
`

type pathCase struct {
	name     string
	from, to string
	want     string
}

func checkPaths(t *testing.T, g *Graph, cases []pathCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.want != "" && g.Node(c.to) == nil {
				t.Fatalf("no node %s", c.to)
			}
			if diff := cmp.Diff(c.want, steps(g.Shortest(c.from, c.to, 0))); diff != "" {
				t.Errorf("path (-want +got):\n%s", diff)
			}
		})
	}
}

// bind: creating RoleBindings (ClusterRoleBindings) plus bind on a role
// grants its rights in the namespace (cluster-wide); bind is checked on the
// role by name, so resourceNames limit which role.
func TestBindEdges(t *testing.T) {
	g := buildGraph(t, map[string]string{
		"kubernetes/rbac.yaml": namespacesXY +
			// u1: RoleBindings in x, bind only ClusterRole edit.
			rbacDoc("x", "rb-edit", `[{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}]`, userSubject(1)) +
			rbacDoc("", "bind-edit", `[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [edit]}]`, userSubject(1)) +
			// u2: ClusterRoleBindings and bind any ClusterRole.
			rbacDoc("", "crb-any", `[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}, {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}]`, userSubject(2)) +
			// u3: RoleBindings in x, bind only view: nothing gained.
			rbacDoc("x", "rb-view", `[{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}, {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [view]}]`, userSubject(3)) +
			// u4: bind anything but no binding to create.
			rbacDoc("", "bind-only", `[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles, roles], verbs: [bind]}]`, userSubject(4)) +
			// u5: ClusterRoleBindings through a RoleBinding: cluster-scoped, never granted.
			rbacDoc("x", "crb-in-ns", `[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterrolebindings], verbs: [create]}, {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind]}]`, userSubject(5)),
		"azure/users.json": testUsers,
	})
	checkPaths(t, g, []pathCase{
		{"bind edit in x", principalID("u-1"), createPodsID("x"),
			"user u1@contoso.com —signs in as→ Kubernetes user u1@contoso.com —may bind ClusterRole/edit to itself in x, so may create pods in x→ create pods in x"},
		{"bind edit in x gives nothing in y", principalID("u-1"), createPodsID("y"), ""},
		{"bind cluster-admin cluster-wide", principalID("u-2"), kubeSecretsID("y"),
			"user u2@contoso.com —signs in as→ Kubernetes user u2@contoso.com —may bind ClusterRole/cluster-admin to itself cluster-wide, so may read Secrets in y→ Secrets of y"},
		{"bind restricted to view", principalID("u-3"), createPodsID("x"), ""},
		{"bind restricted to view: no Secrets", principalID("u-3"), kubeSecretsID("x"), ""},
		{"bind without create rolebindings", principalID("u-4"), createPodsID("x"), ""},
		{"clusterrolebindings through a RoleBinding", principalID("u-5"), createPodsID("y"), ""},
	})
}

// An Entra user's token carries all its groups: one group may give the
// RoleBindings and another the bind.
func TestBindThroughTwoGroups(t *testing.T) {
	group := func(id string) string { return "{kind: Group, apiGroup: rbac.authorization.k8s.io, name: " + id + "}" }
	g := buildGraph(t, map[string]string{
		"kubernetes/rbac.yaml": namespacesXY +
			rbacDoc("x", "rb", `[{apiGroups: [rbac.authorization.k8s.io], resources: [rolebindings], verbs: [create]}]`, group("g-a")) +
			rbacDoc("", "bind-edit", `[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [edit]}]`, group("g-b")),
		"azure/users.json":       testUsers,
		"azure/groups.json":      `[{"id": "g-a", "displayName": "a", "securityEnabled": true}, {"id": "g-b", "displayName": "b", "securityEnabled": true}]`,
		"azure/members/g-a.json": `[{"@odata.type": "#microsoft.graph.user", "id": "u-1"}, {"@odata.type": "#microsoft.graph.user", "id": "u-2"}]`,
		"azure/members/g-b.json": `[{"@odata.type": "#microsoft.graph.user", "id": "u-1"}, {"@odata.type": "#microsoft.graph.user", "id": "u-3"}]`,
	})
	checkPaths(t, g, []pathCase{
		{"in both groups", principalID("u-1"), createPodsID("x"),
			"user u1@contoso.com —may bind ClusterRole/edit to itself in x (its user and groups together), so may create pods in x→ create pods in x"},
		{"RoleBindings only", principalID("u-2"), createPodsID("x"), ""},
		{"bind only", principalID("u-3"), createPodsID("x"), ""},
		{"the group alone", principalID("g-a"), createPodsID("x"), ""},
	})
}

// escalate: a subject that may update a role it is bound to and passes the
// escalation check (escalate on that role) adds any rule to it.
func TestEscalateEdges(t *testing.T) {
	g := buildGraph(t, map[string]string{
		"kubernetes/rbac.yaml": namespacesXY +
			rbacDoc("x", "self-editor", `[{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [get, update, escalate]}]`, userSubject(1)) +
			// update without escalate: the registry refuses new rules.
			rbacDoc("x", "no-escalate", `[{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [get, update]}]`, userSubject(2)) +
			// escalate only on another role.
			rbacDoc("x", "other-escalate", `[{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [update]}, {apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate], resourceNames: [someone-else]}]`, userSubject(3)) +
			// patch and escalate on its own ClusterRole, bound cluster-wide.
			rbacDoc("", "cluster-self", `[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [patch, escalate], resourceNames: [cluster-self]}]`, userSubject(4)),
		"azure/users.json": testUsers,
	})
	checkPaths(t, g, []pathCase{
		{"update and escalate its Role", principalID("u-1"), createPodsID("x"),
			"user u1@contoso.com —signs in as→ Kubernetes user u1@contoso.com —may escalate Role/x/self-editor (bound by RoleBinding/x/self-editor) to any right, so may create pods in x→ create pods in x"},
		{"a Role's rights stay in its namespace", principalID("u-1"), createPodsID("y"), ""},
		{"update without escalate", principalID("u-2"), createPodsID("x"), ""},
		{"escalate on another role", principalID("u-3"), createPodsID("x"), ""},
		{"patch and escalate its ClusterRole by name", principalID("u-4"), execPodsID("y"),
			"user u4@contoso.com —signs in as→ Kubernetes user u4@contoso.com —may escalate ClusterRole/cluster-self (bound by ClusterRoleBinding/cluster-self) to any right, so may exec into pods in y→ exec into pods in y"},
	})
}

// impersonate: users by name (resourceNames honoured); groups only with a
// user to impersonate as well.
func TestImpersonateUsersAndGroups(t *testing.T) {
	g := buildGraph(t, map[string]string{
		"kubernetes/rbac.yaml": namespacesXY +
			rbacDoc("x", "pods", `[{apiGroups: [""], resources: [pods], verbs: [create]}]`, userSubject(2)+", {kind: Group, apiGroup: rbac.authorization.k8s.io, name: ops}") +
			rbacDoc("", "imp-u2", `[{apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [u2@contoso.com]}]`, userSubject(1)) +
			rbacDoc("", "imp-u5", `[{apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [u5@contoso.com]}]`, userSubject(5)) +
			rbacDoc("", "imp-ops", `[{apiGroups: [""], resources: [groups], verbs: [impersonate], resourceNames: [ops]}]`, userSubject(3)) +
			rbacDoc("", "imp-ops-as-nobody", `[{apiGroups: [""], resources: [groups], verbs: [impersonate], resourceNames: [ops]}, {apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [nobody]}]`, userSubject(4)),
		"azure/users.json": testUsers,
	})
	checkPaths(t, g, []pathCase{
		{"impersonate a named user", principalID("u-1"), createPodsID("x"),
			"user u1@contoso.com —signs in as→ Kubernetes user u1@contoso.com —may impersonate user u2@contoso.com→ Kubernetes user u2@contoso.com —may create pods in x→ create pods in x"},
		{"impersonate another user only", principalID("u-5"), createPodsID("x"), ""},
		{"a group without a user", principalID("u-3"), createPodsID("x"), ""},
		{"a group with a user", principalID("u-4"), createPodsID("x"),
			"user u4@contoso.com —signs in as→ Kubernetes user u4@contoso.com —may impersonate group ops→ Kubernetes group ops —may create pods in x→ create pods in x"},
	})
}

// The user a group impersonation needs may come from another group of the
// same token.
func TestImpersonateGroupWithAnotherGroupsUser(t *testing.T) {
	group := func(id string) string { return "{kind: Group, apiGroup: rbac.authorization.k8s.io, name: " + id + "}" }
	g := buildGraph(t, map[string]string{
		"kubernetes/rbac.yaml": namespacesXY +
			rbacDoc("x", "pods", `[{apiGroups: [""], resources: [pods], verbs: [create]}]`, group("ops")) +
			rbacDoc("", "imp-ops", `[{apiGroups: [""], resources: [groups], verbs: [impersonate], resourceNames: [ops]}]`, group("g-a")) +
			rbacDoc("", "imp-user", `[{apiGroups: [""], resources: [users], verbs: [impersonate], resourceNames: [nobody]}]`, group("g-b")),
		"azure/users.json":       testUsers,
		"azure/groups.json":      `[{"id": "g-a", "displayName": "a", "securityEnabled": true}, {"id": "g-b", "displayName": "b", "securityEnabled": true}]`,
		"azure/members/g-a.json": `[{"@odata.type": "#microsoft.graph.user", "id": "u-1"}, {"@odata.type": "#microsoft.graph.user", "id": "u-2"}]`,
		"azure/members/g-b.json": `[{"@odata.type": "#microsoft.graph.user", "id": "u-1"}]`,
	})
	checkPaths(t, g, []pathCase{
		{"groups and user from two groups", principalID("u-1"), createPodsID("x"),
			"user u1@contoso.com —may impersonate group ops (as a user its token's other groups may impersonate)→ Kubernetes group ops —may create pods in x→ create pods in x"},
		{"groups without a user", principalID("u-2"), createPodsID("x"), ""},
	})
}

const nodeAccessSnapshotK8s = `apiVersion: v1
kind: Namespace
metadata: {name: open}
---
apiVersion: v1
kind: Namespace
metadata:
  name: base
  labels: {pod-security.kubernetes.io/enforce: baseline}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: apps}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: quiet, namespace: apps}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: apps}
spec:
  serviceAccountName: web
  containers: [{name: web, image: contoso.azurecr.io/web:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: quiet, namespace: apps}
spec:
  serviceAccountName: quiet
  containers: [{name: quiet, image: contoso.azurecr.io/quiet:1}]
---
apiVersion: v1
kind: Namespace
metadata: {name: agents}
---
apiVersion: v1
kind: Pod
metadata: {name: unmounted, namespace: agents}
spec:
  volumes: [{name: host, hostPath: {path: /}}]
  containers: [{name: c, image: contoso.azurecr.io/agent:1}]
---
apiVersion: v1
kind: Pod
metadata: {name: agent, namespace: agents}
spec:
  hostPID: true
  containers: [{name: c, image: contoso.azurecr.io/agent:1}]
`

const registryScope = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/reg"

func assignment(name, principal, role, guid, scope string) string {
	return fmt.Sprintf(`{"name": %q, "principalId": %q, "roleDefinitionName": %q, "roleDefinitionId": "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/%s", "scope": %q}`, name, principal, role, guid, scope)
}

func nodeAccessGraph(t *testing.T) *Graph {
	return buildGraph(t, map[string]string{
		"kubernetes/k8s.yaml": nodeAccessSnapshotK8s +
			rbacDoc("open", "pods", `[{apiGroups: [""], resources: [pods], verbs: [create]}]`, userSubject(1)) +
			rbacDoc("base", "pods", `[{apiGroups: [""], resources: [pods], verbs: [create]}]`, userSubject(2)) +
			rbacDoc("agents", "exec", `[{apiGroups: [""], resources: [pods/exec], verbs: [create]}]`, userSubject(6)),
		"azure/users.json": testUsers,
		"azure/service-principals.json": `[{"id": "sp-1", "appId": "app-1", "displayName": "deployer", "servicePrincipalType": "Application"},
 {"id": "sp-2", "appId": "app-2", "displayName": "elsewhere", "servicePrincipalType": "Application"}]`,
		"azure/groups.json":         `[{"id": "g-devs", "displayName": "devs", "securityEnabled": true}]`,
		"azure/members/g-devs.json": `[{"@odata.type": "#microsoft.graph.user", "id": "u-4"}]`,
		"azure/aks.json": `{"name": "aks", "identityProfile": {"kubeletidentity": {"clientId": "c-k", "objectId": "p-k",
  "resourceId": "/subscriptions/s/resourcegroups/mc/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kubelet-id"}}}`,
		"azure/identities.json": `[{"id": "/subscriptions/s/resourcegroups/mc/providers/Microsoft.ManagedIdentity/userAssignedIdentities/kubelet-id", "name": "kubelet-id", "principalId": "p-k", "clientId": "c-k"}]`,
		"azure/role-assignments.json": "[" + strings.Join([]string{
			assignment("a1", "p-k", "AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d", registryScope),
			assignment("a2", "u-3", "AcrPush", "8311e382-0749-4cb8-b61a-304f252e45ec", registryScope),
			assignment("a3", "g-devs", "AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d", "/subscriptions/s/resourceGroups/rg"),
			assignment("a4", "u-5", "Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6", "/subscriptions/s/resourceGroups/rg"),
			assignment("a5", "sp-1", "Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "/subscriptions/s"),
			assignment("a6", "sp-2", "Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", "/subscriptions/other"),
		}, ",\n") + "]",
	})
}

// Node access: creating pods where admission admits one escaping to its
// node gives every token on the nodes and the kubelet identity; a baseline
// namespace denies every probe.
func TestNodeAccessEdges(t *testing.T) {
	g := nodeAccessGraph(t)
	via := "user u1@contoso.com —signs in as→ Kubernetes user u1@contoso.com —may create pods in open→ create pods in open —runs a privileged pod in open and escapes to its node→ root on a node"
	checkPaths(t, g, []pathCase{
		{"a token on the node", principalID("u-1"), saID("apps", "web"),
			via + " —reads the ServiceAccount token of apps/web→ ServiceAccount apps/web"},
		{"no token mounted", principalID("u-1"), saID("apps", "quiet"), ""},
		{"the kubelet identity", principalID("u-1"), identityID("kubelet-id"),
			via + " —gets a token for the kubelet identity kubelet-id from the instance metadata endpoint→ managed identity kubelet-id"},
		{"baseline denies every probe", principalID("u-2"), nodeAccessID, ""},
		{"exec into a hostPID pod", principalID("u-6"), nodeAccessID,
			"user u6@contoso.com —signs in as→ Kubernetes user u6@contoso.com —may exec into pods in agents→ exec into pods in agents —execs into agents/agent (hostPID) and escapes to its node→ root on a node"},
	})
	for _, e := range g.In(nodeAccessID) {
		if strings.Contains(e.Action, "unmounted") {
			t.Errorf("an unmounted hostPath escapes: %s", e.Action)
		}
	}
	notes := strings.Join(g.Notes, "\n")
	if !strings.Contains(notes, "a pod escaping to the node from base would be denied") {
		t.Errorf("no note of the denied probes in base: %s", notes)
	}
}

// Registries: AcrPull, AcrPush (and Owner, Contributor) at a scope holding
// the registry, to a principal, a group's members or a managed identity.
func TestRegistryEdges(t *testing.T) {
	g := nodeAccessGraph(t)
	checkPaths(t, g, []pathCase{
		{"the kubelet identity pulls", principalID("u-1"), registryID("reg"),
			"user u1@contoso.com —signs in as→ Kubernetes user u1@contoso.com —may create pods in open→ create pods in open —runs a privileged pod in open and escapes to its node→ root on a node" +
				" —gets a token for the kubelet identity kubelet-id from the instance metadata endpoint→ managed identity kubelet-id —may pull images from reg→ container registry reg"},
		{"AcrPush to a user", principalID("u-3"), registryID("reg"), "user u3@contoso.com —may push images to reg→ container registry reg"},
		{"AcrPull to a group at its resource group", principalID("u-4"), registryID("reg"), "user u4@contoso.com —may pull images from reg→ container registry reg"},
		{"a Key Vault role", principalID("u-5"), registryID("reg"), ""},
		{"Owner of the subscription", principalID("sp-1"), registryID("reg"), "servicePrincipal deployer —may push images to reg→ container registry reg"},
		{"Contributor of another subscription", principalID("sp-2"), registryID("reg"), ""},
		{"no Azure role", principalID("u-2"), registryID("reg"), ""},
	})
	if got, _ := g.Resolve(nil, "acr/REG"); !cmp.Equal(got, []string{"acr/reg"}) {
		t.Errorf("Resolve(acr/REG) = %v", got)
	}
}

// In the example, sandbox has no Pod Security labels: the Azure Policy
// "no privileged containers" (deny) refuses the privileged probe, nothing
// refuses hostPID, so whoever creates pods there gets the node and, through
// the kubelet identity's AcrPull, the registry. The other namespaces'
// Pod Security levels deny every probe: bob (team-alpha, baseline) gets
// neither.
func TestExampleNodeAccessAndRegistry(t *testing.T) {
	e, g := exampleGraph(t)
	bob, err := g.Resolve(e.Directory, "bob@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	acr, err := g.Resolve(e.Directory, "acr/contoso")
	if err != nil {
		t.Fatal(err)
	}
	checkPaths(t, g, []pathCase{
		{"sandbox admits hostPID", createPodsID("sandbox"), acr[0],
			"create pods in sandbox —runs a hostPID pod in sandbox and escapes to its node→ root on a node" +
				" —gets a token for the kubelet identity aks-contoso-bank-agentpool from the instance metadata endpoint→ managed identity aks-contoso-bank-agentpool" +
				" —may pull images from contoso→ container registry contoso"},
		{"team-alpha is baseline", createPodsID("team-alpha"), nodeAccessID, ""},
		{"bob reaches no node", bob[0], nodeAccessID, ""},
		{"bob reaches no registry", bob[0], acr[0], ""},
	})
}
