package graph

import (
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/rbac"
)

// Privilege escalation through RBAC itself (pkg/registry/rbac): a subject
// that may write bindings or roles can grant itself rights it does not
// hold, when the registry's escalation check lets it. Every decision is the
// rbac engine's (Authorize with verb bind or escalate, RoleWriteAllowed);
// the graph only chooses which requests to ask.

// subjectUser is the least a request made as subject s carries: a User
// subject's username (with system:authenticated), a Group's membership
// (and system:authenticated), a ServiceAccount's token identity. Whoever
// stands behind the subject's node has at least these rights. Rights that
// only a combination of an Entra principal's groups gives are asked again
// with its whole token for bind and group impersonation, not for escalate.
func subjectUser(s rbacv1.Subject) (authn.UserInfo, bool) {
	switch s.Kind {
	case rbacv1.UserKind:
		return authn.Impersonate(s.Name, nil), true
	case rbacv1.GroupKind:
		return authn.Impersonate("", []string{s.Name}), true
	case rbacv1.ServiceAccountKind:
		if s.Namespace == "" {
			return authn.UserInfo{}, false
		}
		return authn.ServiceAccount(s.Namespace, s.Name), true
	}
	return authn.UserInfo{}, false
}

// subjectNodeID is the ID of subjectNode(s), without creating the node.
func subjectNodeID(s rbacv1.Subject) string {
	switch s.Kind {
	case rbacv1.UserKind:
		return kubeUserID(s.Name)
	case rbacv1.GroupKind:
		return kubeGroupID(s.Name)
	case rbacv1.ServiceAccountKind:
		return saID(s.Namespace, s.Name)
	}
	return ""
}

// roleRights is a role with the rights of rightKinds its rules grant.
type roleRights struct {
	role *rbac.Role
	mask uint
	n    int
}

// rolesByPower lists the roles that grant any right the graph follows,
// most rights first; cluster-admin leads its rank, then the authorizer's
// order (ClusterRoles by name, then Roles).
func rolesByPower(a *rbac.Authorizer) []roleRights {
	var out []roleRights
	for _, r := range a.Roles {
		var rr roleRights
		rr.role = r
		for i, k := range rightKinds {
			attrs := rbac.Attributes{Verb: k.verb, Resource: k.resource, Subresource: k.sub, Namespace: r.Namespace, ResourceRequest: true}
			if rbac.RulesAllow(&attrs, r.Rules) {
				rr.mask |= 1 << i
				rr.n++
			}
		}
		if rr.mask != 0 {
			out = append(out, rr)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].n != out[j].n {
			return out[i].n > out[j].n
		}
		return isClusterAdmin(out[i].role) && !isClusterAdmin(out[j].role)
	})
	return out
}

func isClusterAdmin(r *rbac.Role) bool { return r.Kind == "ClusterRole" && r.Name == "cluster-admin" }

// decisionEvidence is the evidence of an allowed decision: the binding
// and role that allowed it, or the authorizer's reason.
func decisionEvidence(byRef map[string]*rbac.Binding, d rbac.Decision, what string) []finding.Evidence {
	if d.DecidedBy != nil {
		if b := byRef[d.DecidedBy.Binding]; b != nil {
			ev := []finding.Evidence{{Loc: b.Loc, Text: fmt.Sprintf("%s grants role %s (%s)", b.Ref(), d.DecidedBy.Role, what)}}
			if b.Role != nil && b.Role.Loc.File != "" {
				ev = append(ev, finding.Evidence{Loc: b.Role.Loc, Text: "role " + b.Role.Ref()})
			}
			return ev
		}
	}
	return []finding.Evidence{{Text: what + ": " + strings.TrimSpace(d.Reason)}}
}

// appendEvidence appends the evidence not already listed.
func appendEvidence(ev []finding.Evidence, more ...finding.Evidence) []finding.Evidence {
	for _, m := range more {
		dup := false
		for _, x := range ev {
			if x.Loc == m.Loc && x.Text == m.Text {
				dup = true
				break
			}
		}
		if !dup {
			ev = append(ev, m)
		}
	}
	return ev
}

func bindingsByRef(a *rbac.Authorizer) map[string]*rbac.Binding {
	m := make(map[string]*rbac.Binding, len(a.Bindings))
	for _, b := range a.Bindings {
		m[b.Ref()] = b
	}
	return m
}

// targetsOf returns ns, or every namespace for a cluster-wide scope.
func targetsOf(ns string, nss []string) []string {
	if ns == "" {
		return nss
	}
	return []string{ns}
}

// addBindEdges: a subject that may create RoleBindings in a namespace
// (ClusterRoleBindings cluster-wide) gets, by binding itself, the rights of
// every role the registry lets it bind. The registry lets a binding through
// when the user may `bind` the role (resourceNames honoured: the request
// names the role) or already holds every rule of it; the second case gives
// nothing new, so only `bind` is asked. For each right the most powerful
// bindable role is named in the edge.
func (g *Graph) addBindEdges(a *rbac.Authorizer, nss []string) {
	b := &binder{a: a, powerful: rolesByPower(a), byRef: bindingsByRef(a), grants: map[string][]bindGrant{}}
	if len(b.powerful) == 0 {
		return
	}
	for _, gr := range a.Grants("create", rbacv1.GroupName, "rolebindings", "") {
		for _, ns := range targetsOf(gr.Namespace, nss) {
			b.add(bindGrant{gr, "rolebindings", ns, []string{ns}})
		}
	}
	for _, gr := range a.Grants("create", rbacv1.GroupName, "clusterrolebindings", "") {
		// ClusterRoleBindings are cluster-scoped: RoleBinding grants of
		// them never apply.
		if gr.Namespace == "" {
			b.add(bindGrant{gr, "clusterrolebindings", "", nss})
		}
	}
	haves := map[string]map[string]bool{}
	for _, bg := range b.order {
		u, ok := subjectUser(bg.gr.Subject)
		if !ok {
			continue
		}
		from := subjectNodeID(bg.gr.Subject)
		have := haves[from]
		if have == nil {
			have = g.targets(from)
			haves[from] = have
		}
		g.bindIn(b, bg, u, from, func() string { return g.subjectNode(bg.gr.Subject) }, have, "")
	}
	// An Entra principal's token carries its user and all its groups at
	// once: one group may give the binding and another the bind. Only
	// rights none of its user and group nodes reaches alone are added.
	binders := bindSubjects(a)
	for _, id := range g.idents {
		nodes := make([]string, 0, 1+len(id.user.Groups))
		nodes = append(nodes, kubeUserID(id.user.Name))
		for _, grp := range id.user.Groups {
			nodes = append(nodes, kubeGroupID(grp))
		}
		// Worth asking only when one node may bind and another may
		// create bindings.
		var mine []bindGrant
		combined := false
		for _, n := range nodes {
			mine = append(mine, b.grants[n]...)
		}
		for _, n := range nodes {
			if !binders[n] {
				continue
			}
			for _, m := range nodes {
				if m != n && len(b.grants[m]) > 0 {
					combined = true
				}
			}
		}
		if !combined {
			continue
		}
		have := map[string]bool{}
		for _, n := range nodes {
			for _, e := range g.out[n] {
				have[e.To] = true
			}
		}
		for _, bg := range mine {
			g.bindIn(b, bg, id.user, id.node, func() string { return id.node }, have, " (its user and groups together)")
		}
	}
}

// bindSubjects are the nodes of the subjects of bindings whose role has a
// rule with verb bind on roles or clusterroles (any names).
func bindSubjects(a *rbac.Authorizer) map[string]bool {
	binds := map[*rbac.Role]bool{}
	for _, r := range a.Roles {
		for i := range r.Rules {
			rule := &r.Rules[i]
			if rbac.VerbMatches(rule, "bind") && rbac.APIGroupMatches(rule, rbacv1.GroupName) &&
				(rbac.ResourceMatches(rule, "roles", "") || rbac.ResourceMatches(rule, "clusterroles", "")) {
				binds[r] = true
				break
			}
		}
	}
	out := map[string]bool{}
	for _, b := range a.Bindings {
		if b.Role == nil || !binds[b.Role] {
			continue
		}
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
				s.Namespace = b.Namespace
			}
			if id := subjectNodeID(s); id != "" {
				out[id] = true
			}
		}
	}
	return out
}

// binder holds what the bind edges are decided with.
type binder struct {
	a        *rbac.Authorizer
	powerful []roleRights
	byRef    map[string]*rbac.Binding
	// grants by subject node, and in order.
	grants map[string][]bindGrant
	order  []bindGrant
}

// bindGrant is a grant to create bindings of kind bindings in bindNS (""
// for ClusterRoleBindings), whose rights apply in targets.
type bindGrant struct {
	gr       rbac.SubjectGrant
	bindings string
	bindNS   string
	targets  []string
}

func (b *binder) add(bg bindGrant) {
	if id := subjectNodeID(bg.gr.Subject); id != "" {
		b.grants[id] = append(b.grants[id], bg)
		b.order = append(b.order, bg)
	}
}

// targets is the set of nodes a node has edges to.
func (g *Graph) targets(from string) map[string]bool {
	have := make(map[string]bool, len(g.out[from]))
	for _, e := range g.out[from] {
		have[e.To] = true
	}
	return have
}

// bindIn adds the edges of u, from node from (made by node when needed),
// binding roles to itself through bg: for each right it lacks (have), the
// most powerful role that grants it and that u may bind.
func (g *Graph) bindIn(b *binder, bg bindGrant, u authn.UserInfo, from string, node func() string, have map[string]bool, how string) {
	if from == "" {
		return
	}
	// The rights still missing somewhere in targets.
	var missing uint
	for i, k := range rightKinds {
		for _, ns := range bg.targets {
			if !have[k.target(ns)] {
				missing |= 1 << i
				break
			}
		}
	}
	if missing == 0 {
		return
	}
	where := "in " + bg.bindNS
	if bg.bindNS == "" {
		where = "cluster-wide"
	}
	gr := bg.gr
	grantEv := []finding.Evidence{{Loc: gr.BindingLoc, Text: fmt.Sprintf("%s grants role %s (create %s)", gr.Binding, gr.Role, bg.bindings)}}
	if gr.RoleLoc.File != "" {
		grantEv = append(grantEv, finding.Evidence{Loc: gr.RoleLoc, Text: "role " + gr.Role})
	}
	for _, rr := range b.powerful {
		if missing == 0 {
			return
		}
		if rr.mask&missing == 0 {
			continue
		}
		attrs := rbac.Attributes{User: u, Verb: "bind", APIGroup: rbacv1.GroupName, Name: rr.role.Name, Namespace: bg.bindNS, ResourceRequest: true}
		switch {
		case rr.role.Kind == "ClusterRole":
			attrs.Resource = "clusterroles"
		case bg.bindNS != "" && rr.role.Namespace == bg.bindNS:
			// A RoleBinding's Role is looked up in its own namespace.
			attrs.Resource = "roles"
		default:
			continue
		}
		d := b.a.Authorize(&attrs)
		if !d.Allowed {
			continue
		}
		ev := appendEvidence(append([]finding.Evidence(nil), grantEv...), decisionEvidence(b.byRef, d, "bind "+attrs.Resource+"/"+rr.role.Name)...)
		if rr.role.Loc.File != "" {
			ev = appendEvidence(ev, finding.Evidence{Loc: rr.role.Loc, Text: "role " + rr.role.Ref()})
		}
		for i, k := range rightKinds {
			if rr.mask&missing&(1<<i) == 0 {
				continue
			}
			for _, ns := range bg.targets {
				if to := k.target(ns); !have[to] {
					g.addEdge(node(), g.rightNode(k, ns), fmt.Sprintf("may bind %s to itself %s%s, so %s %s", rr.role.Ref(), where, how, k.action, ns), finding.LayerRBAC, ev...)
					have[to] = true
				}
			}
		}
		missing &^= rr.mask
	}
}

// anyRule is the rule an escalating subject writes into its role.
var anyRule = []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}

// addEscalateEdges: a subject bound to a role that it may update (or
// patch) and whose escalation check it passes (verb escalate on the role,
// resourceNames honoured) can add any rule to that role, and so holds every
// right wherever the binding applies.
func (g *Graph) addEscalateEdges(a *rbac.Authorizer, nss []string) {
	byRef := bindingsByRef(a)
	for _, b := range a.Bindings {
		if b.Role == nil {
			continue
		}
		r := b.Role
		resource := "roles"
		if r.Kind == "ClusterRole" {
			resource = "clusterroles"
		}
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
				s.Namespace = b.Namespace
			}
			u, ok := subjectUser(s)
			if !ok {
				continue
			}
			var write rbac.Decision
			var verb string
			for _, verb = range []string{"update", "patch"} {
				write = a.Authorize(&rbac.Attributes{User: u, Verb: verb, APIGroup: rbacv1.GroupName, Resource: resource, Name: r.Name, Namespace: r.Namespace, ResourceRequest: true})
				if write.Allowed {
					break
				}
			}
			if !write.Allowed {
				continue
			}
			ok, reason := a.RoleWriteAllowed(u, r.Namespace, r.Name, anyRule)
			if !ok {
				continue
			}
			from := subjectNodeID(s)
			if from == "" {
				continue
			}
			have := map[string]bool{}
			for _, e := range g.out[from] {
				have[e.To] = true
			}
			ev := []finding.Evidence{{Loc: b.Loc, Text: fmt.Sprintf("%s binds it to %s", b.Ref(), r.Ref())}}
			if r.Loc.File != "" {
				ev = append(ev, finding.Evidence{Loc: r.Loc, Text: "role " + r.Ref()})
			}
			ev = appendEvidence(ev, decisionEvidence(byRef, write, verb+" "+resource+"/"+r.Name)...)
			if esc := a.Authorize(&rbac.Attributes{User: u, Verb: "escalate", APIGroup: rbacv1.GroupName, Resource: resource, Name: r.Name, Namespace: r.Namespace, ResourceRequest: true}); esc.Allowed {
				ev = appendEvidence(ev, decisionEvidence(byRef, esc, "escalate "+resource+"/"+r.Name)...)
			} else {
				ev = append(ev, finding.Evidence{Text: "escalation check: " + reason})
			}
			for _, k := range rightKinds {
				for _, ns := range targetsOf(b.Namespace, nss) {
					if to := k.target(ns); !have[to] {
						g.addEdge(g.subjectNode(s), g.rightNode(k, ns), fmt.Sprintf("may escalate %s (bound by %s) to any right, so %s %s", r.Ref(), b.Ref(), k.action, ns), finding.LayerRBAC, ev...)
						have[to] = true
					}
				}
			}
		}
	}
}
