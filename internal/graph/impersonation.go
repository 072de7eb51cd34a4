package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/rbac"
)

// Node kinds of impersonation.
const (
	ImpersonateUsers  NodeKind = "impersonate-users"
	ImpersonateGroups NodeKind = "impersonate-groups"
)

const (
	impersonateUsersID  = "k8s:impersonate-users"
	impersonateGroupsID = "k8s:impersonate-groups"
)

// addImpersonationEdges: who may impersonate user U (verb impersonate on
// users, cluster-wide, name U) acts as U; who may impersonate group G acts
// with G in its groups, but only together with a user: the apiserver
// refuses Impersonate-Group without Impersonate-User
// (k8s.io/apiserver endpoints/filters/impersonation), so a group edge needs
// the right to impersonate some user or ServiceAccount as well. A username
// system:serviceaccount:NS:NAME is checked as a ServiceAccount, not as a
// user: those are the become-ServiceAccount edges. Users and groups are the
// graph's user and group nodes; names in resourceNames are asked one by one.
func (g *Graph) addImpersonationEdges(a *rbac.Authorizer) {
	var users, groups []string
	for _, id := range g.order {
		switch n := g.nodes[id]; n.Kind {
		case KubeUser:
			name := strings.TrimPrefix(id, "k8s:user:")
			if _, _, isSA := authn.SplitServiceAccountUsername(name); !isSA {
				users = append(users, name)
			}
		case KubeGroup:
			groups = append(groups, strings.TrimPrefix(id, "k8s:group:"))
		}
	}
	canUser := map[string]bool{}
	g.impersonate(a, "users", users, impersonateUsersID, ImpersonateUsers, "impersonate any user", kubeUserID, nil, canUser)
	for _, gr := range a.Grants("impersonate", "", "serviceaccounts", "") {
		if id := subjectNodeID(gr.Subject); id != "" {
			canUser[id] = true
		}
	}
	g.impersonate(a, "groups", groups, impersonateGroupsID, ImpersonateGroups, "impersonate any group", kubeGroupID, canUser, nil)
}

// impersonate adds the edges of verb impersonate on resource (users or
// groups) to the nodes of names. With need set, only subjects in need
// get edges; with mark set, subjects that get edges are marked there.
func (g *Graph) impersonate(a *rbac.Authorizer, resource string, names []string, anyID string, anyKind NodeKind, anyLabel string, nodeID func(string) string, need, mark map[string]bool) {
	kind := strings.TrimSuffix(resource, "s")
	note := ""
	if need != nil {
		note = " (with Impersonate-User: it may impersonate a user or ServiceAccount too)"
	}
	evOf := func(gr rbac.SubjectGrant) []finding.Evidence {
		ev := []finding.Evidence{{Loc: gr.BindingLoc, Text: fmt.Sprintf("%s grants role %s (impersonate %s)%s", gr.Binding, gr.Role, resource, note)}}
		if gr.RoleLoc.File != "" {
			ev = append(ev, finding.Evidence{Loc: gr.RoleLoc, Text: "role " + gr.Role})
		}
		return ev
	}
	allowed := func(gr rbac.SubjectGrant) (string, bool) {
		// Users and groups are cluster-scoped: only ClusterRoleBindings
		// grant impersonating them.
		if gr.Namespace != "" {
			return "", false
		}
		id := subjectNodeID(gr.Subject)
		if id == "" || need != nil && !need[id] {
			return "", false
		}
		return id, true
	}
	// Any name.
	anyOf := map[string]bool{}
	for _, gr := range a.Grants("impersonate", "", resource, "") {
		id, ok := allowed(gr)
		if !ok {
			continue
		}
		g.edge(g.subjectNode(gr.Subject), g.node(anyID, anyKind, anyLabel), "may "+anyLabel, finding.LayerRBAC, evOf(gr)...)
		anyOf[id] = true
		if mark != nil {
			mark[id] = true
		}
	}
	if g.nodes[anyID] != nil {
		for _, n := range names {
			g.addEdge(anyID, nodeID(n), "impersonates "+kind+" "+n, finding.LayerRBAC)
		}
	}
	// Names a rule lists in resourceNames.
	listed := map[string]bool{}
	for _, r := range a.Roles {
		for i := range r.Rules {
			rule := &r.Rules[i]
			if len(rule.ResourceNames) > 0 && rbac.VerbMatches(rule, "impersonate") && rbac.APIGroupMatches(rule, "") && rbac.ResourceMatches(rule, resource, "") {
				for _, n := range rule.ResourceNames {
					// A ServiceAccount username is checked as the
					// ServiceAccount, never as a user.
					if _, _, isSA := authn.SplitServiceAccountUsername(n); !isSA || resource != "users" {
						listed[n] = true
					}
				}
			}
		}
	}
	isNode := map[string]bool{}
	for _, n := range names {
		isNode[n] = true
	}
	named := make([]string, 0, len(listed))
	for n := range listed {
		named = append(named, n)
	}
	sort.Strings(named)
	for _, n := range named {
		for _, gr := range a.Subjects("impersonate", "", resource, "", "", n) {
			id, ok := allowed(gr)
			if !ok || anyOf[id] {
				continue
			}
			// Any name counts for the Impersonate-User a group needs;
			// edges go to the names the graph has nodes for.
			if mark != nil {
				mark[id] = true
			}
			if isNode[n] {
				g.edge(g.subjectNode(gr.Subject), nodeID(n), "may impersonate "+kind+" "+n, finding.LayerRBAC, evOf(gr)...)
			}
		}
	}
}
