package rbac

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The checks below are the parts of pkg/apis/rbac/validation/validation.go
// that decide whether the apiserver stores an RBAC object at all. An object
// that fails them cannot exist in a cluster, so the authorizer leaves it
// out (and the checks report it) instead of interpreting it.

func validateRule(rule *rbacv1.PolicyRule, namespaced bool) []string {
	var errs []string
	if len(rule.Verbs) == 0 {
		errs = append(errs, "verbs: Required value: verbs must contain at least one value")
	}
	if len(rule.NonResourceURLs) > 0 {
		if namespaced {
			errs = append(errs, "nonResourceURLs: Invalid value: namespaced rules cannot apply to non-resource URLs")
		}
		if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
			errs = append(errs, "nonResourceURLs: Invalid value: rules cannot apply to both regular resources and non-resource URLs")
		}
		return errs
	}
	if len(rule.APIGroups) == 0 {
		errs = append(errs, "apiGroups: Required value: resource rules must supply at least one api group")
	}
	if len(rule.Resources) == 0 {
		errs = append(errs, "resources: Required value: resource rules must supply at least one resource")
	}
	return errs
}

func validateRules(rules []rbacv1.PolicyRule, namespaced bool) []string {
	var errs []string
	for i := range rules {
		for _, e := range validateRule(&rules[i], namespaced) {
			errs = append(errs, fmt.Sprintf("rules[%d].%s", i, e))
		}
	}
	return errs
}

func validateClusterRole(r *rbacv1.ClusterRole) []string {
	errs := validateRules(r.Rules, false)
	if r.AggregationRule != nil {
		if len(r.AggregationRule.ClusterRoleSelectors) == 0 {
			errs = append(errs, "aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil")
		}
		for i := range r.AggregationRule.ClusterRoleSelectors {
			if _, err := metav1.LabelSelectorAsSelector(&r.AggregationRule.ClusterRoleSelectors[i]); err != nil {
				errs = append(errs, fmt.Sprintf("aggregationRule.clusterRoleSelectors[%d]: Invalid value: %v", i, err))
			}
		}
	}
	return errs
}

// validateBinding checks a binding after defaulting (roleRef.apiGroup and
// subject apiGroups filled in when empty).
func validateBinding(roleRef rbacv1.RoleRef, subjects []rbacv1.Subject, namespaced bool) []string {
	var errs []string
	if roleRef.APIGroup != rbacv1.GroupName {
		errs = append(errs, fmt.Sprintf("roleRef.apiGroup: Unsupported value: %q: supported values: %q", roleRef.APIGroup, rbacv1.GroupName))
	}
	switch {
	case roleRef.Kind == "ClusterRole", roleRef.Kind == "Role" && namespaced:
	case namespaced:
		errs = append(errs, fmt.Sprintf("roleRef.kind: Unsupported value: %q: supported values: \"Role\", \"ClusterRole\"", roleRef.Kind))
	default:
		errs = append(errs, fmt.Sprintf("roleRef.kind: Unsupported value: %q: supported values: \"ClusterRole\"", roleRef.Kind))
	}
	if roleRef.Name == "" {
		errs = append(errs, "roleRef.name: Required value")
	}
	for i, s := range subjects {
		p := fmt.Sprintf("subjects[%d]", i)
		if s.Name == "" {
			errs = append(errs, p+".name: Required value")
		}
		switch s.Kind {
		case rbacv1.ServiceAccountKind:
			if s.APIGroup != "" {
				errs = append(errs, fmt.Sprintf("%s.apiGroup: Unsupported value: %q: supported values: \"\"", p, s.APIGroup))
			}
			if !namespaced && s.Namespace == "" {
				errs = append(errs, p+".namespace: Required value")
			}
		case rbacv1.UserKind, rbacv1.GroupKind:
			if s.APIGroup != rbacv1.GroupName {
				errs = append(errs, fmt.Sprintf("%s.apiGroup: Unsupported value: %q: supported values: %q", p, s.APIGroup, rbacv1.GroupName))
			}
		default:
			errs = append(errs, fmt.Sprintf("%s.kind: Unsupported value: %q: supported values: \"ServiceAccount\", \"User\", \"Group\"", p, s.Kind))
		}
	}
	return errs
}

// defaultBinding applies SetDefaults_*RoleBinding and SetDefaults_Subject.
func defaultBinding(roleRef rbacv1.RoleRef, subjects []rbacv1.Subject) (rbacv1.RoleRef, []rbacv1.Subject) {
	if roleRef.APIGroup == "" {
		roleRef.APIGroup = rbacv1.GroupName
	}
	out := make([]rbacv1.Subject, len(subjects))
	for i, s := range subjects {
		if s.APIGroup == "" && (s.Kind == rbacv1.UserKind || s.Kind == rbacv1.GroupKind) {
			s.APIGroup = rbacv1.GroupName
		}
		out[i] = s
	}
	return roleRef, out
}
