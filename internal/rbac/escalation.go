package rbac

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/akssec/akssec/internal/authn"
)

// The write-time escalation checks of the RBAC registry
// (pkg/registry/rbac/{escalation_check.go,validation/rule.go,
// rolebinding/policybased,clusterrole/policybased}) and the rule
// comparison of k8s.io/component-helpers auth/rbac/validation
// (policy_comparator.go), transcribed. They decide whether a user may
// create a binding or a role even if the authorizer lets them create
// rolebindings or roles at all: the attack-path graph asks them for "who can
// grant themselves more".

// RulesFor returns every rule RBAC grants u in namespace ns (the
// ClusterRoleBindings' rules, then the namespace's RoleBindings'), with the
// resolution errors, as DefaultRuleResolver.RulesFor does. system:masters
// is not a rule resolver: its superuser rights are not listed.
func (a *Authorizer) RulesFor(u authn.UserInfo, ns string) ([]rbacv1.PolicyRule, []error) {
	var rules []rbacv1.PolicyRule
	var errs []error
	visit := func(b *Binding, bns string) {
		if _, ok := appliesTo(&u, b.Subjects, bns); !ok {
			return
		}
		if b.Role == nil {
			errs = append(errs, b.Err)
			return
		}
		rules = append(rules, b.Role.Rules...)
	}
	for _, b := range a.Bindings[:a.numCRB] {
		visit(b, "")
	}
	if ns != "" {
		for _, b := range a.RoleBindings(ns) {
			visit(b, ns)
		}
	}
	return rules, errs
}

// Covers reports whether ownerRules cover every atom of servantRules,
// and returns the atoms they do not (policy_comparator.go Covers).
func Covers(ownerRules, servantRules []rbacv1.PolicyRule) (bool, []rbacv1.PolicyRule) {
	var sub []rbacv1.PolicyRule
	for _, r := range servantRules {
		sub = append(sub, BreakdownRule(r)...)
	}
	var uncovered []rbacv1.PolicyRule
	for _, s := range sub {
		covered := false
		for _, o := range ownerRules {
			if ruleCovers(o, s) {
				covered = true
				break
			}
		}
		if !covered {
			uncovered = append(uncovered, s)
		}
	}
	return len(uncovered) == 0, uncovered
}

// BreakdownRule splits a rule into atoms of one group, resource, verb and
// resource name (or one nonResourceURL and verb).
func BreakdownRule(rule rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, g := range rule.APIGroups {
		for _, r := range rule.Resources {
			for _, v := range rule.Verbs {
				if len(rule.ResourceNames) > 0 {
					for _, n := range rule.ResourceNames {
						out = append(out, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{r}, Verbs: []string{v}, ResourceNames: []string{n}})
					}
				} else {
					out = append(out, rbacv1.PolicyRule{APIGroups: []string{g}, Resources: []string{r}, Verbs: []string{v}})
				}
			}
		}
	}
	for _, u := range rule.NonResourceURLs {
		for _, v := range rule.Verbs {
			out = append(out, rbacv1.PolicyRule{NonResourceURLs: []string{u}, Verbs: []string{v}})
		}
	}
	return out
}

func hasAll(set, contains []string) bool {
	for _, c := range contains {
		if !has(set, c) {
			return false
		}
	}
	return true
}

func resourceCoversAll(set, covers []string) bool {
	if has(set, rbacv1.ResourceAll) || hasAll(set, covers) {
		return true
	}
	for _, p := range covers {
		if has(set, p) {
			continue
		}
		if !strings.Contains(p, "/") {
			return false
		}
		tokens := strings.SplitN(p, "/", 2)
		if !has(set, "*/"+tokens[1]) {
			return false
		}
	}
	return true
}

func nonResourceURLsCoversAll(set, covers []string) bool {
	for _, p := range covers {
		covered := false
		for _, o := range set {
			if o == p || strings.HasSuffix(o, "*") && strings.HasPrefix(p, strings.TrimRight(o, "*")) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

func ruleCovers(owner, sub rbacv1.PolicyRule) bool {
	verb := has(owner.Verbs, rbacv1.VerbAll) || hasAll(owner.Verbs, sub.Verbs)
	group := has(owner.APIGroups, rbacv1.APIGroupAll) || hasAll(owner.APIGroups, sub.APIGroups)
	res := resourceCoversAll(owner.Resources, sub.Resources)
	urls := nonResourceURLsCoversAll(owner.NonResourceURLs, sub.NonResourceURLs)
	var names bool
	if len(sub.ResourceNames) == 0 {
		names = len(owner.ResourceNames) == 0
	} else {
		names = len(owner.ResourceNames) == 0 || hasAll(owner.ResourceNames, sub.ResourceNames)
	}
	return verb && group && res && names && urls
}

// BindAllowed decides the escalation check of creating a RoleBinding in
// namespace ns (or, with ns "", a ClusterRoleBinding) to roleRef, as the
// RBAC registry does after the authorizer allowed the create: system:masters
// may; a user with verb bind on the role (name = the role's name,
// namespace = the binding's) may; a user whose own rules in ns cover every
// rule of the role may. The reason is the apiserver's when it refuses.
func (a *Authorizer) BindAllowed(u authn.UserInfo, ns string, roleRef rbacv1.RoleRef) (bool, string) {
	if u.InGroup(authn.SystemMasters) {
		return true, "system:masters bypasses the escalation check"
	}
	if roleRef.APIGroup == "" {
		roleRef.APIGroup = rbacv1.GroupName
	}
	attrs := Attributes{User: u, Verb: "bind", APIGroup: roleRef.APIGroup, Name: roleRef.Name, Namespace: ns, ResourceRequest: true}
	switch roleRef.Kind {
	case "ClusterRole":
		attrs.Resource = "clusterroles"
	case "Role":
		attrs.Resource = "roles"
	default:
		return false, fmt.Sprintf("unsupported role reference kind: %q", roleRef.Kind)
	}
	if d := a.Authorize(&attrs); d.Allowed {
		return true, "bind is allowed on " + attrs.Resource + "/" + roleRef.Name + ": " + d.Reason
	}
	role, err := a.resolve(roleRef, ns)
	if err != nil {
		return false, err.Error()
	}
	return a.confirmNoEscalation(u, ns, role.Rules)
}

// RoleWriteAllowed decides the escalation check of creating or updating a
// Role in ns (or, with ns "", a ClusterRole) named name with rules:
// system:masters, escalate on the role, or rules the user already holds
// in ns.
func (a *Authorizer) RoleWriteAllowed(u authn.UserInfo, ns, name string, rules []rbacv1.PolicyRule) (bool, string) {
	if u.InGroup(authn.SystemMasters) {
		return true, "system:masters bypasses the escalation check"
	}
	attrs := Attributes{User: u, Verb: "escalate", APIGroup: rbacv1.GroupName, Resource: "roles", Name: name, Namespace: ns, ResourceRequest: true}
	if ns == "" {
		attrs.Resource = "clusterroles"
	}
	if d := a.Authorize(&attrs); d.Allowed {
		return true, "escalate is allowed: " + d.Reason
	}
	return a.confirmNoEscalation(u, ns, rules)
}

func (a *Authorizer) confirmNoEscalation(u authn.UserInfo, ns string, rules []rbacv1.PolicyRule) (bool, string) {
	owner, errs := a.RulesFor(u, ns)
	ok, missing := Covers(owner, rules)
	if ok {
		return true, "the user already holds every rule it grants"
	}
	var parts []string
	for _, m := range missing {
		parts = append(parts, compactRule(&m))
	}
	msg := fmt.Sprintf("user %q (groups=%q) is attempting to grant RBAC permissions not currently held:\n%s", u.Name, u.Groups, strings.Join(parts, "\n"))
	if len(errs) > 0 {
		msg += fmt.Sprintf("; resolution errors: %v", errs)
	}
	return false, msg
}
