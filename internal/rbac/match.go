package rbac

import (
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// The rule matchers mirror k8s.io/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go
// and plugin/pkg/auth/authorizer/rbac/rbac.go (RuleAllows) to the letter:
// every comparison is exact and case-sensitive, "*" is the only wildcard of
// verbs, apiGroups and resources, "*/<sub>" matches a subresource of any
// resource, and a nonResourceURL ending in "*" is a plain string prefix.

// VerbMatches reports whether the rule names the verb or "*".
func VerbMatches(rule *rbacv1.PolicyRule, requestedVerb string) bool {
	for _, v := range rule.Verbs {
		if v == rbacv1.VerbAll || v == requestedVerb {
			return true
		}
	}
	return false
}

// APIGroupMatches reports whether the rule names the group or "*"; the
// core group is "".
func APIGroupMatches(rule *rbacv1.PolicyRule, requestedGroup string) bool {
	for _, g := range rule.APIGroups {
		if g == rbacv1.APIGroupAll || g == requestedGroup {
			return true
		}
	}
	return false
}

// ResourceMatches reports whether the rule names "*" (which covers
// subresources too), the combined resource ("pods/log"), or "*/<sub>" for
// the requested subresource. "pods/*" is not a wildcard.
func ResourceMatches(rule *rbacv1.PolicyRule, combinedRequestedResource, requestedSubresource string) bool {
	for _, r := range rule.Resources {
		if r == rbacv1.ResourceAll || r == combinedRequestedResource {
			return true
		}
		if len(requestedSubresource) == 0 {
			continue
		}
		if len(r) == len(requestedSubresource)+2 && strings.HasPrefix(r, "*/") && strings.HasSuffix(r, requestedSubresource) {
			return true
		}
	}
	return false
}

// ResourceNameMatches reports whether the rule has no resourceNames (any
// name, including none) or lists the requested name.
func ResourceNameMatches(rule *rbacv1.PolicyRule, requestedName string) bool {
	if len(rule.ResourceNames) == 0 {
		return true
	}
	for _, n := range rule.ResourceNames {
		if n == requestedName {
			return true
		}
	}
	return false
}

// NonResourceURLMatches reports whether the rule names "*", the exact
// path, or a prefix of it followed by trailing "*"s.
func NonResourceURLMatches(rule *rbacv1.PolicyRule, requestedURL string) bool {
	for _, u := range rule.NonResourceURLs {
		if u == rbacv1.NonResourceAll || u == requestedURL {
			return true
		}
		if strings.HasSuffix(u, "*") && strings.HasPrefix(requestedURL, strings.TrimRight(u, "*")) {
			return true
		}
	}
	return false
}

// RuleAllows reports whether one policy rule allows the request.
func RuleAllows(a *Attributes, rule *rbacv1.PolicyRule) bool {
	if a.ResourceRequest {
		combined := a.Resource
		if len(a.Subresource) > 0 {
			combined = a.Resource + "/" + a.Subresource
		}
		return VerbMatches(rule, a.Verb) &&
			APIGroupMatches(rule, a.APIGroup) &&
			ResourceMatches(rule, combined, a.Subresource) &&
			ResourceNameMatches(rule, a.Name)
	}
	return VerbMatches(rule, a.Verb) && NonResourceURLMatches(rule, a.Path)
}

// RulesAllow reports whether any rule allows the request.
func RulesAllow(a *Attributes, rules []rbacv1.PolicyRule) bool {
	for i := range rules {
		if RuleAllows(a, &rules[i]) {
			return true
		}
	}
	return false
}

// ruleAllows is RuleAllows with the combined resource computed once by the
// caller, for the hot path.
func ruleAllows(a *Attributes, combined string, rule *rbacv1.PolicyRule) bool {
	if a.ResourceRequest {
		return VerbMatches(rule, a.Verb) &&
			APIGroupMatches(rule, a.APIGroup) &&
			ResourceMatches(rule, combined, a.Subresource) &&
			ResourceNameMatches(rule, a.Name)
	}
	return VerbMatches(rule, a.Verb) && NonResourceURLMatches(rule, a.Path)
}
