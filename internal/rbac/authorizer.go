// Package rbac decides Kubernetes authorization exactly as kube-apiserver
// does for an AKS cluster: the system:masters superuser authorizer, then
// the RBAC authorizer (plugin/pkg/auth/authorizer/rbac), then, when the
// cluster enables Azure RBAC for Kubernetes, the AKS authorization webhook
// (package azurerbac).
//
// RBAC is mirrored to the letter: ClusterRoleBindings are visited first,
// then the RoleBindings of the request namespace (only when it is not
// empty); a binding applies when any subject matches; its roleRef resolves
// to a Role in the binding's namespace or a ClusterRole; the first rule that
// allows decides, with the apiserver's reason string; without one RBAC has
// no opinion (it never denies), and unresolved roles only show in the
// reason. ClusterRole aggregation is computed as the aggregation controller
// does, and the Kubernetes bootstrap policy and the bindings AKS reconciles
// are added when the snapshot lacks them.
//
// An Authorizer is prepared once from an Environment and is immutable and
// safe for concurrent use.
package rbac

import (
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/azurerbac"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// Authorizer names in DecidedBy.
const (
	AuthorizerSuperuser = "system:masters"
	AuthorizerRBAC      = "RBAC"
	AuthorizerAzureRBAC = "AzureRBAC"
)

// Authorizer is the prepared authorizer chain of one cluster.
type Authorizer struct {
	env *env.Environment

	// Bindings are the ClusterRoleBindings (Bindings[:numCRB]) then the
	// RoleBindings, each in snapshot order, then added objects.
	Bindings []*Binding
	numCRB   int
	// Roles are every Role and ClusterRole, ClusterRoles sorted by name
	// first, then Roles.
	Roles        []*Role
	clusterRoles map[string]*Role
	roles        map[string]*Role // ns + "/" + name

	crbUsers, crbGroups map[string][]int32
	rbByNS              map[string]*nsIndex

	// Invalid lists snapshot objects the apiserver would reject; they are
	// left out of every decision.
	Invalid []InvalidObject

	discovery *Discovery
	azure     *azurerbac.Authorizer
}

type nsIndex struct {
	bindings      []int32
	users, groups map[string][]int32
}

// InvalidObject is an RBAC object that fails the apiserver's validation.
type InvalidObject struct {
	Kind, Namespace, Name string
	Loc                   source.Location
	Errors                []string
}

type options struct {
	bootstrap, aks, azure bool
}

// Option tunes New.
type Option func(*options)

// WithoutBootstrap leaves out the Kubernetes bootstrap policy (for tests
// of an exact world).
func WithoutBootstrap() Option { return func(o *options) { o.bootstrap = false } }

// WithoutAKSBindings leaves out the bindings AKS reconciles.
func WithoutAKSBindings() Option { return func(o *options) { o.aks = false } }

// WithoutAzureRBAC leaves the Azure RBAC webhook out of the chain even when
// the cluster enables it.
func WithoutAzureRBAC() Option { return func(o *options) { o.azure = false } }

// New prepares the authorizer of an environment.
func New(e *env.Environment, opts ...Option) *Authorizer {
	o := options{bootstrap: true, aks: true, azure: true}
	for _, f := range opts {
		f(&o)
	}
	a := &Authorizer{env: e, clusterRoles: map[string]*Role{}, roles: map[string]*Role{},
		crbUsers: map[string][]int32{}, crbGroups: map[string][]int32{}, rbByNS: map[string]*nsIndex{}}
	a.discovery = NewDiscovery(e)

	var boot *Policy
	if o.bootstrap {
		p, err := BootstrapPolicy()
		if err == nil {
			boot = p
		}
	}

	// Roles.
	var clusterRoles []*Role
	addCR := func(cr *rbacv1.ClusterRole, loc source.Location, origin Origin) {
		if _, dup := a.clusterRoles[cr.Name]; dup {
			return
		}
		if errs := validateClusterRole(cr); len(errs) > 0 {
			a.Invalid = append(a.Invalid, InvalidObject{"ClusterRole", "", cr.Name, loc, errs})
			return
		}
		r := &Role{Kind: "ClusterRole", Name: cr.Name, Labels: cr.Labels, Rules: cr.Rules, Written: cr.Rules, AggregationRule: cr.AggregationRule, Loc: loc, Origin: origin}
		a.clusterRoles[cr.Name] = r
		clusterRoles = append(clusterRoles, r)
	}
	for _, it := range e.ClusterRoles {
		addCR(it.Obj, it.Loc, OriginSnapshot)
	}
	if boot != nil {
		for i := range boot.ClusterRoles {
			cr := &boot.ClusterRoles[i]
			addCR(cr, boot.Loc["ClusterRole//"+cr.Name], OriginBootstrap)
		}
	}
	sort.SliceStable(clusterRoles, func(i, j int) bool { return clusterRoles[i].Name < clusterRoles[j].Name })
	aggregate(clusterRoles)
	a.Roles = append(a.Roles, clusterRoles...)

	addRole := func(r *rbacv1.Role, loc source.Location, origin Origin) {
		k := r.Namespace + "/" + r.Name
		if _, dup := a.roles[k]; dup {
			return
		}
		if errs := validateRules(r.Rules, true); len(errs) > 0 {
			a.Invalid = append(a.Invalid, InvalidObject{"Role", r.Namespace, r.Name, loc, errs})
			return
		}
		role := &Role{Kind: "Role", Namespace: r.Namespace, Name: r.Name, Labels: r.Labels, Rules: r.Rules, Written: r.Rules, Loc: loc, Origin: origin}
		a.roles[k] = role
		a.Roles = append(a.Roles, role)
	}
	for _, it := range e.Roles {
		addRole(it.Obj, it.Loc, OriginSnapshot)
	}
	if boot != nil {
		for i := range boot.Roles {
			r := &boot.Roles[i]
			addRole(r, boot.Loc["Role/"+r.Namespace+"/"+r.Name], OriginBootstrap)
		}
	}

	// Bindings: ClusterRoleBindings first.
	seen := map[string]bool{}
	addBinding := func(kind, ns, name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, loc source.Location, origin Origin) {
		k := kind + "/" + ns + "/" + name
		if seen[k] {
			return
		}
		seen[k] = true
		ref, subjects = defaultBinding(ref, subjects)
		if errs := validateBinding(ref, subjects, kind == "RoleBinding"); len(errs) > 0 {
			a.Invalid = append(a.Invalid, InvalidObject{kind, ns, name, loc, errs})
			return
		}
		b := &Binding{Kind: kind, Namespace: ns, Name: name, RoleRef: ref, Subjects: subjects, Loc: loc, Origin: origin}
		b.Role, b.Err = a.resolve(ref, ns)
		b.computeDescriptions()
		a.Bindings = append(a.Bindings, b)
	}
	for _, it := range e.ClusterRoleBindings {
		addBinding("ClusterRoleBinding", "", it.Obj.Name, it.Obj.RoleRef, it.Obj.Subjects, it.Loc, OriginSnapshot)
	}
	if o.aks {
		for _, crb := range aksBindings(e) {
			addBinding("ClusterRoleBinding", "", crb.Name, crb.RoleRef, crb.Subjects, source.Builtin("AKS reconciled binding"), OriginAKS)
		}
	}
	if boot != nil {
		for i := range boot.ClusterRoleBindings {
			b := &boot.ClusterRoleBindings[i]
			addBinding("ClusterRoleBinding", "", b.Name, b.RoleRef, b.Subjects, boot.Loc["ClusterRoleBinding//"+b.Name], OriginBootstrap)
		}
	}
	a.numCRB = len(a.Bindings)
	for _, it := range e.RoleBindings {
		addBinding("RoleBinding", it.Obj.Namespace, it.Obj.Name, it.Obj.RoleRef, it.Obj.Subjects, it.Loc, OriginSnapshot)
	}
	if boot != nil {
		for i := range boot.RoleBindings {
			b := &boot.RoleBindings[i]
			addBinding("RoleBinding", b.Namespace, b.Name, b.RoleRef, b.Subjects, boot.Loc["RoleBinding/"+b.Namespace+"/"+b.Name], OriginBootstrap)
		}
	}
	a.index()

	if o.azure && e.Cluster != nil && e.Cluster.AADProfile != nil && e.Cluster.AADProfile.EnableAzureRBAC {
		a.azure = azurerbac.New(e)
	}
	return a
}

// resolve mirrors GetRoleReferenceRules with the errors the apiserver's
// listers return.
func (a *Authorizer) resolve(ref rbacv1.RoleRef, bindingNamespace string) (*Role, error) {
	switch ref.Kind {
	case "Role":
		if r := a.roles[bindingNamespace+"/"+ref.Name]; r != nil && bindingNamespace != "" {
			return r, nil
		}
		return nil, fmt.Errorf("role.rbac.authorization.k8s.io %q not found", ref.Name)
	case "ClusterRole":
		if r := a.clusterRoles[ref.Name]; r != nil {
			return r, nil
		}
		return nil, fmt.Errorf("clusterrole.rbac.authorization.k8s.io %q not found", ref.Name)
	default:
		return nil, fmt.Errorf("unsupported role reference kind: %q", ref.Kind)
	}
}

// subjectKey returns the index a subject is found under: a User by its
// name, a ServiceAccount by its username, a Group by its name.
func subjectKey(s *rbacv1.Subject, bindingNamespace string) (key string, group, ok bool) {
	switch s.Kind {
	case rbacv1.UserKind:
		return s.Name, false, true
	case rbacv1.GroupKind:
		return s.Name, true, true
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		if ns == "" {
			return "", false, false
		}
		return authn.ServiceAccountUsername(ns, s.Name), false, true
	}
	return "", false, false
}

func (a *Authorizer) index() {
	add := func(m map[string][]int32, k string, i int32) {
		l := m[k]
		if len(l) > 0 && l[len(l)-1] == i {
			return
		}
		m[k] = append(l, i)
	}
	for i, b := range a.Bindings {
		var users, groups map[string][]int32
		if i < a.numCRB {
			users, groups = a.crbUsers, a.crbGroups
		} else {
			x := a.rbByNS[b.Namespace]
			if x == nil {
				x = &nsIndex{users: map[string][]int32{}, groups: map[string][]int32{}}
				a.rbByNS[b.Namespace] = x
			}
			x.bindings = append(x.bindings, int32(i))
			users, groups = x.users, x.groups
		}
		for j := range b.Subjects {
			k, isGroup, ok := subjectKey(&b.Subjects[j], b.Namespace)
			if !ok {
				continue
			}
			if isGroup {
				add(groups, k, int32(i))
			} else {
				add(users, k, int32(i))
			}
		}
	}
}

// Env returns the environment the authorizer was prepared from.
func (a *Authorizer) Env() *env.Environment { return a.env }

// Discovery returns the resource table the authorizer knows.
func (a *Authorizer) Discovery() *Discovery { return a.discovery }

// AzureRBAC reports whether the Azure RBAC webhook is in the chain.
func (a *Authorizer) AzureRBAC() bool { return a.azure != nil }

// ClusterRole returns the ClusterRole with its effective rules, or nil.
func (a *Authorizer) ClusterRole(name string) *Role { return a.clusterRoles[name] }

// Role returns the Role, or nil.
func (a *Authorizer) Role(ns, name string) *Role { return a.roles[ns+"/"+name] }

// ClusterRoleBindings returns the ClusterRoleBindings.
func (a *Authorizer) ClusterRoleBindings() []*Binding { return a.Bindings[:a.numCRB] }

// RoleBindings returns the RoleBindings of a namespace ("" for all).
func (a *Authorizer) RoleBindings(ns string) []*Binding {
	if ns == "" {
		return a.Bindings[a.numCRB:]
	}
	x := a.rbByNS[ns]
	if x == nil {
		return nil
	}
	out := make([]*Binding, len(x.bindings))
	for i, j := range x.bindings {
		out[i] = a.Bindings[j]
	}
	return out
}

// candidates appends to buf the sorted, distinct indexes of the bindings
// of a subject index that may apply to u.
func candidates(buf []int32, users, groups map[string][]int32, u *authn.UserInfo) []int32 {
	start := len(buf)
	buf = append(buf, users[u.Name]...)
	for _, g := range u.Groups {
		buf = append(buf, groups[g]...)
	}
	c := buf[start:]
	if len(c) > 1 {
		// Insertion sort: candidate lists are short.
		for i := 1; i < len(c); i++ {
			for j := i; j > 0 && c[j] < c[j-1]; j-- {
				c[j], c[j-1] = c[j-1], c[j]
			}
		}
		w := 1
		for i := 1; i < len(c); i++ {
			if c[i] != c[w-1] {
				c[w] = c[i]
				w++
			}
		}
		buf = buf[:start+w]
	}
	return buf
}

// Authorize decides a request through the chain: system:masters, RBAC,
// then the Azure RBAC webhook when enabled; the first allow or deny wins,
// as the apiserver's union authorizer does.
func (a *Authorizer) Authorize(attrs *Attributes) Decision {
	if attrs.User.InGroup(authn.SystemMasters) {
		return Decision{Allowed: true, DecidedBy: &DecidedBy{Authorizer: AuthorizerSuperuser, Subject: "Group " + authn.SystemMasters}}
	}
	d, errs := a.authorizeRBAC(attrs)
	if d.Allowed {
		return d
	}
	var reasons []string
	if len(errs) > 0 {
		reasons = append(reasons, "rbac: RBAC: "+utilerrors.NewAggregate(errs).Error())
	}
	if a.azure != nil {
		res := a.azure.Authorize(toAzure(attrs))
		if res.Reason != "" {
			reasons = append(reasons, azurerbac.AuthorizerName+": "+res.Reason)
		}
		switch {
		case res.Allowed:
			return Decision{Allowed: true, Reason: res.Reason, DecidedBy: &DecidedBy{Authorizer: AuthorizerAzureRBAC,
				RoleAssignment: res.Assignment, RoleDefinition: res.RoleDefinition, DataAction: res.DataAction, Location: res.Loc.String()}}
		case res.Denied:
			return Decision{Denied: true, Reason: res.Reason, DecidedBy: &DecidedBy{Authorizer: AuthorizerAzureRBAC, DataAction: res.DataAction}}
		}
	}
	return Decision{Reason: strings.Join(reasons, "\n")}
}

func toAzure(a *Attributes) *azurerbac.Request {
	return &azurerbac.Request{User: a.User, Verb: a.Verb, Namespace: a.Namespace, APIGroup: a.APIGroup, Resource: a.Resource,
		Subresource: a.Subresource, Name: a.Name, ResourceRequest: a.ResourceRequest, Path: a.Path}
}

// AuthorizeRBAC is the RBAC authorizer alone, with its own reason: "RBAC:
// allowed by ..." or, without an allowing rule (no opinion), the
// resolution errors met on the way ("RBAC: ...", or "").
func (a *Authorizer) AuthorizeRBAC(attrs *Attributes) Decision {
	d, errs := a.authorizeRBAC(attrs)
	if !d.Allowed && len(errs) > 0 {
		d.Reason = "RBAC: " + utilerrors.NewAggregate(errs).Error()
	}
	return d
}

func (a *Authorizer) authorizeRBAC(attrs *Attributes) (Decision, []error) {
	var buf [64]int32
	combined := attrs.Resource
	if attrs.ResourceRequest && len(attrs.Subresource) > 0 {
		combined = attrs.Resource + "/" + attrs.Subresource
	}
	var errs []error
	cand := candidates(buf[:0], a.crbUsers, a.crbGroups, &attrs.User)
	if d, ok := a.visit(attrs, combined, cand, "", &errs); ok {
		return d, nil
	}
	if attrs.Namespace != "" {
		if x := a.rbByNS[attrs.Namespace]; x != nil {
			cand = candidates(buf[:0], x.users, x.groups, &attrs.User)
			if d, ok := a.visit(attrs, combined, cand, attrs.Namespace, &errs); ok {
				return d, nil
			}
		}
	}
	return Decision{}, errs
}

func (a *Authorizer) visit(attrs *Attributes, combined string, cand []int32, ns string, errs *[]error) (Decision, bool) {
	for _, bi := range cand {
		b := a.Bindings[bi]
		si, applies := appliesTo(&attrs.User, b.Subjects, ns)
		if !applies {
			continue
		}
		if b.Role == nil {
			*errs = append(*errs, b.Err)
			continue
		}
		for ri := range b.Role.Rules {
			if ruleAllows(attrs, combined, &b.Role.Rules[ri]) {
				return Decision{Allowed: true, Reason: "RBAC: allowed by " + b.describe[si], DecidedBy: &DecidedBy{
					Authorizer: AuthorizerRBAC, Binding: b.Ref(), Subject: b.Subjects[si].Kind + " " + b.Subjects[si].Name,
					Role: b.Role.Ref(), Rule: ri, Origin: b.Origin, Location: b.Loc.String(),
				}}, true
			}
		}
	}
	return Decision{}, false
}
