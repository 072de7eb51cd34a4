package rbac

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// maxAggregationRounds bounds the fixpoint; real policies converge in a
// few rounds, and cycles between aggregated roles converge too (a role
// never aggregates itself).
const maxAggregationRounds = 64

// aggregate computes the rules of every ClusterRole with an aggregationRule
// as the clusterrole-aggregation controller (pkg/controller/
// clusterroleaggregation) writes them, repeated until nothing changes, as
// the controller's re-queueing on every ClusterRole event converges:
//
//   - each clusterRoleSelector is a full label selector; selectors are ORed;
//   - per selector, matching ClusterRoles are taken sorted by name, the role
//     itself skipped, and each rule appended unless a semantically equal
//     rule is already there;
//   - when the result is not empty it replaces .rules (hand-written rules
//     are lost); when it is empty the controller's apply carries no rules
//     and .rules stay as written.
//
// roles must be sorted by name. Invalid selectors make the role keep its
// written rules (the apiserver would have rejected it).
func aggregate(roles []*Role) {
	type agg struct {
		role *Role
		sels []labels.Selector
	}
	var aggs []agg
	for _, r := range roles {
		if r.AggregationRule == nil {
			continue
		}
		a := agg{role: r}
		ok := true
		for i := range r.AggregationRule.ClusterRoleSelectors {
			s, err := metav1.LabelSelectorAsSelector(&r.AggregationRule.ClusterRoleSelectors[i])
			if err != nil {
				ok = false
				break
			}
			a.sels = append(a.sels, s)
		}
		if ok {
			aggs = append(aggs, a)
		}
	}
	if len(aggs) == 0 {
		return
	}
	for round := 0; round < maxAggregationRounds; round++ {
		changed := false
		for _, a := range aggs {
			var rules []rbacv1.PolicyRule
			var from []string
			for _, sel := range a.sels {
				for _, other := range roles { // sorted by name
					if other == a.role || !sel.Matches(labels.Set(other.Labels)) {
						continue
					}
					added := false
					for _, rule := range other.Rules {
						if !ruleExists(rules, rule) {
							rules = append(rules, rule)
							added = true
						}
					}
					if added || len(other.Rules) > 0 {
						from = appendUnique(from, other.Name)
					}
				}
			}
			if len(rules) == 0 {
				continue
			}
			if !equality.Semantic.DeepEqual(rules, a.role.Rules) {
				a.role.Rules = rules
				changed = true
			}
			sort.Strings(from)
			a.role.AggregatedFrom = from
		}
		if !changed {
			return
		}
	}
}

func ruleExists(haystack []rbacv1.PolicyRule, needle rbacv1.PolicyRule) bool {
	for _, r := range haystack {
		if equality.Semantic.DeepEqual(r, needle) {
			return true
		}
	}
	return false
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
