package rbac

import (
	"sort"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/source"
)

// SubjectGrant is one subject a binding gives a permission to, with the
// evidence.
type SubjectGrant struct {
	// Subject is the binding's subject; a ServiceAccount subject of a
	// RoleBinding has its namespace defaulted to the binding's.
	Subject rbacv1.Subject `json:"subject"`
	// Namespace is where the grant applies: the RoleBinding's namespace,
	// or "" for a ClusterRoleBinding (every namespace and cluster-wide).
	Namespace  string          `json:"namespace,omitempty"`
	Binding    string          `json:"binding"`
	BindingLoc source.Location `json:"bindingLocation"`
	Role       string          `json:"role,omitempty"`
	RoleLoc    source.Location `json:"roleLocation"`
	// Rule is the index of the first allowing rule in the role's effective
	// rules (-1 for the system:masters superuser).
	Rule   int    `json:"rule"`
	Origin Origin `json:"origin,omitempty"`
}

// Username is the Kubernetes username a User or ServiceAccount subject
// matches ("" for groups).
func (g *SubjectGrant) Username() string {
	switch g.Subject.Kind {
	case rbacv1.UserKind:
		return g.Subject.Name
	case rbacv1.ServiceAccountKind:
		return authn.ServiceAccountUsername(g.Subject.Namespace, g.Subject.Name)
	}
	return ""
}

// WhoCan lists every subject that may make the request, as the upstream
// SubjectAccessEvaluator.AllowedSubjects does: Group system:masters first,
// then the subjects of every ClusterRoleBinding whose role allows the
// request, then, for a namespaced request, those of the namespace's
// RoleBindings; duplicates (same subject through several bindings) are
// kept with their bindings. The user fields of attrs are ignored.
func (a *Authorizer) WhoCan(attrs *Attributes) []SubjectGrant {
	out := []SubjectGrant{{Subject: rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: authn.SystemMasters},
		Binding: "superuser authorizer", BindingLoc: source.Builtin("kube-apiserver"), Rule: -1}}
	memo := map[*Role]int{}
	allows := func(r *Role) int {
		if v, ok := memo[r]; ok {
			return v
		}
		v := -1
		combined := attrs.Resource
		if attrs.ResourceRequest && attrs.Subresource != "" {
			combined += "/" + attrs.Subresource
		}
		for i := range r.Rules {
			if ruleAllows(attrs, combined, &r.Rules[i]) {
				v = i
				break
			}
		}
		memo[r] = v
		return v
	}
	emit := func(b *Binding) {
		if b.Role == nil {
			return
		}
		ri := allows(b.Role)
		if ri < 0 {
			return
		}
		for _, s := range b.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" {
				s.Namespace = b.Namespace
			}
			out = append(out, SubjectGrant{Subject: s, Namespace: b.Namespace, Binding: b.Ref(), BindingLoc: b.Loc,
				Role: b.Role.Ref(), RoleLoc: b.Role.Loc, Rule: ri, Origin: b.Origin})
		}
	}
	for _, b := range a.Bindings[:a.numCRB] {
		emit(b)
	}
	if attrs.Namespace != "" {
		if x := a.rbByNS[attrs.Namespace]; x != nil {
			for _, i := range x.bindings {
				emit(a.Bindings[i])
			}
		}
	}
	return out
}

// Subjects lists who may do verb on group/resource[/sub] named name in
// namespace ns ("" for cluster-wide), with the binding and role evidence.
// It is WhoCan without the system:masters entry, for the attack-path
// graph.
func (a *Authorizer) Subjects(verb, group, resource, sub, ns, name string) []SubjectGrant {
	return a.WhoCan(&Attributes{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, Namespace: ns, Name: name, ResourceRequest: true})[1:]
}

// Grants lists, across every namespace, who may do verb on
// group/resource[/sub] (any name): ClusterRoleBinding grants (Namespace
// "", valid in all namespaces) and RoleBinding grants (Namespace set). A
// ClusterRoleBinding grant of a namespaced resource applies in every
// namespace. For the attack-path graph: "who can create pods where", "who
// can read secrets where".
func (a *Authorizer) Grants(verb, group, resource, sub string) []SubjectGrant {
	attrs := &Attributes{Verb: verb, APIGroup: group, Resource: resource, Subresource: sub, ResourceRequest: true}
	out := a.WhoCan(attrs)[1:]
	var nss []string
	for ns := range a.rbByNS {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		attrs.Namespace = ns
		all := a.WhoCan(attrs)[1:]
		for _, g := range all {
			if g.Namespace != "" {
				out = append(out, g)
			}
		}
	}
	return out
}

// Members returns the Entra principals a subject stands for: a Group
// subject's transitive members when it names a group object ID, the user
// whose Kubernetes username a User subject is (UPN, or object ID for
// guests, service principals and managed identities). Nil for anything
// else.
func (a *Authorizer) Members(s rbacv1.Subject) []*entra.Principal {
	dir := a.env.Directory
	if dir == nil {
		return nil
	}
	switch s.Kind {
	case rbacv1.GroupKind:
		if p := dir.ByID(s.Name); p != nil && p.Kind == entra.KindGroup {
			return dir.TransitiveMembers(p.ID)
		}
	case rbacv1.UserKind:
		if p := dir.ByUPN(s.Name); p != nil {
			if id := authn.Map(dir, p); id.User.Name == s.Name {
				return []*entra.Principal{p}
			}
		}
		if p := dir.ByID(s.Name); p != nil && p.Kind != entra.KindGroup {
			if id := authn.Map(dir, p); id.User.Name == s.Name {
				return []*entra.Principal{p}
			}
		}
	}
	return nil
}
