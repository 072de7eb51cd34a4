// Package graph joins the layers into one graph and finds attack paths
// across them: Entra principals → groups → Kubernetes identities → RBAC
// rights (create pods, exec, impersonate, read Secrets; gained by bind or
// escalate; other users and groups by impersonation) → ServiceAccounts,
// or the node through a pod that escapes to it (its tokens, the kubelet
// identity) → federated managed identities → Key Vault secrets and
// container registries.
//
// It is the only place where layers meet. Each edge is decided by the layer
// engine that owns it (rbac, admission, workloadid, secretsstore, azrole), carries
// the evidence that makes it true (objects with file:line) and names the
// layer that could have stopped it.
package graph

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/akssec/akssec/internal/admission"
	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/rbac"
	"github.com/akssec/akssec/internal/secretsstore"
)

// NodeKind classifies nodes.
type NodeKind string

// Node kinds.
const (
	EntraUser       NodeKind = "entra-user"
	EntraGroup      NodeKind = "entra-group"
	EntraApp        NodeKind = "entra-service-principal"
	KubeUser        NodeKind = "k8s-user"
	KubeGroup       NodeKind = "k8s-group"
	ServiceAccount  NodeKind = "k8s-serviceaccount"
	CreatePods      NodeKind = "create-pods"
	ExecPods        NodeKind = "exec-pods"
	KubeSecrets     NodeKind = "k8s-secrets"
	BecomeSA        NodeKind = "become-serviceaccount"
	ManagedIdentity NodeKind = "managed-identity"
	KeyVaultSecret  NodeKind = "keyvault-secret"
	EntraIdentity   NodeKind = "entra-managed-identity"
)

const principalPrefix = "entra:"

// Node is one vertex.
type Node struct {
	ID    string   `json:"id"`
	Kind  NodeKind `json:"kind"`
	Label string   `json:"label"`
}

// Edge is one step an attacker (or a legitimate user) can take.
type Edge struct {
	From, To string
	// Action says what the step is ("member of", "may create pods in").
	Action string `json:"action"`
	// Layer is the defense layer that could have stopped this step.
	Layer    finding.Layer      `json:"layer"`
	Evidence []finding.Evidence `json:"evidence,omitempty"`
}

// Graph is the cross-layer graph of one Environment; immutable once built.
type Graph struct {
	nodes map[string]*Node
	out   map[string][]*Edge
	in    map[string][]*Edge
	order []string
	Notes []string

	// idents are the Entra principals' Kubernetes identities, while
	// building.
	idents []principalIdent
}

type principalIdent struct {
	node string
	user authn.UserInfo
}

// Node returns the node with the id, or nil.
func (g *Graph) Node(id string) *Node { return g.nodes[id] }

// Nodes returns every node in insertion order.
func (g *Graph) Nodes() []*Node {
	out := make([]*Node, len(g.order))
	for i, id := range g.order {
		out[i] = g.nodes[id]
	}
	return out
}

// Out returns the edges leaving a node.
func (g *Graph) Out(id string) []*Edge { return g.out[id] }

func (g *Graph) node(id string, kind NodeKind, label string) string {
	if _, ok := g.nodes[id]; !ok {
		g.nodes[id] = &Node{ID: id, Kind: kind, Label: label}
		g.order = append(g.order, id)
	}
	return id
}

func (g *Graph) edge(from, to, action string, layer finding.Layer, ev ...finding.Evidence) {
	for _, e := range g.out[from] {
		if e.To == to && e.Action == action {
			e.Evidence = append(e.Evidence, ev...)
			return
		}
	}
	g.addEdge(from, to, action, layer, ev...)
}

// addEdge adds an edge the caller knows is new (no edge from -> to with
// the action yet), without edge's scan of from's edges.
func (g *Graph) addEdge(from, to, action string, layer finding.Layer, ev ...finding.Evidence) {
	e := &Edge{From: from, To: to, Action: action, Layer: layer, Evidence: ev}
	g.out[from] = append(g.out[from], e)
	g.in[to] = append(g.in[to], e)
}

// In returns the edges entering a node.
func (g *Graph) In(id string) []*Edge { return g.in[id] }

// Toward searches backwards from dst and returns, for every node that can
// reach dst, the first edge of one of its shortest paths there. It costs the
// size of dst's ancestry, not of the graph.
func (g *Graph) Toward(dst string, maxHops int) map[string]*Edge {
	return g.search(dst, "", maxHops, g.in, func(e *Edge) string { return e.From })
}

// TowardExcept is Toward that reaches the nodes for which stop is true but
// does not search past them (the caller accounts for what lies behind
// them, e.g. once for a hub many nodes share).
func (g *Graph) TowardExcept(dst string, stop func(id string) bool) map[string]*Edge {
	by := map[string]*Edge{dst: nil}
	frontier := []string{dst}
	for len(frontier) > 0 {
		var next []string
		for _, n := range frontier {
			for _, e := range g.in[n] {
				if _, seen := by[e.From]; seen {
					continue
				}
				by[e.From] = e
				if !stop(e.From) {
					next = append(next, e.From)
				}
			}
		}
		frontier = next
	}
	return by
}

// search is a breadth-first search from start along edges(n), where far(e)
// is the node an edge leads to; it returns for every reached node the edge
// it was reached by, and stops early once stop is reached.
func (g *Graph) search(start, stop string, maxHops int, edges map[string][]*Edge, far func(*Edge) string) map[string]*Edge {
	by := map[string]*Edge{start: nil}
	frontier := []string{start}
	for hop := 0; len(frontier) > 0 && (maxHops <= 0 || hop < maxHops); hop++ {
		var next []string
		for _, n := range frontier {
			for _, e := range edges[n] {
				m := far(e)
				if _, seen := by[m]; seen {
					continue
				}
				by[m] = e
				if m == stop {
					return by
				}
				next = append(next, m)
			}
		}
		frontier = next
	}
	return by
}

// Follow builds the path from src along the edges Toward returned.
func (g *Graph) Follow(next map[string]*Edge, src string) *Path {
	if _, ok := next[src]; !ok {
		return nil
	}
	p := &Path{Nodes: []*Node{g.nodes[src]}}
	for e := next[src]; e != nil; e = next[e.To] {
		p.Edges = append(p.Edges, e)
		p.Nodes = append(p.Nodes, g.nodes[e.To])
	}
	return p
}

// rightKind is one RBAC right the graph follows: who may do verb on
// resource[/sub] in a namespace reaches the right's node there.
type rightKind struct {
	verb, resource, sub string
	target              func(ns string) string
	kind                NodeKind
	action              string
	label               func(ns string) string
}

var rightKinds = []rightKind{
	{"create", "pods", "", createPodsID, CreatePods, "may create pods in", func(ns string) string { return "create pods in " + ns }},
	{"create", "pods", "exec", execPodsID, ExecPods, "may exec into pods in", func(ns string) string { return "exec into pods in " + ns }},
	{"get", "secrets", "", kubeSecretsID, KubeSecrets, "may read Secrets in", func(ns string) string { return "Secrets of " + ns }},
	// Impersonating a ServiceAccount, or minting its token
	// (serviceaccounts/token create), is becoming it without a pod.
	{"impersonate", "serviceaccounts", "", becomeSAID, BecomeSA, "may impersonate ServiceAccounts in", func(ns string) string { return "become any ServiceAccount of " + ns }},
	{"create", "serviceaccounts", "token", becomeSAID, BecomeSA, "may create ServiceAccount tokens in", func(ns string) string { return "become any ServiceAccount of " + ns }},
}

func (g *Graph) rightNode(r rightKind, ns string) string {
	return g.node(r.target(ns), r.kind, r.label(ns))
}

// IDs of nodes, stable across runs so users can name them.
func principalID(id string) string        { return principalPrefix + strings.ToLower(id) }
func kubeUserID(name string) string       { return "k8s:user:" + name }
func kubeGroupID(name string) string      { return "k8s:group:" + name }
func saID(ns, name string) string         { return "k8s:serviceaccount:" + ns + "/" + name }
func createPodsID(ns string) string       { return "k8s:create-pods:" + ns }
func execPodsID(ns string) string         { return "k8s:exec-pods:" + ns }
func kubeSecretsID(ns string) string      { return "k8s:secrets:" + ns }
func becomeSAID(ns string) string         { return "k8s:become-serviceaccount:" + ns }
func identityID(name string) string       { return "azure:identity:" + strings.ToLower(name) }
func kvSecretID(vault, sec string) string { return "keyvault/" + strings.ToLower(vault) + "/" + sec }

// Build makes the graph. It prepares the layer engines itself.
func Build(ctx context.Context, e *env.Environment) (*Graph, error) {
	adm, err := Admitter(ctx, e)
	if err != nil {
		return nil, err
	}
	return BuildWith(ctx, e, rbac.New(e), adm, secretsstore.New(e))
}

// BuildWith makes the graph from prepared engines (the scan shares them).
func BuildWith(ctx context.Context, e *env.Environment, a *rbac.Authorizer, adm *admission.Admitter, ss *secretsstore.Resolver) (*Graph, error) {
	g := &Graph{nodes: map[string]*Node{}, out: map[string][]*Edge{}, in: map[string][]*Edge{}}
	dir := e.Directory

	// Entra: principals and the Kubernetes identity Guard maps them to:
	// the username and the groups the token carries (security groups,
	// transitively; Graph's answer on overage; no identity when Guard
	// rejects the token). A group is a source too: it stands for its
	// members, through the Kubernetes group it puts in their tokens.
	inToken := map[string]bool{}
	for _, p := range dir.Principals() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if p.Kind != entra.KindGroup {
			g.addPrincipal(dir, p, inToken)
		}
	}
	for _, p := range dir.Principals() {
		if p.Kind == entra.KindGroup {
			id := g.node(principalID(p.ID), EntraGroup, p.String())
			if k := strings.ToLower(p.ID); inToken[k] {
				g.edge(id, g.node(kubeGroupID(k), KubeGroup, "Kubernetes group "+k+" ("+p.DisplayName+")"), "is in its members' tokens as", finding.LayerEntra,
					finding.Evidence{Loc: p.Loc, Text: p.String()})
			}
		}
	}

	// RBAC: who may create pods, exec into pods, read Secrets, where.
	nss := e.NamespaceNames()
	for _, r := range rightKinds {
		for _, gr := range a.Grants(r.verb, "", r.resource, r.sub) {
			from := g.subjectNode(gr.Subject)
			if from == "" {
				continue
			}
			targets := []string{gr.Namespace}
			if gr.Namespace == "" {
				targets = nss
			}
			ev := []finding.Evidence{{Loc: gr.BindingLoc, Text: fmt.Sprintf("%s grants role %s", gr.Binding, gr.Role)}}
			if gr.Role != "" && gr.RoleLoc.File != "" {
				ev = append(ev, finding.Evidence{Loc: gr.RoleLoc, Text: "role " + gr.Role})
			}
			for _, ns := range targets {
				g.edge(from, g.rightNode(r, ns), r.action+" "+ns, finding.LayerRBAC, ev...)
			}
		}
	}

	// Rights gained by granting them to oneself: bind, escalate; and
	// identities gained by impersonating users and groups.
	g.addBindEdges(a, nss)
	g.addEscalateEdges(a, nss)
	g.addImpersonationEdges(a)

	// A pod may run as any ServiceAccount of its namespace; whoever may
	// create pods there becomes any of them, if admission admits such a pod.
	for _, sa := range e.ServiceAccounts {
		ns, name := sa.Obj.Namespace, sa.Obj.Name
		cp := createPodsID(ns)
		if _, ok := g.nodes[cp]; ok {
			verdict, err := adm.AdmitPod(ctx, probePod(e, ns, name))
			if err != nil {
				return nil, err
			}
			if verdict.Allowed {
				g.edge(cp, g.saNode(ns, name), "runs a pod as ServiceAccount "+name, finding.LayerPodSecurity,
					finding.Evidence{Loc: sa.Loc, Text: fmt.Sprintf("ServiceAccount %s/%s; admission admits a pod using it", ns, name)})
			} else {
				g.Notes = append(g.Notes, fmt.Sprintf("a pod as %s/%s would be denied: %s", ns, name, verdict.Message))
			}
		}
	}
	for _, sa := range e.ServiceAccounts {
		if b := becomeSAID(sa.Obj.Namespace); g.nodes[b] != nil {
			g.edge(b, g.saNode(sa.Obj.Namespace, sa.Obj.Name), "acts as ServiceAccount "+sa.Obj.Name, finding.LayerRBAC,
				finding.Evidence{Loc: sa.Loc, Text: fmt.Sprintf("ServiceAccount %s/%s", sa.Obj.Namespace, sa.Obj.Name)})
		}
	}
	// Exec into a running pod gives its ServiceAccount token.
	for _, p := range e.Pods {
		ex := execPodsID(p.Namespace)
		if _, ok := g.nodes[ex]; ok {
			g.edge(ex, g.saNode(p.Namespace, p.Spec.ServiceAccountName), "execs into "+p.Ref()+" and uses its token", finding.LayerRBAC,
				finding.Evidence{Loc: p.Loc, Text: "pod " + p.Ref() + " runs as " + p.Spec.ServiceAccountName})
		}
	}

	// Node access: a pod that escapes to its node gets every token there.
	if err := g.addNodeAccess(ctx, e, adm); err != nil {
		return nil, err
	}

	// Workload identity: a ServiceAccount federated to an identity becomes it.
	for _, b := range ss.Federation().Bindings() {
		id := g.node(identityID(b.Identity.Name), ManagedIdentity, "managed identity "+b.Identity.Name)
		g.edge(g.saNode(b.Namespace, b.ServiceAccount), id, "exchanges its token for "+b.Identity.Name, finding.LayerSecrets,
			finding.Evidence{Loc: b.Credential.Src, Text: fmt.Sprintf("federated credential %s: issuer %s, subject %s", b.Credential.Name, b.Credential.Issuer, b.Credential.Subject)})
		// The identity is also an Entra service principal.
		if p := dir.ByID(b.Identity.PrincipalID); p != nil {
			g.edge(id, principalID(p.ID), "is service principal", finding.LayerEntra)
		}
	}

	// Key Vault: who may get which secret.
	for _, rd := range ss.AllReaders() {
		to := g.node(kvSecretID(rd.Vault, rd.Secret), KeyVaultSecret, "Key Vault secret "+rd.Vault+"/"+rd.Secret)
		var ev []finding.Evidence
		for _, l := range rd.Evidence {
			ev = append(ev, finding.Evidence{Loc: l, Text: rd.Model + ": " + rd.Via})
		}
		from := principalID(rd.PrincipalID)
		if rd.Identity != nil {
			from = g.node(identityID(rd.Identity.Name), ManagedIdentity, "managed identity "+rd.Identity.Name)
		} else if _, ok := g.nodes[from]; !ok {
			g.node(from, EntraApp, "principal "+rd.PrincipalID)
		}
		g.edge(from, to, "gets secret "+rd.Secret, finding.LayerSecrets, ev...)
	}

	// Registries: who may pull from or push to which container registry.
	g.addRegistries(e)
	g.idents = nil
	return g, nil
}

func (g *Graph) addPrincipal(dir *entra.Directory, p *entra.Principal, inToken map[string]bool) {
	kind := EntraUser
	switch p.Kind {
	case entra.KindServicePrincipal:
		kind = EntraApp
	case entra.KindManagedIdentity:
		kind = EntraIdentity
	}
	id := g.node(principalID(p.ID), kind, p.String())
	u := authn.Map(dir, p)
	if !u.Authenticated() {
		return
	}
	g.idents = append(g.idents, principalIdent{id, u.User})
	ev := finding.Evidence{Loc: p.Loc, Text: p.String()}
	g.edge(id, g.node(kubeUserID(u.User.Name), KubeUser, "Kubernetes user "+u.User.Name), "signs in as", finding.LayerAPIServer, ev)
	for _, grp := range u.User.Groups {
		label := "Kubernetes group " + grp
		if name := u.GroupNames[grp]; name != "" {
			label += " (" + name + ")"
		}
		inToken[grp] = true
		g.edge(id, g.node(kubeGroupID(grp), KubeGroup, label), "has in its token the group", finding.LayerEntra, ev)
	}
}

// subjectNode maps an RBAC subject to its node; groups and users that no
// principal maps to still get a node (system groups, unknown names).
func (g *Graph) subjectNode(s rbacv1.Subject) string {
	switch s.Kind {
	case rbacv1.UserKind:
		return g.node(kubeUserID(s.Name), KubeUser, "Kubernetes user "+s.Name)
	case rbacv1.GroupKind:
		return g.node(kubeGroupID(s.Name), KubeGroup, "Kubernetes group "+s.Name)
	case rbacv1.ServiceAccountKind:
		return g.saNode(s.Namespace, s.Name)
	}
	return ""
}

func (g *Graph) saNode(ns, name string) string {
	id := g.node(saID(ns, name), ServiceAccount, "ServiceAccount "+ns+"/"+name)
	// A ServiceAccount is a Kubernetes user with the SA groups.
	g.edge(id, g.node(kubeUserID(authn.ServiceAccountUsername(ns, name)), KubeUser, "Kubernetes user "+authn.ServiceAccountUsername(ns, name)), "authenticates as", finding.LayerRBAC)
	for _, grp := range authn.ServiceAccountGroups(ns) {
		g.edge(id, g.node(kubeGroupID(grp), KubeGroup, "Kubernetes group "+grp), "is in group", finding.LayerRBAC)
	}
	return id
}

// probePod is the pod an attacker would create to run as ServiceAccount sa
// in ns: the namespace's own image (it passes the image rules) and a
// security context that satisfies Pod Security "restricted", with the
// ServiceAccount token mounted. Admission decides whether it is admitted.
func probePod(e *env.Environment, ns, sa string) *corev1.Pod {
	image := ""
	for _, p := range e.PodsIn(ns) {
		if len(p.Spec.Containers) > 0 {
			image = p.Spec.Containers[0].Image
			break
		}
	}
	if image == "" {
		for _, p := range e.Pods {
			if len(p.Spec.Containers) > 0 {
				image = p.Spec.Containers[0].Image
				break
			}
		}
	}
	if image == "" {
		image = "mcr.microsoft.com/azure-cli:2.67.0"
	}
	yes, no := true, false
	uid := int64(10001)
	return &corev1.Pod{
		TypeMeta:   metaPod,
		ObjectMeta: objectMeta(ns, "akssec-probe"),
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: &yes, RunAsUser: &uid, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "probe", Image: image,
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
}

// Path is a chain of edges from a source to a target.
type Path struct {
	Nodes []*Node `json:"nodes"`
	Edges []*Edge `json:"edges"`
}

// Source and Target are the first and last nodes.
func (p Path) Source() *Node { return p.Nodes[0] }

// Target is the last node.
func (p Path) Target() *Node { return p.Nodes[len(p.Nodes)-1] }

// Layers lists the distinct layers the path crosses, in order.
func (p Path) Layers() []finding.Layer {
	var out []finding.Layer
	seen := map[finding.Layer]bool{}
	for _, e := range p.Edges {
		if !seen[e.Layer] {
			seen[e.Layer] = true
			out = append(out, e.Layer)
		}
	}
	return out
}

// String renders the path as "a → b → c".
func (p Path) String() string {
	parts := make([]string, len(p.Nodes))
	for i, n := range p.Nodes {
		parts[i] = n.Label
	}
	return strings.Join(parts, " → ")
}

// Shortest returns the shortest path from src to dst (nil when none), by
// breadth-first search with edges taken in insertion order, so the answer
// is deterministic.
func (g *Graph) Shortest(src, dst string, maxHops int) *Path {
	if _, ok := g.nodes[src]; !ok || src == dst {
		return nil
	}
	prev := g.search(src, dst, maxHops, g.out, func(e *Edge) string { return e.To })
	if _, ok := prev[dst]; !ok {
		return nil
	}
	return g.unwind(prev, src, dst)
}

func (g *Graph) unwind(prev map[string]*Edge, src, dst string) *Path {
	var edges []*Edge
	for n := dst; n != src; {
		e := prev[n]
		edges = append(edges, e)
		n = e.From
	}
	p := &Path{}
	p.Nodes = append(p.Nodes, g.nodes[src])
	for i := len(edges) - 1; i >= 0; i-- {
		p.Edges = append(p.Edges, edges[i])
		p.Nodes = append(p.Nodes, g.nodes[edges[i].To])
	}
	return p
}

// AllSimple returns every simple path from src to dst of at most maxHops
// edges (a bound keeps the enumeration finite on dense graphs), shortest
// first.
func (g *Graph) AllSimple(src, dst string, maxHops int) []Path {
	if maxHops <= 0 {
		maxHops = 10
	}
	var out []Path
	onPath := map[string]bool{src: true}
	var edges []*Edge
	var walk func(n string)
	walk = func(n string) {
		if len(edges) >= maxHops || len(out) >= 1000 {
			return
		}
		for _, e := range g.out[n] {
			if onPath[e.To] {
				continue
			}
			edges = append(edges, e)
			if e.To == dst {
				p := Path{Nodes: []*Node{g.nodes[src]}}
				for _, pe := range edges {
					p.Edges = append(p.Edges, pe)
					p.Nodes = append(p.Nodes, g.nodes[pe.To])
				}
				out = append(out, p)
			} else {
				onPath[e.To] = true
				walk(e.To)
				delete(onPath, e.To)
			}
			edges = edges[:len(edges)-1]
		}
	}
	walk(src)
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].Edges) < len(out[j].Edges) })
	return out
}

// Resolve finds the node a user names: an Entra principal (UPN, object ID,
// display name, client ID), "keyvault/VAULT/SECRET" or "VAULT/SECRET", a
// container registry "acr/NAME", a
// ServiceAccount "serviceaccount/NS/NAME", or a node ID.
func (g *Graph) Resolve(dir *entra.Directory, name string) ([]string, error) {
	if _, ok := g.nodes[name]; ok {
		return []string{name}, nil
	}
	lower := strings.ToLower(name)
	if strings.HasPrefix(lower, "acr/") && g.nodes[lower] != nil {
		return []string{lower}, nil
	}
	if rest, ok := strings.CutPrefix(lower, "keyvault/"); ok {
		lower = rest
	}
	if parts := strings.Split(lower, "/"); len(parts) == 2 {
		var ids []string
		for _, id := range g.order {
			if n := g.nodes[id]; n.Kind == KeyVaultSecret && strings.EqualFold(id, kvSecretID(parts[0], parts[1])) {
				ids = append(ids, id)
			}
		}
		if len(ids) > 0 {
			return ids, nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "serviceaccount/"); ok {
		if ns, sa, ok := strings.Cut(rest, "/"); ok {
			if id := saID(ns, sa); g.nodes[id] != nil {
				return []string{id}, nil
			}
		}
	}
	p, err := dir.Resolve(name)
	if err != nil {
		return nil, err
	}
	return []string{principalID(p.ID)}, nil
}

// Sources are the nodes paths start from: every Entra user and service
// principal (managed identities are reached, not started from).
func (g *Graph) Sources() []string {
	var out []string
	for _, id := range g.order {
		if k := g.nodes[id].Kind; k == EntraUser || k == EntraApp {
			out = append(out, id)
		}
	}
	return out
}

// Targets are the crown jewels: Key Vault secrets and container
// registries.
func (g *Graph) Targets() []string {
	var out []string
	for _, id := range g.order {
		if k := g.nodes[id].Kind; k == KeyVaultSecret || k == Registry {
			out = append(out, id)
		}
	}
	return out
}
