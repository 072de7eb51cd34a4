package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/source"
)

// world builds an environment from RBAC objects.
func world(objs ...any) *env.Environment {
	s := &snapshot.Snapshot{}
	for i, o := range objs {
		so := &snapshot.Object{Loc: source.Location{File: "world.yaml", Line: i + 1}, Group: rbacv1.GroupName, Typed: o, Known: true}
		switch v := o.(type) {
		case *rbacv1.ClusterRole:
			so.Kind, so.Name = "ClusterRole", v.Name
		case *rbacv1.Role:
			so.Kind, so.Namespace, so.Name = "Role", v.Namespace, v.Name
		case *rbacv1.ClusterRoleBinding:
			so.Kind, so.Name = "ClusterRoleBinding", v.Name
		case *rbacv1.RoleBinding:
			so.Kind, so.Namespace, so.Name = "RoleBinding", v.Namespace, v.Name
		}
		s.Objects = append(s.Objects, so)
	}
	return env.New(s)
}

func clusterRole(name string, labels map[string]string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Rules: rules}
}

func role(ns, name string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: rules}
}

func crb(name, roleName string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName}, Subjects: subjects}
}

func rb(ns, name, kind, roleName string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: kind, Name: roleName}, Subjects: subjects}
}

func user(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: name}
}
func group(name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: name}
}
func sa(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: "ServiceAccount", Namespace: ns, Name: name}
}

func ask(u authn.UserInfo, verb, group, resource, sub, ns, name string) *Attributes {
	return &Attributes{User: u, Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name, ResourceRequest: true}
}

func TestAuthorizeWorld(t *testing.T) {
	podsRead := rule(s("get", "list"), s(""), s("pods"))
	e := world(
		clusterRole("pod-reader", nil, podsRead),
		clusterRole("healthz", nil, urlRule(s("get"), "/healthz")),
		clusterRole("ns-reader", nil, rule(s("get"), s(""), s("namespaces"))),
		clusterRole("node-reader", nil, rule(s("get"), s(""), s("nodes"))),
		role("a", "local", rule(s("create"), s(""), s("configmaps"))),
		role("b", "only-in-b", rule(s("delete"), s(""), s("secrets"))),
		crb("alice-pods", "pod-reader", user("alice")),
		rb("a", "bob-pods", "ClusterRole", "pod-reader", user("bob")),
		rb("a", "bob-healthz", "ClusterRole", "healthz", user("bob")),
		rb("a", "carol-local", "Role", "local", group("devs")),
		rb("a", "carol-wrong-ns-role", "Role", "only-in-b", group("devs")),
		rb("foo", "ns-self", "ClusterRole", "ns-reader", user("nina")),
		rb("a", "nodes-via-rb", "ClusterRole", "node-reader", user("nick")),
		rb("a", "sa-default-ns", "ClusterRole", "pod-reader", rbacv1.Subject{Kind: "ServiceAccount", Name: "builder"}),
		rb("a", "sa-group", "Role", "local", group("system:serviceaccounts:a")),
		crb("dangling", "missing", user("dan")),
		rb("a", "dangling-role", "Role", "nope", user("dan")),
		crb("healthz-all", "healthz", group("system:authenticated")),
	)
	a := New(e, WithoutBootstrap(), WithoutAKSBindings())
	alice := authn.UserInfo{Name: "alice", Groups: s("system:authenticated")}
	bob := authn.UserInfo{Name: "bob"}
	carol := authn.UserInfo{Name: "carol", Groups: s("devs")}
	builder := authn.ServiceAccount("a", "builder")
	tests := []struct {
		name       string
		attrs      *Attributes
		allowed    bool
		reason     string
		rbacReason string
	}{
		{"CRB grants in every namespace", ask(alice, "list", "", "pods", "", "x", ""), true, `RBAC: allowed by ClusterRoleBinding "alice-pods" of ClusterRole "pod-reader" to User "alice"`, ""},
		{"CRB grants cluster-wide", ask(alice, "list", "", "pods", "", "", ""), true, `RBAC: allowed by ClusterRoleBinding "alice-pods" of ClusterRole "pod-reader" to User "alice"`, ""},
		{"RB grants in its namespace", ask(bob, "get", "", "pods", "", "a", "p"), true, `RBAC: allowed by RoleBinding "bob-pods/a" of ClusterRole "pod-reader" to User "bob"`, ""},
		{"RB to ClusterRole does not grant elsewhere", ask(bob, "get", "", "pods", "", "b", "p"), false, "", ""},
		{"RB does not grant all namespaces", ask(bob, "list", "", "pods", "", "", ""), false, "", ""},
		{"nonResourceURL via RB never applies", &Attributes{User: bob, Verb: "get", Path: "/healthz"}, false, "", ""},
		{"nonResourceURL via CRB", &Attributes{User: alice, Verb: "get", Path: "/healthz"}, true, `RBAC: allowed by ClusterRoleBinding "healthz-all" of ClusterRole "healthz" to Group "system:authenticated"`, ""},
		{"Role in binding namespace", ask(carol, "create", "", "configmaps", "", "a", ""), true, `RBAC: allowed by RoleBinding "carol-local/a" of Role "local" to Group "devs"`, ""},
		{"Role of another namespace is not found", ask(carol, "delete", "", "secrets", "", "a", "s"), false,
			`rbac: RBAC: role.rbac.authorization.k8s.io "only-in-b" not found`, `RBAC: role.rbac.authorization.k8s.io "only-in-b" not found`},
		{"get namespace through RB in it", ask(authn.UserInfo{Name: "nina"}, "get", "", "namespaces", "", "foo", "foo"), true, `RBAC: allowed by RoleBinding "ns-self/foo" of ClusterRole "ns-reader" to User "nina"`, ""},
		{"SAR with namespace on cluster-scoped resource evaluates RBs", ask(authn.UserInfo{Name: "nick"}, "get", "", "nodes", "", "a", "n1"), true, `RBAC: allowed by RoleBinding "nodes-via-rb/a" of ClusterRole "node-reader" to User "nick"`, ""},
		{"cluster-scoped resource without namespace ignores RBs", ask(authn.UserInfo{Name: "nick"}, "get", "", "nodes", "", "", "n1"), false, "", ""},
		{"SA subject namespace defaults to binding's", ask(builder, "list", "", "pods", "", "a", ""), true, `RBAC: allowed by RoleBinding "sa-default-ns/a" of ClusterRole "pod-reader" to ServiceAccount "builder/a"`, ""},
		{"SA of another namespace", ask(authn.ServiceAccount("b", "builder"), "list", "", "pods", "", "a", ""), false, "", ""},
		{"User subject named like SA matches the SA", ask(authn.UserInfo{Name: "system:serviceaccount:a:builder"}, "list", "", "pods", "", "a", ""), true, `RBAC: allowed by RoleBinding "sa-default-ns/a" of ClusterRole "pod-reader" to ServiceAccount "builder/a"`, ""},
		{"SA namespace group", ask(authn.ServiceAccount("a", "other"), "create", "", "configmaps", "", "a", ""), true, `RBAC: allowed by RoleBinding "sa-group/a" of Role "local" to Group "system:serviceaccounts:a"`, ""},
		{"dangling roleRefs only show in the reason", ask(authn.UserInfo{Name: "dan"}, "get", "", "pods", "", "a", ""), false,
			`rbac: RBAC: [clusterrole.rbac.authorization.k8s.io "missing" not found, role.rbac.authorization.k8s.io "nope" not found]`,
			`RBAC: [clusterrole.rbac.authorization.k8s.io "missing" not found, role.rbac.authorization.k8s.io "nope" not found]`},
		{"system:masters superuser", ask(authn.UserInfo{Name: "root", Groups: s("system:masters")}, "delete", "", "nodes", "", "", "n"), true, "", ""},
		{"group names are exact", ask(authn.UserInfo{Name: "x", Groups: s("Devs")}, "create", "", "configmaps", "", "a", ""), false, "", ""},
		{"user names are exact", ask(authn.UserInfo{Name: "Alice"}, "list", "", "pods", "", "", ""), false, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := a.Authorize(tc.attrs)
			if d.Allowed != tc.allowed || d.Denied {
				t.Errorf("allowed, denied = %v, %v; want %v, false", d.Allowed, d.Denied, tc.allowed)
			}
			if diff := cmp.Diff(tc.reason, d.Reason); diff != "" {
				t.Errorf("reason (-want +got):\n%s", diff)
			}
			if !tc.allowed {
				if diff := cmp.Diff(tc.rbacReason, a.AuthorizeRBAC(tc.attrs).Reason); diff != "" {
					t.Errorf("RBAC reason (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestInvalidObjectsIgnored(t *testing.T) {
	e := world(
		clusterRole("no-groups", nil, rbacv1.PolicyRule{Verbs: s("get"), Resources: s("pods")}),
		role("a", "urls-in-role", urlRule(s("get"), "/healthz")),
		crb("bad-sa", "no-groups", rbacv1.Subject{Kind: "ServiceAccount", Name: "x"}),
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "role-in-crb"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "urls-in-role"}, Subjects: []rbacv1.Subject{user("u")}},
		rb("a", "bad-kind", "ClusterRole", "view", rbacv1.Subject{Kind: "Robot", Name: "r2"}),
		rb("a", "user-no-apigroup", "ClusterRole", "view", rbacv1.Subject{Kind: "User", Name: "defaulted"}),
	)
	a := New(e, WithoutAKSBindings())
	var got []string
	for _, inv := range a.Invalid {
		got = append(got, inv.Kind+"/"+inv.Name)
	}
	want := s("ClusterRole/no-groups", "Role/urls-in-role", "ClusterRoleBinding/bad-sa", "ClusterRoleBinding/role-in-crb", "RoleBinding/bad-kind")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invalid objects (-want +got):\n%s", diff)
	}
	// The subject apiGroup is defaulted, so the binding is valid and works.
	if d := a.Authorize(ask(authn.UserInfo{Name: "defaulted"}, "get", "", "pods", "", "a", "")); !d.Allowed {
		t.Errorf("defaulted User subject: not allowed (%s)", d.Reason)
	}
}

func TestAggregation(t *testing.T) {
	widgets := rule(s("get", "list"), s("example.com"), s("widgets"))
	gadgets := rule(s("*"), s("example.com"), s("gadgets"))
	e := world(
		clusterRole("widget-viewer", map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}, widgets),
		clusterRole("gadget-admin", map[string]string{"tier": "gold"}, gadgets),
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "expr"}, Rules: []rbacv1.PolicyRule{rule(s("get"), s(""), s("handwritten"))},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: s("gold", "silver")}}}}}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "matches-nothing"}, Rules: []rbacv1.PolicyRule{rule(s("get"), s(""), s("kept"))},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"none": "x"}}}}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "nested", Labels: map[string]string{"tier": "silver"}},
			AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rbac.authorization.k8s.io/aggregate-to-view": "true"}}}}},
	)
	a := New(e)
	for _, name := range []string{"view", "edit", "admin"} {
		if !RulesAllow(ask(authn.UserInfo{}, "list", "example.com", "widgets", "", "a", ""), a.ClusterRole(name).Rules) {
			t.Errorf("%s does not aggregate widget-viewer (transitively through the view → edit → admin chain)", name)
		}
	}
	if RulesAllow(ask(authn.UserInfo{}, "get", "", "handwritten", "", "", ""), a.ClusterRole("expr").Rules) {
		t.Error("expr kept its hand-written rule, want it replaced by the aggregated rules")
	}
	for _, want := range []struct{ group, resource string }{{"example.com", "gadgets"}, {"example.com", "widgets"}} {
		// gadgets directly (tier gold), widgets through nested (tier silver, itself aggregated).
		if !RulesAllow(ask(authn.UserInfo{}, "get", want.group, want.resource, "", "", ""), a.ClusterRole("expr").Rules) {
			t.Errorf("expr does not allow %s.%s", want.resource, want.group)
		}
	}
	if !RulesAllow(ask(authn.UserInfo{}, "get", "", "kept", "", "", ""), a.ClusterRole("matches-nothing").Rules) {
		t.Error("a role whose selectors match nothing lost its hand-written rules")
	}
	// No rule is duplicated: view's rules are distinct.
	seen := map[string]bool{}
	for _, r := range a.ClusterRole("admin").Rules {
		k := r.String()
		if seen[k] {
			t.Errorf("admin has rule %s twice", k)
		}
		seen[k] = true
	}
}

func TestBootstrapRoles(t *testing.T) {
	a := New(world())
	anyone := authn.Impersonate("someone", nil)
	anon := authn.Impersonate(authn.Anonymous, nil)
	tests := []struct {
		name  string
		role  string
		attrs *Attributes
		want  bool
	}{
		{"view reads pods", "view", ask(anyone, "list", "", "pods", "", "a", ""), true},
		{"view reads pod logs", "view", ask(anyone, "get", "", "pods", "log", "a", "p"), true},
		{"view does not read secrets", "view", ask(anyone, "get", "", "secrets", "", "a", "s"), false},
		{"view does not delete", "view", ask(anyone, "delete", "", "pods", "", "a", "p"), false},
		{"view does not read roles", "view", ask(anyone, "list", "rbac.authorization.k8s.io", "roles", "", "a", ""), false},
		{"edit reads secrets", "edit", ask(anyone, "get", "", "secrets", "", "a", "s"), true},
		{"edit creates deployments", "edit", ask(anyone, "create", "apps", "deployments", "", "a", ""), true},
		{"edit execs", "edit", ask(anyone, "create", "", "pods", "exec", "a", "p"), true},
		{"edit impersonates serviceaccounts", "edit", ask(anyone, "impersonate", "", "serviceaccounts", "", "a", "x"), true},
		{"edit does not bind roles", "edit", ask(anyone, "create", "rbac.authorization.k8s.io", "rolebindings", "", "a", ""), false},
		{"admin creates rolebindings", "admin", ask(anyone, "create", "rbac.authorization.k8s.io", "rolebindings", "", "a", ""), true},
		{"admin does not touch resourcequotas", "admin", ask(anyone, "update", "", "resourcequotas", "", "a", "q"), false},
		{"cluster-admin everything", "cluster-admin", &Attributes{User: anyone, Verb: "post", Path: "/anything"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := a.ClusterRole(tc.role)
			if r == nil {
				t.Fatalf("no bootstrap ClusterRole %s", tc.role)
			}
			if got := RulesAllow(tc.attrs, r.Rules); got != tc.want {
				t.Errorf("%s allows = %v, want %v", tc.role, got, tc.want)
			}
		})
	}
	// Bootstrap bindings: authenticated users discover and review
	// themselves; unauthenticated ones only see public info.
	bindings := []struct {
		name  string
		attrs *Attributes
		want  bool
	}{
		{"authenticated discovers /apis", &Attributes{User: anyone, Verb: "get", Path: "/apis/apps/v1"}, true},
		{"authenticated selfsubjectaccessreviews", ask(anyone, "create", "authorization.k8s.io", "selfsubjectaccessreviews", "", "", ""), true},
		{"authenticated healthz", &Attributes{User: anyone, Verb: "get", Path: "/healthz"}, true},
		{"anonymous healthz", &Attributes{User: anon, Verb: "get", Path: "/version"}, true},
		{"anonymous not /apis", &Attributes{User: anon, Verb: "get", Path: "/apis"}, false},
		{"authenticated not pods", ask(anyone, "list", "", "pods", "", "default", ""), false},
	}
	for _, tc := range bindings {
		t.Run(tc.name, func(t *testing.T) {
			if got := a.Authorize(tc.attrs).Allowed; got != tc.want {
				t.Errorf("allowed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWhoCan(t *testing.T) {
	e := world(
		clusterRole("pod-reader", nil, rule(s("get"), s(""), s("pods"))),
		crb("alice-pods", "pod-reader", user("alice"), group("g1")),
		rb("a", "sa-pods", "ClusterRole", "pod-reader", rbacv1.Subject{Kind: "ServiceAccount", Name: "builder"}),
		rb("b", "other", "ClusterRole", "pod-reader", user("zed")),
	)
	a := New(e, WithoutBootstrap(), WithoutAKSBindings())
	var got []string
	for _, g := range a.WhoCan(ask(authn.UserInfo{}, "get", "", "pods", "", "a", "p")) {
		got = append(got, subjectString(g.Subject)+" @"+g.Binding)
	}
	want := s("Group system:masters @superuser authorizer", "User alice @ClusterRoleBinding/alice-pods", "Group g1 @ClusterRoleBinding/alice-pods", "ServiceAccount a/builder @RoleBinding/a/sa-pods")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("who-can (-want +got):\n%s", diff)
	}
	var grants []string
	for _, g := range a.Grants("get", "", "pods", "") {
		grants = append(grants, subjectString(g.Subject)+" ns="+g.Namespace)
	}
	wantGrants := s("User alice ns=", "Group g1 ns=", "ServiceAccount a/builder ns=a", "User zed ns=b")
	if diff := cmp.Diff(wantGrants, grants); diff != "" {
		t.Errorf("grants (-want +got):\n%s", diff)
	}
}
