package rbac

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

func resReq(verb, group, resource, sub, name string) *Attributes {
	return &Attributes{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Name: name, ResourceRequest: true}
}

func urlReq(verb, path string) *Attributes { return &Attributes{Verb: verb, Path: path} }

func rule(verbs, groups, resources []string, names ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources, ResourceNames: names}
}

func urlRule(verbs []string, urls ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, NonResourceURLs: urls}
}

func s(v ...string) []string { return v }

// The cases follow pkg/apis/rbac/v1/evaluation_helpers.go and the edge
// cases of rbac-and-entra.md section 1.10.
func TestRuleAllows(t *testing.T) {
	tests := []struct {
		name string
		rule rbacv1.PolicyRule
		req  *Attributes
		want bool
	}{
		// verbs
		{"exact verb", rule(s("get"), s(""), s("pods")), resReq("get", "", "pods", "", ""), true},
		{"verb case-sensitive", rule(s("GET"), s(""), s("pods")), resReq("get", "", "pods", "", ""), false},
		{"verb missing", rule(s("get"), s(""), s("pods")), resReq("list", "", "pods", "", ""), false},
		{"verb star covers impersonate", rule(s("*"), s(""), s("users")), resReq("impersonate", "", "users", "", ""), true},
		{"verb star covers escalate", rule(s("*"), s("rbac.authorization.k8s.io"), s("clusterroles")), resReq("escalate", "rbac.authorization.k8s.io", "clusterroles", "", ""), true},
		{"verb star covers arbitrary verb", rule(s("*"), s(""), s("pods")), resReq("attest", "", "pods", "", ""), true},
		{"request verb star needs rule star", rule(s("get"), s(""), s("pods")), resReq("*", "", "pods", "", ""), false},
		// api groups
		{"core group is empty", rule(s("get"), s(""), s("pods")), resReq("get", "", "pods", "", ""), true},
		{"core is not the core group", rule(s("get"), s("core"), s("pods")), resReq("get", "", "pods", "", ""), false},
		{"v1 is not the core group", rule(s("get"), s("v1"), s("pods")), resReq("get", "", "pods", "", ""), false},
		{"group star", rule(s("get"), s("*"), s("nodes/proxy")), resReq("get", "", "nodes", "proxy", ""), true},
		{"group mismatch", rule(s("get"), s("apps"), s("deployments")), resReq("get", "extensions", "deployments", "", ""), false},
		{"group case-sensitive", rule(s("get"), s("Apps"), s("deployments")), resReq("get", "apps", "deployments", "", ""), false},
		{"no apiGroups matches nothing", rule(s("get"), nil, s("pods")), resReq("get", "", "pods", "", ""), false},
		// resources
		{"resource star covers subresources", rule(s("get"), s(""), s("*")), resReq("get", "", "pods", "log", ""), true},
		{"resource does not cover subresource", rule(s("get"), s(""), s("pods")), resReq("get", "", "pods", "status", ""), false},
		{"exact subresource", rule(s("get"), s(""), s("pods/log")), resReq("get", "", "pods", "log", ""), true},
		{"subresource rule does not cover resource", rule(s("get"), s(""), s("pods/log")), resReq("get", "", "pods", "", ""), false},
		{"pods/* is not a wildcard", rule(s("get"), s(""), s("pods/*")), resReq("get", "", "pods", "log", ""), false},
		{"pods/* matches a subresource named *", rule(s("get"), s(""), s("pods/*")), resReq("get", "", "pods", "*", ""), true},
		{"*/scale matches any scale", rule(s("update"), s("apps"), s("*/scale")), resReq("update", "apps", "deployments", "scale", ""), true},
		{"*/scale does not match status", rule(s("update"), s("apps"), s("*/scale")), resReq("update", "apps", "deployments", "status", ""), false},
		{"*/scale does not match the resource", rule(s("update"), s("apps"), s("*/scale")), resReq("update", "apps", "deployments", "", ""), false},
		{"*/scale length check", rule(s("update"), s("apps"), s("*/scale")), resReq("update", "apps", "deployments", "xscale", ""), false},
		{"*/* matches a subresource named *", rule(s("get"), s(""), s("*/*")), resReq("get", "", "pods", "*", ""), true},
		{"*/* matches no real subresource", rule(s("get"), s(""), s("*/*")), resReq("get", "", "pods", "log", ""), false},
		{"*/* matches no resource", rule(s("get"), s(""), s("*/*")), resReq("get", "", "pods", "", ""), false},
		{"resource case-sensitive", rule(s("get"), s(""), s("Pods")), resReq("get", "", "pods", "", ""), false},
		{"resource star with empty resource", rule(s("get"), s(""), s("*")), resReq("get", "", "", "", ""), true},
		// resourceNames
		{"empty names match any name", rule(s("get"), s(""), s("pods")), resReq("get", "", "pods", "", "x"), true},
		{"empty names match no name", rule(s("list"), s(""), s("pods")), resReq("list", "", "pods", "", ""), true},
		{"named rule matches name", rule(s("get"), s(""), s("pods"), "x"), resReq("get", "", "pods", "", "x"), true},
		{"named rule other name", rule(s("get"), s(""), s("pods"), "x"), resReq("get", "", "pods", "", "y"), false},
		{"named rule never allows create", rule(s("create"), s(""), s("pods"), "x"), resReq("create", "", "pods", "", ""), false},
		{"named rule never allows unnamed list", rule(s("list"), s(""), s("pods"), "x"), resReq("list", "", "pods", "", ""), false},
		{"named rule allows list with field selector name", rule(s("list"), s(""), s("pods"), "x"), resReq("list", "", "pods", "", "x"), true},
		{"names case-sensitive", rule(s("get"), s(""), s("pods"), "X"), resReq("get", "", "pods", "", "x"), false},
		{"resource rule never matches URL", rule(s("get"), s("*"), s("*")), urlReq("get", "/healthz"), false},
		// nonResourceURLs
		{"url star", urlRule(s("get"), "*"), urlReq("get", "/anything"), true},
		{"url exact", urlRule(s("get"), "/healthz"), urlReq("get", "/healthz"), true},
		{"url no implicit prefix", urlRule(s("get"), "/healthz"), urlReq("get", "/healthz/etcd"), false},
		{"url prefix is not segment-aware", urlRule(s("get"), "/healthz*"), urlReq("get", "/healthzfoo"), true},
		{"/apis/* matches /apis/", urlRule(s("get"), "/apis/*"), urlReq("get", "/apis/"), true},
		{"/apis/* matches /apis/v1", urlRule(s("get"), "/apis/*"), urlReq("get", "/apis/v1"), true},
		{"/apis/* does not match /apis", urlRule(s("get"), "/apis/*"), urlReq("get", "/apis"), false},
		{"trailing stars all trimmed", urlRule(s("get"), "/api**"), urlReq("get", "/apix"), true},
		{"middle star is literal", urlRule(s("get"), "/api/*/*"), urlReq("get", "/api/v1"), false},
		{"middle star literal matches literally", urlRule(s("get"), "/api/*/x"), urlReq("get", "/api/*/x"), true},
		{"url verb post", urlRule(s("post"), "/logs"), urlReq("post", "/logs"), true},
		{"url verb case", urlRule(s("POST"), "/logs"), urlReq("post", "/logs"), false},
		{"url rule never matches resource request", urlRule(s("*"), "*"), resReq("get", "", "pods", "", ""), false},
		{"url case-sensitive", urlRule(s("get"), "/Healthz"), urlReq("get", "/healthz"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RuleAllows(tc.req, &tc.rule); got != tc.want {
				t.Errorf("RuleAllows(%s, %s) = %v, want %v", tc.req, compactRule(&tc.rule), got, tc.want)
			}
		})
	}
}

// FuzzRuleAllows checks the matcher against an independent reading of the
// upstream rules on random inputs.
func FuzzRuleAllows(f *testing.F) {
	f.Add("get", "", "pods", "log", "x", "get", "", "pods/log", "", true)
	f.Add("update", "apps", "deployments", "scale", "", "*", "apps", "*/scale", "", true)
	f.Add("get", "", "pods", "log", "", "get", "*", "pods/*", "y", false)
	f.Add("get", "", "", "", "", "get", "", "", "", false)
	f.Add("get", "", "/apis/v1", "", "", "get", "", "/apis/*", "", false)
	f.Fuzz(func(t *testing.T, verb, group, resource, sub, name, rverb, rgroup, rres, rname string, nonResource bool) {
		var attrs *Attributes
		var r rbacv1.PolicyRule
		if nonResource {
			attrs = urlReq(verb, resource)
			r = urlRule(s(rverb), rres)
		} else {
			attrs = resReq(verb, group, resource, sub, name)
			var names []string
			if rname != "" {
				names = []string{rname}
			}
			r = rule(s(rverb), s(rgroup), s(rres), names...)
		}
		got := RuleAllows(attrs, &r)
		want := oracle(attrs, rverb, rgroup, rres, rname)
		if got != want {
			t.Fatalf("RuleAllows(%s, %s) = %v, oracle %v", attrs, compactRule(&r), got, want)
		}
	})
}

// oracle restates the upstream matching for one-element rules.
func oracle(a *Attributes, rverb, rgroup, rres, rname string) bool {
	verbOK := rverb == "*" || rverb == a.Verb
	if !a.ResourceRequest {
		urlOK := rres == "*" || rres == a.Path
		if !urlOK && len(rres) > 0 && rres[len(rres)-1] == '*' {
			p := rres
			for len(p) > 0 && p[len(p)-1] == '*' {
				p = p[:len(p)-1]
			}
			urlOK = len(a.Path) >= len(p) && a.Path[:len(p)] == p
		}
		return verbOK && urlOK
	}
	combined := a.Resource
	if a.Subresource != "" {
		combined += "/" + a.Subresource
	}
	resOK := rres == "*" || rres == combined || (a.Subresource != "" && rres == "*/"+a.Subresource)
	nameOK := rname == "" || rname == a.Name
	return verbOK && (rgroup == "*" || rgroup == a.APIGroup) && resOK && nameOK
}
