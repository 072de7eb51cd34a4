package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The RBAC differential test: random Roles, ClusterRoles and bindings are
// applied to the real API server; thousands of SubjectAccessReviews are
// asked of it and, on a snapshot taken with akssec collect, of
// `akssec can-i -f`. Every answer must agree.
//
// AKSSEC_E2E_SEED picks another universe (default 1); AKSSEC_E2E_QUERIES
// the number of queries (default 4000).

var (
	rdNamespaces = []string{"rd-a", "rd-b", "rd-c"}
	rdUsers      = []string{"alice", "bob", "carol", "dave", "system:serviceaccount:rd-a:sa1", "system:serviceaccount:rd-b:sa2", "system:serviceaccount:rd-a:default", "system:anonymous"}
	rdGroups     = []string{"devs", "ops", "auditors", "system:authenticated", "system:unauthenticated", "system:serviceaccounts", "system:serviceaccounts:rd-a"}
	rdAPIGroups  = []string{"", "apps", "rbac.authorization.k8s.io", "example.com", "*"}
	rdRuleRes    = []string{"pods", "secrets", "configmaps", "deployments", "roles", "nodes", "namespaces", "widgets", "*", "pods/log", "pods/exec", "deployments/scale", "*/scale", "pods/*", "pods/status"}
	rdVerbs      = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "bind", "escalate", "impersonate", "*"}
	rdNames      = []string{"web", "db", "other"}
	rdURLs       = []string{"/healthz", "/healthz/*", "/logs/*", "/api", "/api/*", "*", "/metrics", "/version"}
	rdQueryURLs  = []string{"/healthz", "/healthz/ready", "/logs/kube.log", "/api", "/api/v1", "/metrics", "/version", "/apis", "/openapi/v2"}
	rdQueryRes   = []string{"pods", "secrets", "configmaps", "deployments", "roles", "nodes", "namespaces", "widgets", "rolebindings"}
	rdSubres     = []string{"log", "exec", "scale", "status"}
	// ClusterRoles of the bootstrap policy a random binding may name.
	// admin, edit and view are left out: they are aggregated, and with no
	// controller manager the API server never fills their rules in, which
	// no real cluster looks like.
	rdBootstrapRoles = []string{"cluster-admin", "system:basic-user", "system:discovery", "system:public-info-viewer", "system:node-proxier"}
)

type rdGen struct {
	r *rand.Rand
}

func (g *rdGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *rdGen) some(xs []string, max int) []string {
	n := 1 + g.r.IntN(max)
	seen := map[string]bool{}
	var out []string
	for range n {
		x := g.pick(xs)
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func (g *rdGen) rule(clusterScoped bool) rbacv1.PolicyRule {
	if clusterScoped && g.r.IntN(5) == 0 {
		return rbacv1.PolicyRule{NonResourceURLs: g.some(rdURLs, 2), Verbs: g.some([]string{"get", "post", "*"}, 2)}
	}
	r := rbacv1.PolicyRule{APIGroups: g.some(rdAPIGroups, 2), Resources: g.some(rdRuleRes, 3), Verbs: g.some(rdVerbs, 3)}
	if g.r.IntN(4) == 0 {
		r.ResourceNames = g.some(rdNames, 2)
	}
	return r
}

func (g *rdGen) rules(clusterScoped bool) []rbacv1.PolicyRule {
	var rs []rbacv1.PolicyRule
	for range 1 + g.r.IntN(3) {
		rs = append(rs, g.rule(clusterScoped))
	}
	return rs
}

func (g *rdGen) subjects(namespaced bool) []rbacv1.Subject {
	var ss []rbacv1.Subject
	for range 1 + g.r.IntN(3) {
		switch g.r.IntN(3) {
		case 0:
			ss = append(ss, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: g.pick(rdUsers[:4])})
		case 1:
			ss = append(ss, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: g.pick(rdGroups)})
		default:
			sa := [][2]string{{"rd-a", "sa1"}, {"rd-b", "sa2"}, {"rd-a", "default"}, {"rd-c", "sa1"}}[g.r.IntN(4)]
			ns := sa[0]
			if namespaced && g.r.IntN(4) == 0 {
				ns = "" // a RoleBinding's ServiceAccount without namespace: the binding's
			}
			ss = append(ss, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa[1]})
		}
	}
	return ss
}

// rdUniverse is what was applied.
type rdUniverse struct {
	roles        []*rbacv1.Role
	clusterRoles []*rbacv1.ClusterRole
	roleBindings []*rbacv1.RoleBinding
	crbs         []*rbacv1.ClusterRoleBinding
}

func (g *rdGen) universe() *rdUniverse {
	u := &rdUniverse{}
	for i := range 10 {
		u.clusterRoles = append(u.clusterRoles, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rd-cr-%d", i)}, Rules: g.rules(true)})
	}
	for _, ns := range rdNamespaces {
		for i := range 4 {
			u.roles = append(u.roles, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rd-role-%d", i), Namespace: ns}, Rules: g.rules(false)})
		}
		for i := range 6 {
			ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName}
			switch g.r.IntN(10) {
			case 0:
				ref.Kind, ref.Name = "Role", "rd-role-missing"
			case 1:
				ref.Kind, ref.Name = "ClusterRole", g.pick(rdBootstrapRoles)
			case 2, 3, 4:
				ref.Kind, ref.Name = "ClusterRole", fmt.Sprintf("rd-cr-%d", g.r.IntN(10))
			default:
				ref.Kind, ref.Name = "Role", fmt.Sprintf("rd-role-%d", g.r.IntN(4))
			}
			u.roleBindings = append(u.roleBindings, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rd-rb-%d", i), Namespace: ns},
				RoleRef: ref, Subjects: g.subjects(true)})
		}
	}
	for i := range 6 {
		name := fmt.Sprintf("rd-cr-%d", g.r.IntN(11)) // rd-cr-10 does not exist
		if g.r.IntN(8) == 0 {
			name = g.pick(rdBootstrapRoles[1:])
		}
		u.crbs = append(u.crbs, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rd-crb-%d", i)},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, Subjects: g.subjects(false)})
	}
	return u
}

// rdQuery is one line of `akssec can-i -f` input.
type rdQuery struct {
	User           string   `json:"user"`
	Groups         []string `json:"groups,omitempty"`
	Verb           string   `json:"verb"`
	Group          *string  `json:"group,omitempty"`
	Resource       string   `json:"resource,omitempty"`
	Subresource    string   `json:"subresource,omitempty"`
	Name           string   `json:"name,omitempty"`
	Namespace      string   `json:"namespace,omitempty"`
	NonResourceURL string   `json:"nonResourceURL,omitempty"`
}

// rdAnswer is one line of its output.
type rdAnswer struct {
	Allowed   bool            `json:"allowed"`
	Reason    string          `json:"reason"`
	DecidedBy json.RawMessage `json:"decidedBy"`
	Error     string          `json:"error"`
}

// concrete turns a rule value into one a request could carry.
func (g *rdGen) concrete(v string, from []string) string {
	if v == "*" {
		return g.pick(from)
	}
	return v
}

// query makes a request: half of them derived from a rule of a binding (so
// that many are allowed), then possibly bent in one attribute; the rest at
// random.
func (g *rdGen) query(u *rdUniverse) rdQuery {
	q := rdQuery{User: g.pick(rdUsers)}
	if g.r.IntN(2) == 0 {
		q.Groups = g.some(rdGroups, 2)
	}
	if g.r.IntN(60) == 0 {
		q.Groups = append(q.Groups, "system:masters")
	}
	derived := g.r.IntN(2) == 0
	var rule *rbacv1.PolicyRule
	ns := g.pick(append(rdNamespaces, ""))
	if derived {
		var subjects []rbacv1.Subject
		var rules []rbacv1.PolicyRule
		if g.r.IntN(3) == 0 {
			b := u.crbs[g.r.IntN(len(u.crbs))]
			subjects = b.Subjects
			rules = u.clusterRoleRules(b.RoleRef.Name)
		} else {
			b := u.roleBindings[g.r.IntN(len(u.roleBindings))]
			subjects, ns = b.Subjects, b.Namespace
			if b.RoleRef.Kind == "Role" {
				rules = u.roleRules(b.Namespace, b.RoleRef.Name)
			} else {
				rules = u.clusterRoleRules(b.RoleRef.Name)
			}
		}
		s := subjects[g.r.IntN(len(subjects))]
		switch s.Kind {
		case rbacv1.UserKind:
			q.User = s.Name
		case rbacv1.GroupKind:
			q.Groups = append(q.Groups, s.Name)
		default:
			sns := s.Namespace
			if sns == "" {
				sns = ns
			}
			q.User = "system:serviceaccount:" + sns + ":" + s.Name
		}
		if len(rules) > 0 {
			rule = &rules[g.r.IntN(len(rules))]
		}
	}
	if rule != nil && len(rule.NonResourceURLs) > 0 {
		url := g.pick(rule.NonResourceURLs)
		switch {
		case url == "*":
			url = g.pick(rdQueryURLs)
		case strings.HasSuffix(url, "*"):
			url = strings.TrimSuffix(url, "*") + g.pick([]string{"x", "", "ready/deep"})
		}
		q.NonResourceURL = url
		q.Verb = g.concrete(g.pick(rule.Verbs), []string{"get", "post", "put"})
	} else if rule != nil {
		group := g.concrete(g.pick(rule.APIGroups), rdAPIGroups[:4])
		q.Group = &group
		res := g.pick(rule.Resources)
		r, sub, _ := strings.Cut(res, "/")
		q.Resource = g.concrete(r, rdQueryRes)
		q.Subresource = g.concrete(sub, rdSubres)
		q.Verb = g.concrete(g.pick(rule.Verbs), rdVerbs[:11])
		if len(rule.ResourceNames) > 0 {
			q.Name = g.pick(rule.ResourceNames)
		} else if g.r.IntN(3) == 0 {
			q.Name = g.pick(rdNames)
		}
		q.Namespace = ns
	} else if g.r.IntN(7) == 0 {
		q.NonResourceURL = g.pick(rdQueryURLs)
		q.Verb = g.pick([]string{"get", "post", "put", "head"})
	} else {
		group := g.pick(rdAPIGroups[:4])
		q.Group = &group
		q.Resource = g.pick(rdQueryRes)
		if g.r.IntN(4) == 0 {
			q.Subresource = g.pick(rdSubres)
		}
		q.Verb = g.pick(rdVerbs[:11])
		if g.r.IntN(3) == 0 {
			q.Name = g.pick(rdNames)
		}
		q.Namespace = ns
	}
	// Bend one attribute, so near misses are asked too.
	if derived && g.r.IntN(3) == 0 {
		switch g.r.IntN(5) {
		case 0:
			q.Verb = g.pick(rdVerbs[:11])
		case 1:
			if q.NonResourceURL == "" {
				q.Namespace = g.pick(append(rdNamespaces, ""))
			}
		case 2:
			if q.NonResourceURL == "" {
				q.Name = g.pick(append(rdNames, ""))
			}
		case 3:
			q.User = g.pick(rdUsers)
		case 4:
			if q.NonResourceURL == "" {
				q.Subresource = g.pick(append(rdSubres, ""))
			}
		}
	}
	return q
}

func (u *rdUniverse) roleRules(ns, name string) []rbacv1.PolicyRule {
	for _, r := range u.roles {
		if r.Namespace == ns && r.Name == name {
			return r.Rules
		}
	}
	return nil
}

func (u *rdUniverse) clusterRoleRules(name string) []rbacv1.PolicyRule {
	for _, r := range u.clusterRoles {
		if r.Name == name {
			return r.Rules
		}
	}
	return nil
}

func (u *rdUniverse) apply(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	rb := suite.client.RbacV1()
	for _, ns := range rdNamespaces {
		makeNamespace(t, ns, nil)
	}
	for _, r := range u.clusterRoles {
		if _, err := rb.ClusterRoles().Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating ClusterRole %s: %v", r.Name, err)
		}
	}
	for _, r := range u.roles {
		if _, err := rb.Roles(r.Namespace).Create(ctx, r, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating Role %s/%s: %v", r.Namespace, r.Name, err)
		}
	}
	for _, b := range u.roleBindings {
		if _, err := rb.RoleBindings(b.Namespace).Create(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating RoleBinding %s/%s: %v", b.Namespace, b.Name, err)
		}
	}
	for _, b := range u.crbs {
		if _, err := rb.ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating ClusterRoleBinding %s: %v", b.Name, err)
		}
	}
	// Markers, created last of each kind: once the authorizer allows
	// through them, its informers have seen everything before them.
	marker := []rbacv1.PolicyRule{{APIGroups: []string{"example.com"}, Resources: []string{"markers"}, Verbs: []string{"get"}}}
	must := func(_ any, err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(rb.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "zz-marker"}, Rules: marker}, metav1.CreateOptions{}))
	must(rb.Roles("rd-c").Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "zz-marker", Namespace: "rd-c"}, Rules: marker}, metav1.CreateOptions{}))
	must(rb.RoleBindings("rd-c").Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "zz-marker", Namespace: "rd-c"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "zz-marker"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "zz-marker-ns"}}}, metav1.CreateOptions{}))
	must(rb.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "zz-marker"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "zz-marker"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "zz-marker-cluster"}}}, metav1.CreateOptions{}))
	for _, m := range []struct{ user, ns string }{{"zz-marker-ns", "rd-c"}, {"zz-marker-cluster", ""}} {
		q := rdQuery{User: m.user, Verb: "get", Group: ptrTo("example.com"), Resource: "markers", Namespace: m.ns}
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			st, err := sar(ctx, q)
			return err == nil && st.Allowed, nil
		})
		if err != nil {
			t.Fatalf("the RBAC authorizer never saw the marker binding of %s: %v", m.user, err)
		}
	}
}

func ptrTo(s string) *string { return &s }

// sar asks the API server.
func sar(ctx context.Context, q rdQuery) (authzv1.SubjectAccessReviewStatus, error) {
	spec := authzv1.SubjectAccessReviewSpec{User: q.User, Groups: q.Groups}
	if q.NonResourceURL != "" {
		spec.NonResourceAttributes = &authzv1.NonResourceAttributes{Path: q.NonResourceURL, Verb: q.Verb}
	} else {
		group := ""
		if q.Group != nil {
			group = *q.Group
		}
		spec.ResourceAttributes = &authzv1.ResourceAttributes{Namespace: q.Namespace, Verb: q.Verb, Group: group,
			Resource: q.Resource, Subresource: q.Subresource, Name: q.Name}
	}
	r, err := suite.client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return authzv1.SubjectAccessReviewStatus{}, err
	}
	return r.Status, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func TestRBACDifferential(t *testing.T) {
	requireCluster(t)
	seed := uint64(envInt("AKSSEC_E2E_SEED", 1))
	n := envInt("AKSSEC_E2E_QUERIES", 4000)
	t.Logf("seed %d, %d queries", seed, n)
	g := &rdGen{r: rand.New(rand.NewPCG(seed, 0x5eed))}
	u := g.universe()
	u.apply(t)

	queries := make([]rdQuery, n)
	for i := range queries {
		queries[i] = g.query(u)
	}

	// The API server's answers, 8 at a time.
	ctx := context.Background()
	want := make([]authzv1.SubjectAccessReviewStatus, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				want[i], errs[i] = sar(ctx, queries[i])
			}
		}()
	}
	for i := range queries {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("SubjectAccessReview %d %+v: %v", i, queries[i], err)
		}
	}

	// akssec's answers, on a snapshot collected from the same server.
	dir := filepath.Join(t.TempDir(), "snap")
	if _, stderr, code := akssec(t, nil, "collect", "-o", dir, "--no-azure", "--kubeconfig", suite.cluster.Kubeconfig); code != 0 {
		t.Fatalf("akssec collect exited %d:\n%s", code, stderr)
	}
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, q := range queries {
		if err := enc.Encode(q); err != nil {
			t.Fatal(err)
		}
	}
	qfile := filepath.Join(t.TempDir(), "queries.jsonl")
	if err := os.WriteFile(qfile, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, stderr, code := akssec(t, nil, "-e", dir, "can-i", "-f", qfile)
	if code != 0 {
		t.Fatalf("akssec can-i -f exited %d:\n%s", code, stderr)
	}
	t.Logf("akssec can-i -f answered %d queries in %s", n, time.Since(start).Round(time.Millisecond))
	lines := bytes.Split(bytes.TrimSpace(out), []byte("\n"))
	if len(lines) != n {
		t.Fatalf("akssec can-i -f printed %d lines for %d queries", len(lines), n)
	}
	allowed, disagree := 0, 0
	for i, line := range lines {
		var got rdAnswer
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatalf("answer %d: %v: %s", i, err, line)
		}
		if want[i].Allowed {
			allowed++
		}
		if got.Error != "" || got.Allowed != want[i].Allowed {
			disagree++
			if disagree <= 25 {
				qj, _ := json.Marshal(queries[i])
				t.Errorf("query %d %s\n  kube-apiserver: allowed=%v reason=%q\n  akssec:         allowed=%v reason=%q decidedBy=%s error=%q",
					i, qj, want[i].Allowed, want[i].Reason, got.Allowed, got.Reason, got.DecidedBy, got.Error)
			}
		}
	}
	t.Logf("%d of %d queries allowed by the API server; %d disagreements", allowed, n, disagree)
	if allowed < n/10 || allowed > n*9/10 {
		t.Errorf("%d of %d allowed: the generator no longer asks a useful mix", allowed, n)
	}
	if disagree > 0 {
		if d := os.Getenv("AKSSEC_E2E_ARTIFACTS"); d != "" {
			keep := filepath.Join(d, "rbacdiff")
			_ = os.MkdirAll(keep, 0o755)
			_ = os.CopyFS(filepath.Join(keep, "snapshot"), os.DirFS(dir))
			_ = os.WriteFile(filepath.Join(keep, "queries.jsonl"), in.Bytes(), 0o644)
			t.Logf("snapshot and queries kept in %s", keep)
		}
	}
}
