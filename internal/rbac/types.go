package rbac

import (
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/source"
)

// Attributes is one authorization request: the fields of a
// SubjectAccessReview spec (k8s.io/apiserver authorizer.Attributes).
// ResourceRequest selects between the resource fields and Path.
type Attributes struct {
	User            authn.UserInfo
	Verb            string
	Namespace       string
	APIGroup        string
	Resource        string
	Subresource     string
	Name            string
	ResourceRequest bool
	Path            string
}

// String renders the request as the apiserver's RBAC log line does:
// `"get" resource "pods/log" named "x" in namespace "ns"`.
func (a *Attributes) String() string {
	var op string
	if a.ResourceRequest {
		op = fmt.Sprintf("%q resource %q", a.Verb, a.GroupResource())
		if a.Subresource != "" {
			op = fmt.Sprintf("%q resource %q", a.Verb, a.GroupResource()+"/"+a.Subresource)
		}
		if a.Name != "" {
			op += fmt.Sprintf(" named %q", a.Name)
		}
	} else {
		op = fmt.Sprintf("%q nonResourceURL %q", a.Verb, a.Path)
	}
	if a.Namespace != "" {
		return op + fmt.Sprintf(" in namespace %q", a.Namespace)
	}
	return op + " cluster-wide"
}

// GroupResource is resource or resource.group.
func (a *Attributes) GroupResource() string {
	if a.APIGroup == "" {
		return a.Resource
	}
	return a.Resource + "." + a.APIGroup
}

// Origin says where a role or binding comes from.
type Origin string

// Origins.
const (
	// OriginSnapshot objects are in the snapshot.
	OriginSnapshot Origin = "snapshot"
	// OriginBootstrap objects are the Kubernetes bootstrap policy the
	// apiserver creates on start, added because the snapshot lacks them.
	OriginBootstrap Origin = "kubernetes-bootstrap"
	// OriginAKS objects are the bindings AKS reconciles on every cluster
	// (aks-cluster-admin-binding-aad, aks-cluster-admin-binding).
	OriginAKS Origin = "aks-reconciled"
)

// Role is a Role or ClusterRole with its effective rules (after
// aggregation).
type Role struct {
	Kind      string // Role or ClusterRole
	Namespace string // "" for ClusterRoles
	Name      string
	Labels    map[string]string
	// Rules are the effective rules: for an aggregated ClusterRole, the
	// rules the aggregation controller writes.
	Rules []rbacv1.PolicyRule
	// Written are the rules as written in the object.
	Written         []rbacv1.PolicyRule
	AggregationRule *rbacv1.AggregationRule
	// AggregatedFrom names the ClusterRoles whose rules were aggregated in.
	AggregatedFrom []string
	Loc            source.Location
	Origin         Origin
}

// Ref renders the role as Kind/name or Role/ns/name.
func (r *Role) Ref() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Binding is a RoleBinding or ClusterRoleBinding with its resolved role.
type Binding struct {
	Kind      string // RoleBinding or ClusterRoleBinding
	Namespace string
	Name      string
	RoleRef   rbacv1.RoleRef
	Subjects  []rbacv1.Subject
	Loc       source.Location
	Origin    Origin
	// Role is the role the roleRef resolves to; nil when it does not
	// (Err says why, as the apiserver's rule resolver reports it).
	Role *Role
	Err  error

	// describe[i] is the apiserver's description of the binding through
	// subject i (roleBindingDescriber / clusterRoleBindingDescriber).
	describe []string
}

// Ref renders the binding as Kind/name or RoleBinding/ns/name.
func (b *Binding) Ref() string {
	if b.Kind == "ClusterRoleBinding" {
		return b.Kind + "/" + b.Name
	}
	return b.Kind + "/" + b.Namespace + "/" + b.Name
}

// Describe is the apiserver's description of the binding through subject
// i, as in "RBAC: allowed by <Describe>".
func (b *Binding) Describe(i int) string { return b.describe[i] }

func describeSubject(s *rbacv1.Subject, bindingNamespace string) string {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if len(s.Namespace) > 0 {
			return fmt.Sprintf("%s %q", s.Kind, s.Name+"/"+s.Namespace)
		}
		return fmt.Sprintf("%s %q", s.Kind, s.Name+"/"+bindingNamespace)
	default:
		return fmt.Sprintf("%s %q", s.Kind, s.Name)
	}
}

func (b *Binding) computeDescriptions() {
	b.describe = make([]string, len(b.Subjects))
	for i := range b.Subjects {
		if b.Kind == "ClusterRoleBinding" {
			b.describe[i] = fmt.Sprintf("ClusterRoleBinding %q of %s %q to %s", b.Name, b.RoleRef.Kind, b.RoleRef.Name, describeSubject(&b.Subjects[i], ""))
		} else {
			b.describe[i] = fmt.Sprintf("RoleBinding %q of %s %q to %s", b.Name+"/"+b.Namespace, b.RoleRef.Kind, b.RoleRef.Name, describeSubject(&b.Subjects[i], b.Namespace))
		}
	}
}

// appliesToUser mirrors pkg/registry/rbac/validation/rule.go: User by exact
// name, Group by membership, ServiceAccount by its username with the
// namespace defaulted to the binding's (RoleBindings only); the subject's
// apiGroup is ignored and unknown kinds never match.
func appliesToUser(u *authn.UserInfo, s *rbacv1.Subject, namespace string) bool {
	switch s.Kind {
	case rbacv1.UserKind:
		return u.Name == s.Name
	case rbacv1.GroupKind:
		return u.InGroup(s.Name)
	case rbacv1.ServiceAccountKind:
		ns := namespace
		if len(s.Namespace) > 0 {
			ns = s.Namespace
		}
		if len(ns) == 0 {
			return false
		}
		return matchesSAUsername(ns, s.Name, u.Name)
	default:
		return false
	}
}

// matchesSAUsername is serviceaccount.MatchesUsername without allocating.
func matchesSAUsername(ns, name, username string) bool {
	p := authn.ServiceAccountUsernamePrefix
	if len(username) != len(p)+len(ns)+1+len(name) {
		return false
	}
	return username[:len(p)] == p && username[len(p):len(p)+len(ns)] == ns &&
		username[len(p)+len(ns)] == ':' && username[len(p)+len(ns)+1:] == name
}

// appliesTo returns the index of the first subject that applies.
func appliesTo(u *authn.UserInfo, subjects []rbacv1.Subject, namespace string) (int, bool) {
	for i := range subjects {
		if appliesToUser(u, &subjects[i], namespace) {
			return i, true
		}
	}
	return 0, false
}

// Decision is the answer to one request, as a SubjectAccessReview status.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Denied is an explicit deny; only the Azure RBAC webhook gives one.
	// RBAC never denies: without an allowing rule it has no opinion.
	Denied bool `json:"denied,omitempty"`
	// Reason is status.reason as the apiserver writes it.
	Reason string `json:"reason"`
	// DecidedBy names the authorizer and the binding, role and rule (or
	// Azure role assignment) that decided; nil when nothing allowed.
	DecidedBy *DecidedBy `json:"decidedBy,omitempty"`
}

// DecidedBy is the evidence of a decision.
type DecidedBy struct {
	// Authorizer is "system:masters" (the superuser authorizer), "RBAC" or
	// "AzureRBAC".
	Authorizer string `json:"authorizer"`
	Binding    string `json:"binding,omitempty"`
	Subject    string `json:"subject,omitempty"`
	Role       string `json:"role,omitempty"`
	// Rule is the index of the allowing rule in the role's effective rules.
	Rule     int    `json:"rule"`
	Origin   Origin `json:"origin,omitempty"`
	Location string `json:"location,omitempty"`
	// RoleAssignment is the Azure role assignment ID (AzureRBAC).
	RoleAssignment string `json:"roleAssignment,omitempty"`
	RoleDefinition string `json:"roleDefinition,omitempty"`
	DataAction     string `json:"dataAction,omitempty"`
}
