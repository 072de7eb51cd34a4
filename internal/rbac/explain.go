package rbac

import (
	"fmt"
	"sort"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/azurerbac"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/source"
)

// Problem codes of a near-miss binding: why a binding that would allow
// the request does not apply, or why a binding that applies does not
// allow it.
const (
	ProblemGroupDisplayName  = "group-named-by-display-name"
	ProblemGroupIDCase       = "group-object-id-case"
	ProblemUnknownGroup      = "group-not-in-directory"
	ProblemUserName          = "user-name-mismatch"
	ProblemOtherNamespace    = "binding-in-other-namespace"
	ProblemMissingRole       = "missing-role"
	ProblemAPIGroup          = "api-group-mismatch"
	ProblemSubresource       = "subresource-mismatch"
	ProblemResourceName      = "resource-name-mismatch"
	ProblemVerb              = "verb-missing"
	ProblemClusterScoped     = "cluster-scoped-resource-via-rolebinding"
	ProblemServiceAccountNS  = "service-account-namespace"
	ProblemAzureRoleMissing  = "azure-role-assignment-missing"
	ProblemNoBinding         = "no-binding"
	ProblemGroupsNotInToken  = "groups-overage"
	ProblemNotAuthenticated  = "not-authenticated"
	ProblemLocalAccountsNote = "local-accounts"
)

// GroupRef is one group of the caller.
type GroupRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName,omitempty"`
}

// BindingView is a binding that applies to the caller.
type BindingView struct {
	Binding string          `json:"binding"`
	Loc     source.Location `json:"location"`
	Role    string          `json:"role"`
	Subject string          `json:"subject"`
	Origin  Origin          `json:"origin,omitempty"`
	// Allows says whether the binding allows the request.
	Allows bool `json:"allows"`
}

// NearMiss is a binding that would have allowed, or nearly allows, the
// request, and why it does not.
type NearMiss struct {
	Problem string          `json:"problem"`
	Binding string          `json:"binding,omitempty"`
	Loc     source.Location `json:"location"`
	Role    string          `json:"role,omitempty"`
	Subject string          `json:"subject,omitempty"`
	Why     string          `json:"why"`
	// Fix is YAML to apply or a command to run.
	Fix string `json:"fix"`
}

// Explanation answers "why is this forbidden".
type Explanation struct {
	Request  string          `json:"request"`
	User     authn.UserInfo  `json:"user"`
	Identity *authn.Identity `json:"identity,omitempty"`
	Groups   []GroupRef      `json:"groups"`
	Decision Decision        `json:"decision"`
	// ClusterBindings and NamespaceBindings are the bindings that apply to
	// the caller, cluster-wide and in the request namespace.
	ClusterBindings   []BindingView `json:"clusterBindings"`
	NamespaceBindings []BindingView `json:"namespaceBindings"`
	// NearMisses come nearest first.
	NearMisses []NearMiss `json:"nearMisses"`
	// Notes are facts about the request (cluster-scoped resource asked in a
	// namespace, Azure RBAC in the chain).
	Notes []string `json:"notes,omitempty"`
}

// Explain decides a request and explains the answer: who the caller is,
// the bindings that apply, and, when the request is not allowed, the
// nearest bindings that would allow it and why they do not apply, each
// with a fix. id may be nil (a caller given by --as).
func (a *Authorizer) Explain(attrs *Attributes, id *authn.Identity) *Explanation {
	ex := &Explanation{Request: attrs.String(), User: attrs.User, Identity: id, Decision: a.Authorize(attrs)}
	dir := a.env.Directory
	for _, g := range attrs.User.Groups {
		ref := GroupRef{ID: g}
		if dir != nil {
			if p := dir.ByID(g); p != nil && p.Kind == entra.KindGroup {
				ref.DisplayName = p.DisplayName
			}
		}
		ex.Groups = append(ex.Groups, ref)
	}
	combined := attrs.Resource
	if attrs.ResourceRequest && attrs.Subresource != "" {
		combined += "/" + attrs.Subresource
	}
	bindingAllows := func(b *Binding) (int, bool) {
		if b.Role == nil {
			return -1, false
		}
		for i := range b.Role.Rules {
			if ruleAllows(attrs, combined, &b.Role.Rules[i]) {
				return i, true
			}
		}
		return -1, false
	}
	view := func(b *Binding, si int) BindingView {
		_, ok := bindingAllows(b)
		role := b.RoleRef.Kind + "/" + b.RoleRef.Name
		if b.Role != nil {
			role = b.Role.Ref()
		}
		return BindingView{Binding: b.Ref(), Loc: b.Loc, Role: role, Subject: subjectString(b.Subjects[si]), Origin: b.Origin, Allows: ok}
	}
	for _, b := range a.Bindings[:a.numCRB] {
		if si, ok := appliesTo(&attrs.User, b.Subjects, ""); ok {
			ex.ClusterBindings = append(ex.ClusterBindings, view(b, si))
		}
	}
	if attrs.Namespace != "" {
		for _, b := range a.RoleBindings(attrs.Namespace) {
			if si, ok := appliesTo(&attrs.User, b.Subjects, attrs.Namespace); ok {
				ex.NamespaceBindings = append(ex.NamespaceBindings, view(b, si))
			}
		}
	}
	if id != nil && !id.Authenticated() {
		ex.NearMisses = append(ex.NearMisses, NearMiss{Problem: ProblemNotAuthenticated, Why: "Guard rejects the token: " + id.Err,
			Fix: "Reduce the principal's group memberships to 200 or fewer, or authenticate as a user (Guard resolves a user's groups on overage)."})
	}
	if attrs.ResourceRequest && attrs.Namespace != "" {
		if namespaced, known := a.discovery.Namespaced(attrs.APIGroup, attrs.Resource); known && !namespaced {
			ex.Notes = append(ex.Notes, fmt.Sprintf("%s is cluster-scoped: a real request for it carries no namespace, so only ClusterRoleBindings can grant it (the decision above takes the namespace as given, as a SubjectAccessReview does)", attrs.GroupResource()))
		}
	}
	if a.azure != nil {
		ex.Notes = append(ex.Notes, "Azure RBAC for Kubernetes is enabled: after RBAC has no opinion, the AKS webhook checks Azure role assignments and denies what they do not allow")
	}
	if ex.Decision.Allowed {
		return ex
	}

	var misses []NearMiss
	// 1. Bindings whose role allows the request but whose subjects do not
	//    match the caller, though one of them plainly means the caller.
	consider := func(b *Binding, ns string) {
		ri, ok := bindingAllows(b)
		if !ok {
			return
		}
		for _, s := range b.Subjects {
			if m, ok := a.subjectMiss(attrs, id, b, s, ri); ok {
				misses = append(misses, m)
			}
		}
		_ = ns
	}
	for _, b := range a.Bindings[:a.numCRB] {
		consider(b, "")
	}
	if attrs.Namespace != "" {
		for _, b := range a.RoleBindings(attrs.Namespace) {
			consider(b, attrs.Namespace)
		}
	}
	// 2. RoleBindings in other namespaces that apply to the caller and
	//    whose role allows the request there.
	if attrs.ResourceRequest {
		for _, b := range a.Bindings[a.numCRB:] {
			if b.Namespace == attrs.Namespace {
				continue
			}
			si, applies := appliesTo(&attrs.User, b.Subjects, b.Namespace)
			if !applies {
				continue
			}
			if ri, ok := bindingAllows(b); ok {
				why := fmt.Sprintf("%s grants this in namespace %q only; a RoleBinding never grants outside its own namespace", b.Ref(), b.Namespace)
				if attrs.Namespace == "" {
					why = fmt.Sprintf("%s grants this in namespace %q only; a cluster-wide request (all namespaces or a cluster-scoped resource) needs a ClusterRoleBinding", b.Ref(), b.Namespace)
				}
				misses = append(misses, NearMiss{Problem: ProblemOtherNamespace, Binding: b.Ref(), Loc: b.Loc, Role: b.Role.Ref(), Subject: subjectString(b.Subjects[si]),
					Why: why + fmt.Sprintf(" (rule %d of %s)", ri, b.Role.Ref()), Fix: bindingFix(b, attrs.Namespace, b.Subjects[si])})
			}
		}
	}
	// 3. Bindings that apply to the caller but whose role does not allow.
	applied := func(b *Binding, si int) {
		if b.Role == nil {
			fix := fmt.Sprintf("Create the %s %q the binding refers to", b.RoleRef.Kind, b.RoleRef.Name)
			if b.RoleRef.Kind == "Role" {
				fix += fmt.Sprintf(" in namespace %q", b.Namespace)
			}
			misses = append(misses, NearMiss{Problem: ProblemMissingRole, Binding: b.Ref(), Loc: b.Loc, Subject: subjectString(b.Subjects[si]),
				Role: b.RoleRef.Kind + "/" + b.RoleRef.Name, Why: fmt.Sprintf("%s refers to a role that does not exist: %v", b.Ref(), b.Err), Fix: fix + "."})
			return
		}
		if _, ok := bindingAllows(b); ok {
			return
		}
		for i := range b.Role.Rules {
			if m, ok := ruleMiss(attrs, b, i); ok {
				m.Subject = subjectString(b.Subjects[si])
				misses = append(misses, m)
			}
		}
	}
	for _, b := range a.Bindings[:a.numCRB] {
		if si, ok := appliesTo(&attrs.User, b.Subjects, ""); ok && b.Origin == OriginSnapshot {
			applied(b, si)
		}
	}
	if attrs.Namespace != "" {
		for _, b := range a.RoleBindings(attrs.Namespace) {
			if si, ok := appliesTo(&attrs.User, b.Subjects, attrs.Namespace); ok {
				applied(b, si)
			}
		}
	}
	if attrs.ResourceRequest && attrs.Namespace != "" {
		if namespaced, known := a.discovery.Namespaced(attrs.APIGroup, attrs.Resource); known && !namespaced {
			misses = append(misses, NearMiss{Problem: ProblemClusterScoped, Why: fmt.Sprintf("%s is cluster-scoped; RoleBindings cannot grant it", attrs.GroupResource()),
				Fix: clusterBindingFix(attrs, id)})
		}
	}
	if a.azure != nil && ex.Decision.Denied && id != nil {
		res := a.azure.Authorize(toAzure(attrs))
		role := "Azure Kubernetes Service RBAC Reader"
		if res.DataAction != "" && !strings.HasSuffix(res.DataAction, "/read") {
			role = "Azure Kubernetes Service RBAC Writer"
		}
		misses = append(misses, NearMiss{Problem: ProblemAzureRoleMissing, Why: fmt.Sprintf("no Azure role assignment of %s or its groups allows data action %s at scope %s", attrs.User.Name, res.DataAction, res.Scope),
			Fix: fmt.Sprintf("az role assignment create --role %q --assignee-object-id %s --assignee-principal-type %s --scope %s", role, idOID(id), principalType(id), res.Scope)})
	}
	if len(misses) == 0 {
		misses = append(misses, NearMiss{Problem: ProblemNoBinding, Why: fmt.Sprintf("no binding in the cluster grants %s to the caller, its groups or its ServiceAccount groups: the 403 is RBAC working as configured", ex.Request),
			Fix: "# only if the caller should have this access (least privilege: the smallest default role that allows it)\n" + grantFix(a, attrs, id)})
	}
	sort.SliceStable(misses, func(i, j int) bool { return problemRank(misses[i].Problem) < problemRank(misses[j].Problem) })
	ex.NearMisses = append(ex.NearMisses, misses...)
	return ex
}

func problemRank(p string) int {
	for i, q := range []string{ProblemNotAuthenticated, ProblemGroupDisplayName, ProblemGroupIDCase, ProblemUserName, ProblemServiceAccountNS, ProblemOtherNamespace,
		ProblemMissingRole, ProblemAPIGroup, ProblemSubresource, ProblemResourceName, ProblemVerb, ProblemClusterScoped, ProblemUnknownGroup, ProblemAzureRoleMissing, ProblemNoBinding} {
		if p == q {
			return i
		}
	}
	return 100
}

func subjectString(s rbacv1.Subject) string {
	if s.Kind == rbacv1.ServiceAccountKind && s.Namespace != "" {
		return s.Kind + " " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

func idOID(id *authn.Identity) string {
	if id == nil || id.Principal == nil {
		return "<object-id>"
	}
	return id.Principal.ID
}

func principalType(id *authn.Identity) string {
	if id != nil && id.Principal != nil && id.Principal.Kind != entra.KindUser {
		return "ServicePrincipal"
	}
	return "User"
}

// subjectMiss recognizes a subject that was meant for the caller but does
// not match it.
func (a *Authorizer) subjectMiss(attrs *Attributes, id *authn.Identity, b *Binding, s rbacv1.Subject, ri int) (NearMiss, bool) {
	dir := a.env.Directory
	m := NearMiss{Binding: b.Ref(), Loc: b.Loc, Role: b.Role.Ref(), Subject: subjectString(s)}
	switch s.Kind {
	case rbacv1.GroupKind:
		if dir == nil {
			return m, false
		}
		for _, p := range dir.ByDisplayName(s.Name) {
			if p.Kind != entra.KindGroup {
				continue
			}
			for _, g := range attrs.User.Groups {
				if strings.EqualFold(g, p.ID) {
					m.Problem = ProblemGroupDisplayName
					m.Why = fmt.Sprintf("%s names group %q by its display name, but Entra ID tokens (and so Kubernetes) carry group object IDs: the caller is in %q as %s, so the subject never matches (rule %d of %s would allow)",
						b.Ref(), s.Name, p.DisplayName, p.ID, ri, b.Role.Ref())
					fixed := s
					fixed.Name = strings.ToLower(p.ID)
					m.Fix = replaceSubjectFix(b, s, fixed, p.DisplayName)
					return m, true
				}
			}
		}
		for _, g := range attrs.User.Groups {
			if g != s.Name && strings.EqualFold(g, s.Name) {
				m.Problem = ProblemGroupIDCase
				m.Why = fmt.Sprintf("%s names group %q, but the token carries %q: RBAC compares names exactly, case included", b.Ref(), s.Name, g)
				fixed := s
				fixed.Name = g
				m.Fix = replaceSubjectFix(b, s, fixed, "")
				return m, true
			}
		}
	case rbacv1.UserKind:
		if id == nil || id.Principal == nil {
			return m, false
		}
		p := id.Principal
		names := []string{p.UPN, p.DisplayName, p.AppID, p.ID}
		if p.User != nil {
			names = append(names, p.User.Mail)
		}
		for _, n := range names {
			if n != "" && s.Name != attrs.User.Name && strings.EqualFold(n, s.Name) {
				m.Problem = ProblemUserName
				m.Why = fmt.Sprintf("%s names user %q, but AKS authenticates %s as %q (%s claim): RBAC compares usernames exactly", b.Ref(), s.Name, p, attrs.User.Name, id.UsernameFrom)
				fixed := s
				fixed.Name = attrs.User.Name
				m.Fix = replaceSubjectFix(b, s, fixed, "")
				return m, true
			}
		}
	case rbacv1.ServiceAccountKind:
		ns, name, ok := authn.SplitServiceAccountUsername(attrs.User.Name)
		sns := s.Namespace
		if sns == "" {
			sns = b.Namespace
		}
		if ok && name == s.Name && ns != sns {
			m.Problem = ProblemServiceAccountNS
			m.Why = fmt.Sprintf("%s names ServiceAccount %s/%s, but the caller is %s/%s", b.Ref(), sns, s.Name, ns, name)
			fixed := s
			fixed.Namespace = ns
			m.Fix = replaceSubjectFix(b, s, fixed, "")
			return m, true
		}
	}
	return m, false
}

// ruleMiss recognizes a rule of an applying binding that nearly allows.
func ruleMiss(attrs *Attributes, b *Binding, i int) (NearMiss, bool) {
	r := &b.Role.Rules[i]
	if !attrs.ResourceRequest {
		return NearMiss{}, false
	}
	combined := attrs.Resource
	if attrs.Subresource != "" {
		combined += "/" + attrs.Subresource
	}
	verb := VerbMatches(r, attrs.Verb)
	group := APIGroupMatches(r, attrs.APIGroup)
	res := ResourceMatches(r, combined, attrs.Subresource)
	name := ResourceNameMatches(r, attrs.Name)
	baseRes := ResourceMatches(r, attrs.Resource, "")
	m := NearMiss{Binding: b.Ref(), Loc: b.Role.Loc, Role: b.Role.Ref()}
	ruleText := fmt.Sprintf("rule %d of %s %s", i, b.Role.Ref(), compactRule(r))
	switch {
	case verb && res && name && !group:
		m.Problem = ProblemAPIGroup
		m.Why = fmt.Sprintf("%s names the resource but not API group %q (the core group is \"\", never \"core\" or \"v1\")", ruleText, attrs.APIGroup)
		m.Fix = fmt.Sprintf("Add %q to apiGroups of that rule in %s.", attrs.APIGroup, b.Role.Ref())
	case verb && group && name && !res && attrs.Subresource != "" && baseRes:
		m.Problem = ProblemSubresource
		m.Why = fmt.Sprintf("%s grants %q but not the subresource %q: a resource never covers its subresources, and \"%s/*\" is not a wildcard", ruleText, attrs.Resource, combined, attrs.Resource)
		m.Fix = fmt.Sprintf("Add %q to resources of that rule in %s.", combined, b.Role.Ref())
	case verb && group && res && !name:
		m.Problem = ProblemResourceName
		if attrs.Name == "" {
			m.Why = fmt.Sprintf("%s is restricted to resourceNames %q, and a %s request has no name", ruleText, r.ResourceNames, attrs.Verb)
		} else {
			m.Why = fmt.Sprintf("%s is restricted to resourceNames %q, which do not include %q", ruleText, r.ResourceNames, attrs.Name)
		}
		m.Fix = fmt.Sprintf("Add a rule without resourceNames, or add %q to them, in %s.", attrs.Name, b.Role.Ref())
	case !verb && group && res && name:
		m.Problem = ProblemVerb
		m.Why = fmt.Sprintf("%s does not include verb %q (verbs are exact and case-sensitive)", ruleText, attrs.Verb)
		m.Fix = fmt.Sprintf("Add %q to verbs of that rule in %s.", attrs.Verb, b.Role.Ref())
	default:
		return NearMiss{}, false
	}
	return m, true
}

func compactRule(r *rbacv1.PolicyRule) string {
	var parts []string
	if len(r.APIGroups) > 0 {
		parts = append(parts, fmt.Sprintf("apiGroups:%q", r.APIGroups))
	}
	if len(r.Resources) > 0 {
		parts = append(parts, fmt.Sprintf("resources:%q", r.Resources))
	}
	if len(r.ResourceNames) > 0 {
		parts = append(parts, fmt.Sprintf("resourceNames:%q", r.ResourceNames))
	}
	if len(r.NonResourceURLs) > 0 {
		parts = append(parts, fmt.Sprintf("nonResourceURLs:%q", r.NonResourceURLs))
	}
	parts = append(parts, fmt.Sprintf("verbs:%q", r.Verbs))
	return "{" + strings.Join(parts, " ") + "}"
}

// bindingYAML renders a binding with the given subjects.
func bindingYAML(b *Binding, ns string, subjects []rbacv1.Subject, comments map[int]string) string {
	var sb strings.Builder
	sb.WriteString("apiVersion: rbac.authorization.k8s.io/v1\n")
	sb.WriteString("kind: " + b.Kind + "\nmetadata:\n  name: " + b.Name + "\n")
	if ns != "" {
		sb.WriteString("  namespace: " + ns + "\n")
	}
	sb.WriteString("subjects:\n")
	for i, s := range subjects {
		sb.WriteString("- kind: " + s.Kind + "\n")
		if s.Kind != rbacv1.ServiceAccountKind {
			sb.WriteString("  apiGroup: rbac.authorization.k8s.io\n")
		}
		sb.WriteString("  name: " + yamlString(s.Name))
		if c := comments[i]; c != "" {
			sb.WriteString("   # " + c)
		}
		sb.WriteString("\n")
		if s.Namespace != "" {
			sb.WriteString("  namespace: " + s.Namespace + "\n")
		}
	}
	sb.WriteString("roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: " + b.RoleRef.Kind + "\n  name: " + yamlString(b.RoleRef.Name) + "\n")
	return sb.String()
}

func yamlString(s string) string {
	if s == "" || strings.ContainsAny(s, ":#{}[],&*!|>'\"%@`") || strings.TrimSpace(s) != s {
		return fmt.Sprintf("%q", s)
	}
	return s
}

func replaceSubjectFix(b *Binding, old, fixed rbacv1.Subject, comment string) string {
	subjects := make([]rbacv1.Subject, len(b.Subjects))
	comments := map[int]string{}
	for i, s := range b.Subjects {
		if s == old {
			s = fixed
			if comment != "" {
				comments[i] = comment
			}
		}
		subjects[i] = s
	}
	return fmt.Sprintf("# %s (%s): replace the subject, then kubectl apply -f\n", b.Ref(), b.Loc) + bindingYAML(b, b.Namespace, subjects, comments)
}

func bindingFix(b *Binding, ns string, s rbacv1.Subject) string {
	if ns == "" {
		nb := *b
		nb.Kind = "ClusterRoleBinding"
		if b.RoleRef.Kind == "Role" {
			return fmt.Sprintf("# %s refers to a Role, which only exists in %q; grant a ClusterRole with a ClusterRoleBinding instead", b.Ref(), b.Namespace)
		}
		return "# a ClusterRoleBinding for the same ClusterRole\n" + bindingYAML(&nb, "", []rbacv1.Subject{s}, nil)
	}
	if b.RoleRef.Kind == "Role" {
		return fmt.Sprintf("# create a Role like %s in namespace %q and bind it there\nkubectl get role %s -n %s -o yaml | sed 's/namespace: %s/namespace: %s/' | kubectl apply -f -\n", b.Role.Ref(), ns, b.RoleRef.Name, b.Namespace, b.Namespace, ns) +
			bindingYAML(b, ns, []rbacv1.Subject{s}, nil)
	}
	return bindingYAML(b, ns, []rbacv1.Subject{s}, nil)
}

func clusterBindingFix(attrs *Attributes, id *authn.Identity) string {
	s := callerSubject(attrs, id)
	return fmt.Sprintf("kubectl create clusterrole %s-%s --verb=%s --resource=%s\nkubectl create clusterrolebinding %s-%s --clusterrole=%s-%s --%s=%s",
		attrs.Verb, attrs.Resource, attrs.Verb, attrs.GroupResource(), attrs.Verb, attrs.Resource, attrs.Verb, attrs.Resource, strings.ToLower(s.Kind), s.Name)
}

// callerSubject is the subject to bind for the caller: its first Entra
// group when it has one, else its username.
func callerSubject(attrs *Attributes, id *authn.Identity) rbacv1.Subject {
	if ns, name, ok := authn.SplitServiceAccountUsername(attrs.User.Name); ok {
		return rbacv1.Subject{Kind: "ServiceAccount", Namespace: ns, Name: ns + ":" + name}
	}
	if id != nil {
		for _, g := range attrs.User.Groups {
			if _, named := id.GroupNames[g]; named {
				return rbacv1.Subject{Kind: "Group", Name: g}
			}
		}
	}
	return rbacv1.Subject{Kind: "User", Name: attrs.User.Name}
}

// grantFix proposes the smallest existing ClusterRole that allows the
// request, bound in the namespace (or cluster-wide) to the caller.
func grantFix(a *Authorizer, attrs *Attributes, id *authn.Identity) string {
	s := callerSubject(attrs, id)
	flag := "--" + strings.ToLower(s.Kind) + "=" + s.Name
	if s.Kind == "ServiceAccount" {
		flag = "--serviceaccount=" + s.Name
	}
	for _, name := range []string{"view", "edit", "admin", "cluster-admin"} {
		r := a.ClusterRole(name)
		if r == nil || !RulesAllow(attrs, r.Rules) {
			continue
		}
		if attrs.Namespace == "" {
			return fmt.Sprintf("kubectl create clusterrolebinding %s-%s --clusterrole=%s %s", name, sanitize(s.Name), name, flag)
		}
		return fmt.Sprintf("kubectl create rolebinding %s-%s -n %s --clusterrole=%s %s", name, sanitize(s.Name), attrs.Namespace, name, flag)
	}
	verb := attrs.Verb
	if attrs.ResourceRequest {
		res := attrs.GroupResource()
		if attrs.Subresource != "" {
			res = attrs.Resource + "/" + attrs.Subresource
			if attrs.APIGroup != "" {
				res = attrs.Resource + "." + attrs.APIGroup + "/" + attrs.Subresource
			}
		}
		if attrs.Namespace == "" {
			return fmt.Sprintf("kubectl create clusterrole %s-%s --verb=%s --resource=%s\nkubectl create clusterrolebinding %s-%s --clusterrole=%s-%s %s", verb, attrs.Resource, verb, res, verb, attrs.Resource, verb, attrs.Resource, flag)
		}
		return fmt.Sprintf("kubectl create role %s-%s -n %s --verb=%s --resource=%s\nkubectl create rolebinding %s-%s -n %s --role=%s-%s %s", verb, attrs.Resource, attrs.Namespace, verb, res, verb, attrs.Resource, attrs.Namespace, verb, attrs.Resource, flag)
	}
	return fmt.Sprintf("kubectl create clusterrole %s-url --verb=%s --non-resource-url=%s\nkubectl create clusterrolebinding %s-url %s --clusterrole=%s-url", verb, verb, attrs.Path, verb, flag, verb)
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	var sb strings.Builder
	for _, c := range s {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' {
			sb.WriteRune(c)
		} else {
			sb.WriteRune('-')
		}
	}
	if sb.Len() > 40 {
		return sb.String()[:40]
	}
	return sb.String()
}

var _ = azurerbac.AuthorizerName
