package rbac

import (
	"context"
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/azurerbac"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/source"
)

// The identity and RBAC layer's rules.
var (
	RuleDanglingRoleRef = finding.Rule{ID: "AKS-RBAC-001", Layer: finding.LayerRBAC, Severity: finding.Medium,
		Title: "Binding refers to a role that does not exist (it grants nothing until someone creates the role)"}
	RuleWildcard = finding.Rule{ID: "AKS-RBAC-002", Layer: finding.LayerRBAC, Severity: finding.High,
		Title: "Bound role grants wildcard verbs, resources or API groups"}
	RuleEscalation = finding.Rule{ID: "AKS-RBAC-003", Layer: finding.LayerRBAC, Severity: finding.High,
		Title: "Bound role grants escalate, bind or impersonate"}
	RuleClusterSecrets = finding.Rule{ID: "AKS-RBAC-004", Layer: finding.LayerRBAC, Severity: finding.High,
		Title: "ClusterRoleBinding lets subjects read Secrets in every namespace"}
	RuleExec = finding.Rule{ID: "AKS-RBAC-005", Layer: finding.LayerRBAC, Severity: finding.Medium,
		Title: "Binding grants pods/exec or pods/attach (a shell in running containers)"}
	RuleClusterAdmin = finding.Rule{ID: "AKS-RBAC-006", Layer: finding.LayerRBAC, Severity: finding.High,
		Title: "cluster-admin bound to subjects other than the cluster's Entra admin groups"}
	RulePodCreateToPowerfulSA = finding.Rule{ID: "AKS-RBAC-007", Layer: finding.LayerRBAC, Severity: finding.High,
		Title: "Subjects may create pods in a namespace whose ServiceAccounts are more powerful than they are"}
	RuleInvalidObject = finding.Rule{ID: "AKS-RBAC-008", Layer: finding.LayerRBAC, Severity: finding.Medium,
		Title: "RBAC object the API server would reject (akssec ignores it, as the cluster would)"}
	RuleEveryone = finding.Rule{ID: "AKS-RBAC-009", Layer: finding.LayerRBAC, Severity: finding.Critical,
		Title: "Binding grants rights to every caller (system:unauthenticated, system:anonymous or system:authenticated)"}

	RuleGroupDisplayName = finding.Rule{ID: "AKS-ENTRA-001", Layer: finding.LayerEntra, Severity: finding.High,
		Title: "Group subject is an Entra display name, not an object ID: tokens carry object IDs, so the binding matches no one"}
	RuleUnknownGroup = finding.Rule{ID: "AKS-ENTRA-002", Layer: finding.LayerEntra, Severity: finding.Medium,
		Title: "Group subject is an object ID the Entra directory does not know"}
	RuleNoBreakGlass = finding.Rule{ID: "AKS-ENTRA-003", Layer: finding.LayerEntra, Severity: finding.Medium,
		Title: "No break-glass: the cluster's admin groups are empty or have a single member"}
	RuleUserNotUsername = finding.Rule{ID: "AKS-ENTRA-004", Layer: finding.LayerEntra, Severity: finding.Medium,
		Title: "User subject names an Entra principal by a name AKS never uses as its username"}

	RuleAzureAdmin = finding.Rule{ID: "AKS-RBAC-010", Layer: finding.LayerRBAC, Severity: finding.High,
		Title: "Azure RBAC for Kubernetes gives cluster-wide admin rights outside the admin groups"}

	RuleLocalAccounts = finding.Rule{ID: "AKS-AUTH-001", Layer: finding.LayerAPIServer, Severity: finding.High,
		Title: "Local accounts are enabled: a static system:masters certificate bypasses Entra ID and RBAC"}
	RuleNoEntra = finding.Rule{ID: "AKS-AUTH-002", Layer: finding.LayerAPIServer, Severity: finding.High,
		Title: "Cluster without AKS-managed Entra ID integration: only local accounts authenticate"}
)

// Rules returns the identity and RBAC layer's rules.
func Rules() []finding.Rule {
	return []finding.Rule{RuleDanglingRoleRef, RuleWildcard, RuleEscalation, RuleClusterSecrets, RuleExec, RuleClusterAdmin,
		RulePodCreateToPowerfulSA, RuleInvalidObject, RuleEveryone, RuleGroupDisplayName, RuleUnknownGroup, RuleNoBreakGlass,
		RuleUserNotUsername, RuleLocalAccounts, RuleNoEntra, RuleAzureAdmin}
}

// Check returns every finding of the identity and RBAC layer.
func Check(ctx context.Context, e *env.Environment) []finding.Finding {
	return New(e).Check(ctx)
}

func bindingObject(b *Binding) finding.Object {
	return finding.Object{Kind: b.Kind, Namespace: b.Namespace, Name: b.Name}
}

func roleObject(r *Role) finding.Object {
	return finding.Object{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name}
}

func isSystemSubject(s rbacv1.Subject) bool {
	return strings.HasPrefix(s.Name, "system:") || (s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "kube-system")
}

// Check returns every finding of the layer on the prepared authorizer.
func (a *Authorizer) Check(ctx context.Context) []finding.Finding {
	var out []finding.Finding
	e := a.env
	admin := map[string]bool{}
	for _, g := range authn.AdminGroups(e.Cluster) {
		admin[strings.ToLower(g)] = true
	}

	for _, inv := range a.Invalid {
		out = append(out, RuleInvalidObject.New(finding.Object{Kind: inv.Kind, Namespace: inv.Namespace, Name: inv.Name}, inv.Loc,
			"the API server rejects this object: "+strings.Join(inv.Errors, "; "),
			"Fix the object so that it validates (kubectl apply --dry-run=server -f ...)."))
	}

	// Roles that snapshot bindings use, with the bindings.
	boundBy := map[*Role][]*Binding{}
	for _, b := range a.Bindings {
		if ctx.Err() != nil {
			return out
		}
		if b.Origin != OriginSnapshot {
			continue
		}
		if b.Role == nil {
			kind := b.RoleRef.Kind
			fix := fmt.Sprintf("Create the %s %q", kind, b.RoleRef.Name)
			if kind == "Role" {
				fix += fmt.Sprintf(" in namespace %q", b.Namespace)
			}
			out = append(out, RuleDanglingRoleRef.New(bindingObject(b), b.Loc,
				fmt.Sprintf("%s refers to %s %q, which does not exist (%v); whoever creates a role of that name later silently grants its rights to %s", b.Ref(), kind, b.RoleRef.Name, b.Err, subjectsText(b.Subjects)),
				fix+", or delete the binding."))
			continue
		}
		boundBy[b.Role] = append(boundBy[b.Role], b)
		out = append(out, a.subjectFindings(b)...)
		out = append(out, a.bindingRightsFindings(b, admin)...)
	}

	// Role-level findings, for snapshot roles that are bound.
	roles := make([]*Role, 0, len(boundBy))
	for r := range boundBy {
		roles = append(roles, r)
	}
	sort.Slice(roles, func(i, j int) bool { return roles[i].Ref() < roles[j].Ref() })
	for _, r := range roles {
		if r.Origin != OriginSnapshot || (r.Kind == "ClusterRole" && r.Name == "cluster-admin") {
			continue
		}
		var ev []finding.Evidence
		for i, b := range boundBy[r] {
			if i == 5 {
				ev = append(ev, finding.Evidence{Loc: r.Loc, Text: fmt.Sprintf("and %d more bindings", len(boundBy[r])-5)})
				break
			}
			ev = append(ev, finding.Evidence{Loc: b.Loc, Text: fmt.Sprintf("bound by %s to %s", b.Ref(), subjectsText(b.Subjects))})
		}
		// pods/exec and pods/attach, once per role.
		for _, sub := range []string{"exec", "attach"} {
			for _, v := range []string{"create", "get"} {
				attrs := Attributes{Verb: v, Resource: "pods", Subresource: sub, ResourceRequest: true, Namespace: r.Namespace}
				ri := -1
				for i := range r.Rules {
					if RuleAllows(&attrs, &r.Rules[i]) {
						ri = i
						break
					}
				}
				if ri < 0 {
					continue
				}
				if isFullAuthority(r.Rules) {
					break // reported as wildcard or cluster-admin
				}
				out = append(out, RuleExec.New(roleObject(r), r.Loc,
					fmt.Sprintf("rule %d of %s %s lets its subjects %s pods/%s: a shell in running containers, with their ServiceAccount tokens and mounted secrets", ri, r.Ref(), compactRule(&r.Rules[ri]), v, sub),
					fmt.Sprintf("Remove pods/%s from %s, or bind it only for break-glass with an audit trail.", sub, r.Ref()), ev...))
				break
			}
		}
		for i := range r.Rules {
			rule := &r.Rules[i]
			if len(rule.NonResourceURLs) > 0 {
				continue
			}
			var wild []string
			if has(rule.Verbs, "*") {
				wild = append(wild, `verbs ["*"]`)
			}
			if has(rule.Resources, "*") {
				wild = append(wild, `resources ["*"]`)
			}
			if has(rule.APIGroups, "*") {
				wild = append(wild, `apiGroups ["*"]`)
			}
			if len(wild) > 0 {
				out = append(out, RuleWildcard.New(roleObject(r), r.Loc,
					fmt.Sprintf("rule %d of %s %s has %s: %s", i, r.Ref(), compactRule(rule), strings.Join(wild, ", "), wildWhat(rule)),
					"List the verbs, API groups and resources the subjects need instead of \"*\".", ev...))
			}
			var esc []string
			for _, v := range []string{"escalate", "bind", "impersonate"} {
				if has(rule.Verbs, v) {
					esc = append(esc, v)
				}
			}
			if len(esc) > 0 {
				out = append(out, RuleEscalation.New(roleObject(r), r.Loc,
					fmt.Sprintf("rule %d of %s %s grants %s: escalate and bind (on roles/clusterroles) let the subjects grant themselves rights they lack, impersonate lets them act as other users, groups or ServiceAccounts", i, r.Ref(), compactRule(rule), strings.Join(esc, ", ")),
					"Remove "+strings.Join(esc, ", ")+" unless the subjects administer RBAC; restrict with resourceNames where possible.", ev...))
			}
		}
	}

	out = append(out, a.podCreateFindings(ctx)...)
	out = append(out, a.clusterFindings()...)
	out = append(out, a.azureFindings(admin)...)
	return out
}

func wildWhat(r *rbacv1.PolicyRule) string {
	var parts []string
	if has(r.Verbs, "*") {
		parts = append(parts, "every verb, including escalate, bind and impersonate")
	}
	if has(r.Resources, "*") {
		parts = append(parts, "every resource of its API groups, Secrets and subresources such as pods/exec included")
	}
	if has(r.APIGroups, "*") {
		parts = append(parts, "every API group, present and future (CRDs too)")
	}
	return "it grants " + strings.Join(parts, "; ")
}

func has(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func subjectsText(ss []rbacv1.Subject) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = subjectString(s)
	}
	if len(parts) == 0 {
		return "no subject"
	}
	return strings.Join(parts, ", ")
}

// subjectFindings checks each subject of a binding against the directory.
func (a *Authorizer) subjectFindings(b *Binding) []finding.Finding {
	dir := a.env.Directory
	if dir == nil || len(dir.Principals()) == 0 {
		return nil
	}
	var out []finding.Finding
	for _, s := range b.Subjects {
		switch s.Kind {
		case rbacv1.GroupKind:
			if strings.HasPrefix(s.Name, "system:") {
				continue
			}
			if p := dir.ByID(s.Name); p != nil {
				continue
			}
			if ps := dir.ByDisplayName(s.Name); len(ps) > 0 {
				var ids []string
				for _, p := range ps {
					if p.Kind == entra.KindGroup {
						ids = append(ids, strings.ToLower(p.ID))
					}
				}
				if len(ids) > 0 {
					fixed := s
					fixed.Name = ids[0]
					out = append(out, RuleGroupDisplayName.New(bindingObject(b), b.Loc,
						fmt.Sprintf("%s names group %q by its display name; Entra ID tokens carry group object IDs (%s), so no member of the group ever matches and they get 403", b.Ref(), s.Name, strings.Join(ids, ", ")),
						replaceSubjectFix(b, s, fixed, s.Name),
						finding.Evidence{Loc: ps[0].Loc, Text: fmt.Sprintf("Entra group %q has object ID %s", s.Name, ids[0])}))
					continue
				}
			}
			if looksLikeGUID(s.Name) {
				out = append(out, RuleUnknownGroup.New(bindingObject(b), b.Loc,
					fmt.Sprintf("%s names group %s, which is not in the snapshot's Entra directory: a deleted group, another tenant's, or a typo", b.Ref(), s.Name),
					fmt.Sprintf("Check the ID with az ad group show --group %s; bind the intended group's object ID or remove the subject.", s.Name)))
			} else {
				out = append(out, RuleUnknownGroup.New(bindingObject(b), b.Loc,
					fmt.Sprintf("%s names group %q, which is neither an Entra object ID nor a display name in the directory: AKS groups are object IDs, so it matches no Entra caller", b.Ref(), s.Name),
					"Bind the Entra group's object ID (az ad group show --group <name> --query id -o tsv)."))
			}
		case rbacv1.UserKind:
			if strings.HasPrefix(s.Name, "system:") {
				continue
			}
			if a.Members(s) != nil {
				continue
			}
			var p *entra.Principal
			if q := dir.ByUPN(s.Name); q != nil {
				p = q
			} else if q := dir.ByAppID(s.Name); q != nil {
				p = q
			} else if q := dir.ByID(s.Name); q != nil && q.Kind != entra.KindGroup {
				p = q
			}
			if p == nil {
				continue
			}
			id := authn.Map(dir, p)
			fixed := s
			fixed.Name = id.User.Name
			out = append(out, RuleUserNotUsername.New(bindingObject(b), b.Loc,
				fmt.Sprintf("%s names user %q, but AKS authenticates %s with username %q (%s claim), so the subject never matches", b.Ref(), s.Name, p, id.User.Name, id.UsernameFrom),
				replaceSubjectFix(b, s, fixed, p.DisplayName)))
		}
	}
	return out
}

func looksLikeGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// bindingRightsFindings checks what a snapshot binding grants.
func (a *Authorizer) bindingRightsFindings(b *Binding, admin map[string]bool) []finding.Finding {
	var out []finding.Finding
	rules := b.Role.Rules
	allows := func(verb, group, resource, sub string) (int, bool) {
		attrs := Attributes{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, ResourceRequest: true, Namespace: b.Namespace}
		for i := range rules {
			if RuleAllows(&attrs, &rules[i]) {
				return i, true
			}
		}
		return -1, false
	}
	roleEv := finding.Evidence{Loc: b.Role.Loc, Text: fmt.Sprintf("%s (%s)", b.Role.Ref(), b.Role.Origin)}
	var everyone []string
	for _, s := range b.Subjects {
		if s.Kind == rbacv1.GroupKind && (s.Name == authn.AllUnauthenticated || s.Name == authn.AllAuthenticated) || s.Kind == rbacv1.UserKind && s.Name == authn.Anonymous {
			everyone = append(everyone, s.Name)
		}
	}
	if len(everyone) > 0 && len(rules) > 0 {
		scope := "in namespace " + b.Namespace
		if b.Kind == "ClusterRoleBinding" {
			scope = "cluster-wide"
		}
		out = append(out, RuleEveryone.New(bindingObject(b), b.Loc,
			fmt.Sprintf("%s grants %s %s to %s: every caller (anonymous ones too when system:unauthenticated or system:anonymous is bound) gets these rights", b.Ref(), b.Role.Ref(), scope, strings.Join(everyone, ", ")),
			"Bind named groups instead, or delete the binding.", roleEv))
	}
	if b.Kind == "ClusterRoleBinding" {
		for _, v := range []string{"get", "list", "watch"} {
			if ri, ok := allows(v, "", "secrets", ""); ok {
				var subs []rbacv1.Subject
				for _, s := range b.Subjects {
					if !isSystemSubject(s) {
						subs = append(subs, s)
					}
				}
				if len(subs) > 0 && !(b.RoleRef.Name == "cluster-admin") {
					out = append(out, RuleClusterSecrets.New(bindingObject(b), b.Loc,
						fmt.Sprintf("%s lets %s %s Secrets in every namespace (rule %d of %s)", b.Ref(), subjectsText(subs), v, ri, b.Role.Ref()),
						"Grant Secret access with RoleBindings in the namespaces that need it, restricted with resourceNames.", roleEv))
				}
				break
			}
		}
	}
	if b.Kind == "ClusterRoleBinding" && b.Role.Kind == "ClusterRole" && isFullAuthority(b.Role.Rules) {
		var outside []string
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.GroupKind && (admin[strings.ToLower(s.Name)] || s.Name == authn.SystemMasters) {
				continue
			}
			outside = append(outside, subjectString(s))
		}
		if len(outside) > 0 {
			reason := fmt.Sprintf("%s binds %s (full authority) to %s, outside aadProfile.adminGroupObjectIDs", b.Ref(), b.Role.Ref(), strings.Join(outside, ", "))
			if len(admin) == 0 {
				reason = fmt.Sprintf("%s binds %s (full authority) to %s; the cluster declares no Entra admin groups", b.Ref(), b.Role.Ref(), strings.Join(outside, ", "))
			}
			out = append(out, RuleClusterAdmin.New(bindingObject(b), b.Loc, reason,
				"Grant cluster-admin only through the admin groups: az aks update -g <rg> -n <cluster> --aad-admin-group-object-ids <group-ids>; give others edit/view in their namespaces.", roleEv))
		}
	}
	return out
}

// isFullAuthority reports whether rules allow every verb on every resource
// of every group (cluster-admin's first rule).
func isFullAuthority(rules []rbacv1.PolicyRule) bool {
	for i := range rules {
		r := &rules[i]
		if has(r.Verbs, "*") && has(r.APIGroups, "*") && has(r.Resources, "*") && len(r.ResourceNames) == 0 {
			return true
		}
	}
	return false
}

// powerful returns why a ServiceAccount is powerful, or "".
func (a *Authorizer) powerful(u authn.UserInfo) string {
	checks := []struct {
		verb, group, resource, what string
	}{
		{"*", "*", "*", "full authority over the cluster"},
		{"get", "", "secrets", "reads Secrets in every namespace"},
		{"list", "", "secrets", "lists Secrets in every namespace"},
		{"escalate", "rbac.authorization.k8s.io", "clusterroles", "may escalate ClusterRoles"},
		{"bind", "rbac.authorization.k8s.io", "clusterroles", "may bind any ClusterRole"},
		{"impersonate", "", "users", "may impersonate users"},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "may create ClusterRoleBindings"},
	}
	for _, c := range checks {
		d := a.Authorize(&Attributes{User: u, Verb: c.verb, APIGroup: c.group, Resource: c.resource, ResourceRequest: true})
		if d.Allowed && d.DecidedBy != nil && d.DecidedBy.Origin == OriginSnapshot {
			return fmt.Sprintf("%s (%s via %s)", c.what, d.DecidedBy.Role, d.DecidedBy.Binding)
		}
	}
	return ""
}

// podCreateFindings: whoever may create pods in a namespace may run them as
// any ServiceAccount of the namespace and take its rights.
func (a *Authorizer) podCreateFindings(ctx context.Context) []finding.Finding {
	var out []finding.Finding
	type saInfo struct {
		name, why string
		loc       source.Location
	}
	powerfulByNS := map[string][]saInfo{}
	for _, it := range a.env.ServiceAccounts {
		if ctx.Err() != nil {
			return out
		}
		sa := it.Obj
		if why := a.powerful(authn.ServiceAccount(sa.Namespace, sa.Name)); why != "" {
			powerfulByNS[sa.Namespace] = append(powerfulByNS[sa.Namespace], saInfo{sa.Name, why, it.Loc})
		}
	}
	if len(powerfulByNS) == 0 {
		return nil
	}
	nss := make([]string, 0, len(powerfulByNS))
	for ns := range powerfulByNS {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		if ns == "kube-system" {
			continue
		}
		grants := a.Subjects("create", "", "pods", "", ns, "")
		for _, g := range grants {
			if g.Origin != OriginSnapshot || isSystemSubject(g.Subject) || g.Namespace == "" && strings.HasSuffix(g.Role, "/cluster-admin") {
				continue
			}
			// Skip subjects that are themselves the powerful SAs.
			self := false
			for _, sa := range powerfulByNS[ns] {
				if g.Subject.Kind == rbacv1.ServiceAccountKind && g.Subject.Namespace == ns && g.Subject.Name == sa.name {
					self = true
				}
			}
			if self {
				continue
			}
			var ev []finding.Evidence
			var names []string
			for _, sa := range powerfulByNS[ns] {
				ev = append(ev, finding.Evidence{Loc: sa.loc, Text: fmt.Sprintf("ServiceAccount %s/%s %s", ns, sa.name, sa.why)})
				names = append(names, sa.name)
			}
			b := finding.Object{Kind: "RoleBinding", Namespace: g.Namespace, Name: strings.TrimPrefix(g.Binding, "RoleBinding/"+g.Namespace+"/")}
			if g.Namespace == "" {
				b = finding.Object{Kind: "ClusterRoleBinding", Name: strings.TrimPrefix(g.Binding, "ClusterRoleBinding/")}
			}
			out = append(out, RulePodCreateToPowerfulSA.New(b, g.BindingLoc,
				fmt.Sprintf("%s may create pods in namespace %s (%s, %s) and so run them as ServiceAccount %s, taking rights it does not have itself", subjectString(g.Subject), ns, g.Binding, g.Role, strings.Join(names, ", ")),
				fmt.Sprintf("Move the powerful ServiceAccounts out of %s, or drop pod creation for %s there; Pod Security cannot stop a pod from choosing serviceAccountName.", ns, subjectString(g.Subject)), ev...))
		}
	}
	return out
}

// clusterFindings are the API server authentication findings of aks.json.
func (a *Authorizer) clusterFindings() []finding.Finding {
	c := a.env.Cluster
	if c == nil {
		return nil
	}
	var out []finding.Finding
	obj := finding.Object{Kind: "ManagedCluster", Name: c.Name}
	if c.LocalAccountsEnabled() {
		out = append(out, RuleLocalAccounts.New(obj, c.Src,
			"disableLocalAccounts is not true: az aks get-credentials --admin returns a client certificate in system:masters, which the superuser authorizer allows everything, bypassing Entra ID, Conditional Access and RBAC, and which cannot be revoked without rotating the cluster certificates",
			fmt.Sprintf("az aks update -g %s -n %s --disable-local-accounts (then az aks rotate-certs to revoke issued certificates)", orPlaceholder(c.ResourceGroup, "<rg>"), orPlaceholder(c.Name, "<cluster>"))))
	}
	if c.AADProfile == nil {
		out = append(out, RuleNoEntra.New(obj, c.Src, "aadProfile is not set: the cluster has no Entra ID integration, so every kubeconfig is a static credential",
			fmt.Sprintf("az aks update -g %s -n %s --enable-aad --aad-admin-group-object-ids <group-id>", orPlaceholder(c.ResourceGroup, "<rg>"), orPlaceholder(c.Name, "<cluster>"))))
		return out
	}
	dir := a.env.Directory
	groups := c.AADProfile.AdminGroupObjectIDs
	fix := fmt.Sprintf("Add a second, separately protected break-glass account to an admin group (az ad group member add --group <admin-group-id> --member-id <id>), or keep local accounts enabled only with certificate custody; az aks update -g %s -n %s --aad-admin-group-object-ids <ids>",
		orPlaceholder(c.ResourceGroup, "<rg>"), orPlaceholder(c.Name, "<cluster>"))
	if len(groups) == 0 {
		if !c.LocalAccountsEnabled() {
			out = append(out, RuleNoBreakGlass.New(obj, c.Src, "aadProfile.adminGroupObjectIDs is empty and local accounts are disabled: nobody holds cluster-admin through AKS, and there is no break-glass path", fix))
		}
		return out
	}
	members := map[string]*entra.Principal{}
	known := true
	var ev []finding.Evidence
	for _, g := range groups {
		if dir == nil || !dir.MembersKnown(g) {
			known = false
			continue
		}
		gp := dir.ByID(g)
		name := g
		loc := c.Src
		if gp != nil {
			name, loc = gp.DisplayName+" ("+g+")", gp.Loc
		}
		ms := dir.TransitiveMembers(g)
		ev = append(ev, finding.Evidence{Loc: loc, Text: fmt.Sprintf("admin group %s has %d member(s)", name, len(ms))})
		for _, m := range ms {
			members[strings.ToLower(m.ID)] = m
		}
	}
	if known && len(members) <= 1 {
		who := "no member"
		for _, m := range members {
			who = "a single member, " + m.String()
		}
		reason := fmt.Sprintf("the cluster's Entra admin groups have %s", who)
		if !c.LocalAccountsEnabled() {
			reason += ", and local accounts are disabled: if that account is locked out, blocked by Conditional Access or leaves, nobody can administer the cluster"
		}
		out = append(out, RuleNoBreakGlass.New(obj, c.Src, reason, fix, ev...))
	}
	return out
}

func orPlaceholder(s, p string) string {
	if s == "" {
		return p
	}
	return s
}

// azureFindings reports Azure role assignments that make a principal an
// administrator of every namespace: AKS RBAC Cluster Admin anywhere, AKS
// RBAC Admin at the cluster scope or above.
func (a *Authorizer) azureFindings(admin map[string]bool) []finding.Finding {
	if a.azure == nil {
		return nil
	}
	c := a.env.Cluster
	var out []finding.Finding
	for _, ra := range a.azure.Assignments() {
		rd := azurerbac.BuiltinRoles[ra.RoleDefinitionGUID()]
		if rd == nil || admin[strings.ToLower(ra.PrincipalID)] {
			continue
		}
		clusterWide := !strings.Contains(strings.ToLower(ra.Scope), "/namespaces/")
		if !(strings.HasSuffix(rd.Name, "Cluster Admin") || strings.HasSuffix(rd.Name, "RBAC Admin") && clusterWide) {
			continue
		}
		who := ra.PrincipalID
		if ra.PrincipalName != "" {
			who = ra.PrincipalName + " (" + ra.PrincipalID + ")"
		}
		out = append(out, RuleAzureAdmin.New(finding.Object{Kind: "RoleAssignment", Name: ra.Name}, ra.Src,
			fmt.Sprintf("%s %s has %s at %s: the AKS webhook allows it every data action of the cluster%s", ra.PrincipalType, who, rd.Name, ra.Scope, map[bool]string{true: "", false: " in that namespace"}[clusterWide]),
			fmt.Sprintf("az role assignment delete --ids %s; give cluster-wide admin only to the admin groups (az aks update -g %s -n %s --aad-admin-group-object-ids ...), namespace roles elsewhere.", ra.ID, orPlaceholder(c.ResourceGroup, "<rg>"), orPlaceholder(c.Name, "<cluster>"))))
	}
	return out
}
