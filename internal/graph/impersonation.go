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
// get edges, and an Entra principal whose token holds a node in need
// and a node with the grant gets them itself; with mark set, subjects
// that may impersonate some name are marked there.
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
	// Edges a subject would have but for need, by subject node.
	type pending struct {
		to     func() string
		action string
		ev     []finding.Evidence
	}
	blocked := map[string][]pending{}
	add := func(gr rbac.SubjectGrant, to func() string, action string) (string, bool) {
		// Users and groups are cluster-scoped: only ClusterRoleBindings
		// grant impersonating them.
		if gr.Namespace != "" {
			return "", false
		}
		id := subjectNodeID(gr.Subject)
		if id == "" {
			return "", false
		}
		if mark != nil {
			mark[id] = true
		}
		if need != nil && !need[id] {
			blocked[id] = append(blocked[id], pending{to, action, evOf(gr)})
			return id, true
		}
		g.edge(g.subjectNode(gr.Subject), to(), action, finding.LayerRBAC, evOf(gr)...)
		return id, true
	}
	hub := func() string { return g.node(anyID, anyKind, anyLabel) }
	// Any name.
	anyOf := map[string]bool{}
	for _, gr := range a.Grants("impersonate", "", resource, "") {
		if id, ok := add(gr, hub, "may "+anyLabel); ok {
			anyOf[id] = true
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
			if id := subjectNodeID(gr.Subject); anyOf[id] {
				continue
			}
			// Any name counts for the Impersonate-User a group needs;
			// edges go to the names the graph has nodes for.
			if isNode[n] {
				add(gr, func() string { return nodeID(n) }, "may impersonate "+kind+" "+n)
			} else if mark != nil && gr.Namespace == "" {
				if id := subjectNodeID(gr.Subject); id != "" {
					mark[id] = true
				}
			}
		}
	}
	// An Entra principal's token holds its user and every group at once.
	if len(blocked) > 0 {
		for _, id := range g.idents {
			nodes := make([]string, 0, 1+len(id.user.Groups))
			nodes = append(nodes, kubeUserID(id.user.Name))
			for _, grp := range id.user.Groups {
				nodes = append(nodes, kubeGroupID(grp))
			}
			can := false
			for _, n := range nodes {
				can = can || need[n]
			}
			if !can {
				continue
			}
			for _, n := range nodes {
				for _, p := range blocked[n] {
					g.edge(id.node, p.to(), p.action+" (as a user its token's other groups may impersonate)", finding.LayerRBAC, p.ev...)
				}
			}
		}
	}
	if g.nodes[anyID] != nil {
		for _, n := range names {
			g.addEdge(anyID, nodeID(n), "impersonates "+kind+" "+n, finding.LayerRBAC)
		}
	}
}
