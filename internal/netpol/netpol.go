// Package netpol decides network reachability in an AKS cluster exactly as
// the cluster's policy engine does: networking.k8s.io/v1 NetworkPolicy with
// the implementation-defined points (ipBlock and pod IPs, node-local
// traffic, host-network pods, endPort, Windows NPM limits) taken from the
// engine profile of networkProfile.networkPolicy (azure NPM Linux/Windows,
// calico, cilium, none), Calico projectcalico.org/v3 NetworkPolicy and
// GlobalNetworkPolicy ordered with Kubernetes policies as Calico orders
// them, and AdminNetworkPolicy / BaselineAdminNetworkPolicy where the engine
// implements them.
//
// An Engine is prepared once from an env.Environment (New) and is then
// immutable and safe for concurrent use. Each direction is decided by an
// ordered chain of evaluators (admin tier → NetworkPolicy or Calico tiers →
// baseline tier → default allow), in the style of kube-network-policies;
// the first evaluator that decides a port wins. Pods are grouped into
// equivalence classes (namespace, the selectors that match them, named
// ports, host network, IP facts, node) so that the matrix costs classes²,
// not pods².
package netpol

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// EndpointKind says what one end of a connection is.
type EndpointKind int

// Endpoint kinds.
const (
	KindPod      EndpointKind = iota // a pod (bare or synthesized from a workload)
	KindIP                           // an address that is no pod of the snapshot
	KindNode                         // a node (Node "" means the other end's own node)
	KindInternet                     // any public IPv4 address
)

// Endpoint is one end of a connection.
type Endpoint struct {
	Kind EndpointKind
	Pod  *env.Pod
	IP   netip.Addr
	Node string
}

// PodEndpoint is the pod p.
func PodEndpoint(p *env.Pod) Endpoint { return Endpoint{Kind: KindPod, Pod: p} }

// IPEndpoint is the address a.
func IPEndpoint(a netip.Addr) Endpoint { return Endpoint{Kind: KindIP, IP: a} }

// NodeEndpoint is the named node, or with "" the node of the other end.
func NodeEndpoint(name string) Endpoint { return Endpoint{Kind: KindNode, Node: name} }

// InternetEndpoint is any public address.
func InternetEndpoint() Endpoint { return Endpoint{Kind: KindInternet} }

func (e Endpoint) String() string {
	switch e.Kind {
	case KindPod:
		return e.Pod.Ref()
	case KindIP:
		return e.IP.String()
	case KindNode:
		if e.Node == "" {
			return "node (the pod's own node)"
		}
		return "node/" + e.Node
	default:
		return "internet"
	}
}

// RuleRef names a policy, and the rule of it, that took part in a decision.
type RuleRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Rule is the rule that matched ("ingress[0]: from ... on ...") or ""
	// when the policy decided as a whole (it isolates the pod and no rule
	// admits the connection).
	Rule string `json:"rule,omitempty"`
	// Action is Allow, Deny, Pass or Isolate.
	Action string          `json:"action"`
	Loc    source.Location `json:"location"`
}

func (r RuleRef) String() string {
	n := r.Name
	if r.Namespace != "" {
		n = r.Namespace + "/" + r.Name
	}
	s := fmt.Sprintf("%s %s (%s)", r.Kind, n, r.Action)
	if r.Rule != "" {
		s += " " + r.Rule
	}
	if r.Loc.File != "" {
		s += " at " + r.Loc.String()
	}
	return s
}

// DirectionVerdict is the decision of one direction: egress at the source,
// ingress at the destination.
type DirectionVerdict struct {
	Allowed bool `json:"allowed"`
	// Isolated reports whether some policy selects the enforcing pod for
	// this direction.
	Isolated bool   `json:"isolated"`
	Reason   string `json:"reason"`
	// Policies are the deciding policies and rules: the allowing rules when
	// allowed, the denying rules or the isolating policies when denied.
	Policies []RuleRef `json:"policies"`
	// Conditional is set when the decision depends on an address the
	// snapshot does not know (a pod without status.podIP and an ipBlock
	// that splits the pod CIDR).
	Conditional string `json:"conditional,omitempty"`
	// Ports are the ports this direction admits among those asked.
	Ports PortSet `json:"-"`
}

// Verdict is the decision on one connection.
type Verdict struct {
	Allowed bool             `json:"allowed"`
	Egress  DirectionVerdict `json:"egress"`
	Ingress DirectionVerdict `json:"ingress"`
	// Plugin is the engine profile that decided (see Profile.Name).
	Plugin string `json:"plugin"`
	// Ports are the ports allowed end to end among those asked.
	Ports PortSet `json:"-"`
	// Notes say which implementation-defined behaviour applied.
	Notes []string `json:"notes,omitempty"`
}

// Engine is the prepared reachability engine of one Environment.
type Engine struct {
	env        *env.Environment
	linux, win Profile
	hasWindows bool

	nsLabels map[string]labels.Set
	kpols    []*kpolicy
	kByNS    map[string][]*kpolicy
	peers    []*kpeer

	calico *calicoSet
	admin  *adminSet

	bounds   []uint32 // IPv4 boundaries of every ipBlock / nets
	podCIDR  []v4range
	podCIDRs string
	podByIP  map[netip.Addr]*env.Pod
	nodeIP   map[string]netip.Addr
	nodeOS   map[string]string

	cl *classes
}

// New prepares the engine of e.
func New(e *env.Environment) *Engine {
	en := &Engine{env: e, nsLabels: map[string]labels.Set{}, kByNS: map[string][]*kpolicy{}, podByIP: map[netip.Addr]*env.Pod{}, nodeIP: map[string]netip.Addr{}, nodeOS: map[string]string{}}
	en.linux, en.win = clusterProfiles(e.Cluster)
	en.hasWindows = clusterHasWindows(e.Cluster)
	for _, n := range e.NamespaceNames() {
		en.nsLabels[n] = labels.Set{"kubernetes.io/metadata.name": n}
	}
	for _, it := range e.Namespaces {
		ls := labels.Set{}
		for k, v := range it.Obj.Labels {
			ls[k] = v
		}
		// The API server sets this immutable label on every namespace (S16).
		ls["kubernetes.io/metadata.name"] = it.Obj.Name
		en.nsLabels[it.Obj.Name] = ls
	}
	for _, it := range e.Nodes {
		for _, a := range it.Obj.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				if ip, err := netip.ParseAddr(a.Address); err == nil {
					en.nodeIP[it.Obj.Name] = ip
				}
			}
		}
		en.nodeOS[it.Obj.Name] = it.Obj.Labels["kubernetes.io/os"]
	}
	en.podCIDR = privateRanges
	en.podCIDRs = "the private ranges (no networkProfile.podCidr)"
	if c := e.Cluster; c != nil && c.NetworkProfile != nil && c.NetworkProfile.PodCIDR != "" {
		if p, err := netip.ParsePrefix(c.NetworkProfile.PodCIDR); err == nil {
			if r, ok := prefixRange(p); ok {
				en.podCIDR = []v4range{r}
				en.podCIDRs = "pod CIDR " + p.String()
			}
		}
	}
	for _, p := range e.Pods {
		if a, err := netip.ParseAddr(p.Status.PodIP); err == nil && !p.Spec.HostNetwork {
			en.podByIP[a] = p
		}
	}
	bset := map[uint32]struct{}{}
	for i, it := range e.NetworkPolicies {
		kp := compileKube(i, it.Loc, it.Obj, func(p *kpeer) { p.id = len(en.peers); en.peers = append(en.peers, p) })
		en.kpols = append(en.kpols, kp)
		en.kByNS[kp.ns] = append(en.kByNS[kp.ns], kp)
		for _, rs := range [][]krule{kp.in, kp.eg} {
			for _, r := range rs {
				for _, p := range r.peers {
					if p.ipb != nil {
						p.ipb.boundaries(bset)
					}
				}
			}
		}
	}
	en.calico = compileCalico(e, bset)
	en.admin = compileAdmin(e, bset)
	for b := range bset {
		en.bounds = append(en.bounds, b)
	}
	sort.Slice(en.bounds, func(i, j int) bool { return en.bounds[i] < en.bounds[j] })
	en.cl = en.buildClasses()
	return en
}

// Profile returns the profile that enforces policy for pods on Linux nodes
// (the cluster's profile).
func (en *Engine) Profile() Profile { return en.linux }

// profileOf is the profile enforcing at pod p: Windows NPM for pods that
// run on Windows nodes of an azure-policy cluster.
func (en *Engine) profileOf(p *env.Pod) *Profile {
	if p != nil && en.hasWindows && en.podOS(p) == "windows" {
		return &en.win
	}
	return &en.linux
}

func (en *Engine) podOS(p *env.Pod) string {
	if os := en.nodeOS[p.Spec.NodeName]; os != "" {
		return os
	}
	if p.Spec.OS != nil {
		return string(p.Spec.OS.Name)
	}
	if os := p.Spec.NodeSelector["kubernetes.io/os"]; os != "" {
		return os
	}
	return "linux"
}

// side is what policies can see of one end of a connection.
type side struct {
	kind     EndpointKind
	pod      *env.Pod
	policed  bool // a pod that policy selectors see (not host network)
	ns       string
	labels   labels.Set
	nsLabels labels.Set
	ip       ipFact
	ipIsNode bool // the address is a node's (node, host-network pod)
	node     string
	// everyNode: a host-network DaemonSet pod template, which runs on
	// every node, so also on the other end's.
	everyNode bool
	prof      *Profile
	cls       int32 // equivalence class, -1 for none
	cur       netip.Addr
	curValid  bool
	quiet     bool // no attribution (matrix)
	// Calico's label views of the endpoint, made once per side.
	calLabels, calNSLabels, calSALabels map[string]string
}

func (en *Engine) sideOf(ep Endpoint) *side {
	s := &side{kind: ep.Kind, cls: -1, prof: &en.linux}
	switch ep.Kind {
	case KindPod:
		p := ep.Pod
		s.pod, s.ns, s.labels, s.nsLabels = p, p.Namespace, labels.Set(p.Labels), en.nsLabels[p.Namespace]
		if s.nsLabels == nil {
			s.nsLabels = labels.Set{"kubernetes.io/metadata.name": p.Namespace}
		}
		s.node = p.Spec.NodeName
		s.prof = en.profileOf(p)
		if p.Spec.HostNetwork {
			s.ipIsNode = true
			s.everyNode = p.Spec.NodeName == "" && p.Workload != nil && p.Workload.Kind == "DaemonSet"
			s.ip = en.nodeFact(p.Spec.NodeName)
			if a, err := netip.ParseAddr(p.Status.PodIP); err == nil {
				s.ip = knownIP(a)
			}
		} else {
			s.policed = true
			if a, err := netip.ParseAddr(p.Status.PodIP); err == nil {
				s.ip = knownIP(a)
			} else {
				s.ip = ipFact{ranges: en.podCIDR, what: "pod IP unknown, in " + en.podCIDRs}
			}
		}
		if c, ok := en.cl.byPod[p]; ok {
			s.cls = c
		}
		if en.calico.any() {
			s.calLabels, s.calNSLabels = calicoLabels(s), calicoNSLabels(s)
			s.calSALabels = en.saLabels(s)
		}
	case KindIP:
		s.ip = knownIP(ep.IP)
	case KindNode:
		s.ipIsNode = true
		s.node = ep.Node
		s.ip = en.nodeFact(ep.Node)
	case KindInternet:
		s.ip = ipFact{ranges: publicRanges, what: "any public IPv4 address"}
	}
	return s
}

func (en *Engine) nodeFact(node string) ipFact {
	if a, ok := en.nodeIP[node]; ok {
		return knownIP(a)
	}
	return ipFact{ranges: privateRanges, what: "node IP unknown, in the private ranges"}
}

// namedPort resolves a named port on the destination pod: the ports with
// that name and protocol of its containers (S13; init containers do not
// count, as in kube-network-policies' evaluatePorts).
func (s *side) namedPort(name string, proto corev1.Protocol) PortSet {
	if s.pod == nil {
		return PortSet{}
	}
	var out PortSet
	for _, c := range s.pod.Spec.Containers {
		for _, cp := range c.Ports {
			pr := cp.Protocol
			if pr == "" {
				pr = corev1.ProtocolTCP
			}
			if cp.Name == name && pr == proto {
				out = out.Union(Port(pr, cp.ContainerPort))
			}
		}
	}
	return out
}

// ipVisible reports whether CIDR-based peers (ipBlock, nets) can match the
// address of peer under the enforcing profile.
func ipVisible(peer *side, prof *Profile) bool {
	switch {
	case peer.kind == KindIP || peer.kind == KindInternet:
		return true
	case peer.ipIsNode:
		return prof.IPBlockMatchesNodes
	default:
		return prof.IPBlockMatchesPods
	}
}

// Direction of a policy decision.
type Direction string

// Directions.
const (
	Ingress Direction = "Ingress"
	Egress  Direction = "Egress"
)

// decision is one evaluator's verdict on a part of the asked ports.
type decision struct {
	ports  PortSet
	action string // Allow, Deny, Pass, Isolate
	ref    RuleRef
}

// tierResult partitions the ports a tier saw: accepted, denied, and passed
// on to the next evaluator (Next).
type tierResult struct {
	accept, deny PortSet
	decisions    []decision
	isolated     bool
}

// Reach decides the connection src → dst on port/proto. port 0 asks for any
// port (of proto, when proto is set); proto "" with a port means TCP.
func (en *Engine) Reach(src, dst Endpoint, port int32, proto corev1.Protocol) Verdict {
	var want PortSet
	switch {
	case port == 0 && proto == "":
		want = AllPorts()
	case port == 0:
		want = ProtoRange(proto, 0, 0)
	default:
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		want = Port(proto, port)
	}
	return en.reachSet(src, dst, want)
}

func (en *Engine) reachSet(src, dst Endpoint, want PortSet) Verdict {
	s, d := en.sideOf(src), en.sideOf(dst)
	v := Verdict{Plugin: en.linux.Name}
	if s.pod != nil && s.policed {
		v.Plugin = s.prof.Name
	} else if d.pod != nil {
		v.Plugin = d.prof.Name
	}
	// A pod cannot block itself; a workload's pod template with several
	// replicas stands for distinct pods, which can.
	if src.Kind == KindPod && dst.Kind == KindPod && src.Pod == dst.Pod && !(src.Pod.Synthesized && src.Pod.Workload != nil && src.Pod.Workload.Replicas != 1) {
		all := DirectionVerdict{Allowed: true, Reason: "a pod cannot block access to itself (S5)", Ports: want}
		return Verdict{Allowed: true, Egress: all, Ingress: all, Plugin: v.Plugin, Ports: want}
	}
	// A node endpoint without a name is the other end's own node.
	if src.Kind == KindNode && src.Node == "" {
		s.node = d.node
		if s.node == "" {
			s.node = "\x00same"
			d.node = "\x00same"
		}
	}
	if dst.Kind == KindNode && dst.Node == "" {
		d.node = s.node
		if d.node == "" {
			s.node = "\x00same"
			d.node = "\x00same"
		}
	}
	v.Egress = en.evalDir(Egress, s, d, want)
	v.Ingress = en.evalDir(Ingress, d, s, want)
	v.Ports = v.Egress.Ports.Intersect(v.Ingress.Ports)
	v.Allowed = !v.Ports.Empty()
	seen := map[string]bool{}
	for _, p := range []*Profile{s.prof, d.prof} {
		for _, n := range p.Notes {
			if !seen[n] {
				seen[n] = true
				v.Notes = append(v.Notes, n)
			}
		}
	}
	return v
}

// evalDir decides one direction at subj (the source for egress, the
// destination for ingress) against peer, over every address the peer may
// have.
func (en *Engine) evalDir(dir Direction, subj, peer *side, want PortSet) DirectionVerdict {
	prof := subj.prof
	if !prof.Enforced {
		return DirectionVerdict{Allowed: true, Reason: "no network policy engine enforces policy (networkPolicy none)", Ports: want}
	}
	if !subj.policed {
		what := "not a pod"
		if subj.pod != nil {
			what = "a host-network pod: its traffic is the node's, which no policy selects"
		}
		return DirectionVerdict{Allowed: true, Reason: fmt.Sprintf("%s is %s", subjName(subj), what), Ports: want}
	}
	// Node-local traffic (S4, reference §3).
	if peer.ipIsNode && (peer.everyNode || peer.node != "" && peer.node == subj.node) {
		cond := ""
		if peer.everyNode {
			cond = fmt.Sprintf("%s runs on every node: only its pod on %s's node is node-local", peerName(peer), subjName(subj))
		}
		if dir == Ingress && prof.NodeLocalIngress {
			return DirectionVerdict{Allowed: true, Reason: "traffic from the pod's own node is always allowed (kubelet probes; S4) under " + prof.Name, Ports: want, Conditional: cond}
		}
		if dir == Egress && prof.NodeLocalEgress {
			return DirectionVerdict{Allowed: true, Reason: "traffic to the pod's own node is not filtered by " + prof.Name, Ports: want, Conditional: cond}
		}
	}
	if peer.ip.known || !ipVisible(peer, prof) || !en.anyCIDR() {
		peer.cur, peer.curValid = peer.ip.addr, peer.ip.known
		return en.evalAt(dir, subj, peer, want)
	}
	// Unknown address: decide per atom of its candidate ranges.
	atoms := peer.ip.atoms(en.bounds)
	type res struct {
		a atom
		v DirectionVerdict
	}
	var rs []res
	for _, a := range atoms {
		peer.cur, peer.curValid = a.addr, true
		rs = append(rs, res{a, en.evalAt(dir, subj, peer, want)})
	}
	peer.curValid = false
	best := rs[0].v
	var yes, no []string
	union := PortSet{}
	for _, r := range rs {
		union = union.Union(r.v.Ports)
		if r.v.Allowed {
			if !subj.quiet {
				yes = append(yes, r.a.r.String())
			}
			if !best.Allowed {
				best = r.v
			}
		} else if !subj.quiet {
			no = append(no, r.a.r.String())
		}
	}
	best.Ports = union
	best.Allowed = !union.Empty()
	if len(yes) > 0 && len(no) > 0 {
		best.Conditional = fmt.Sprintf("%s (%s): allowed only when the address is in %s", peerName(peer), peer.ip.what, abbreviate(yes, 6))
	}
	return best
}

func (en *Engine) anyCIDR() bool { return len(en.bounds) > 0 }

func abbreviate(ss []string, n int) string {
	if len(ss) <= n {
		return strings.Join(ss, ", ")
	}
	return strings.Join(ss[:n], ", ") + fmt.Sprintf(" and %d more ranges", len(ss)-n)
}

func subjName(s *side) string {
	if s.pod != nil {
		return s.pod.Ref()
	}
	switch s.kind {
	case KindNode:
		return "the node"
	case KindInternet:
		return "the internet"
	}
	return s.ip.addr.String()
}

func peerName(s *side) string { return subjName(s) }

// evalAt runs the evaluator chain at one concrete peer address.
func (en *Engine) evalAt(dir Direction, subj, peer *side, want PortSet) DirectionVerdict {
	prof := subj.prof
	remaining := want
	accepted := PortSet{}
	var decs []decision
	isolated := false
	tiers := []func(Direction, *side, *side, PortSet) tierResult{}
	if prof.AdminPolicies && en.admin.anp() {
		tiers = append(tiers, en.adminTier)
	}
	if prof.Calico && en.calico.any() {
		tiers = append(tiers, en.calicoTiers)
	} else {
		tiers = append(tiers, en.kubeTier)
	}
	if prof.AdminPolicies && en.admin.banp() {
		tiers = append(tiers, en.baselineTier)
	}
	for _, t := range tiers {
		if remaining.Empty() {
			break
		}
		r := t(dir, subj, peer, remaining)
		isolated = isolated || r.isolated
		decs = append(decs, r.decisions...)
		accepted = accepted.Union(r.accept.Intersect(remaining))
		remaining = remaining.Minus(r.accept).Minus(r.deny)
	}
	// Default allow: what no evaluator decided (S1).
	defaulted := remaining
	accepted = accepted.Union(defaulted)
	v := DirectionVerdict{Allowed: !accepted.Empty(), Isolated: isolated, Ports: accepted}
	if v.Allowed {
		for _, d := range decs {
			if d.action == "Allow" && !d.ports.Intersect(accepted).Empty() {
				v.Policies = append(v.Policies, d.ref)
			}
		}
		switch {
		case len(v.Policies) > 0:
			p := v.Policies[0]
			v.Reason = fmt.Sprintf("allowed by %s %s", p.Kind, qualified(p.Namespace, p.Name))
			if p.Rule != "" {
				v.Reason += " " + strings.SplitN(p.Rule, ":", 2)[0]
			}
			if len(v.Policies) > 1 {
				v.Reason += fmt.Sprintf(" and %d more rules", len(v.Policies)-1)
			}
		case !isolated:
			v.Reason = fmt.Sprintf("%s is not isolated for %s: no policy selects it", subjName(subj), strings.ToLower(string(dir)))
		default:
			v.Reason = "allowed: passed through every tier"
		}
		return v
	}
	for _, d := range decs {
		if d.action == "Deny" || d.action == "Isolate" {
			v.Policies = append(v.Policies, d.ref)
		}
	}
	names := make([]string, 0, len(v.Policies))
	for _, p := range v.Policies {
		names = append(names, p.String())
	}
	v.Reason = fmt.Sprintf("denied: %s", strings.Join(names, "; "))
	if len(v.Policies) > 0 && v.Policies[0].Action == "Isolate" {
		v.Reason = fmt.Sprintf("%s is isolated for %s by %s and no rule admits %s", subjName(subj), strings.ToLower(string(dir)), strings.Join(names, ", "), peerName(peer))
	}
	return v
}

// kubePolicies are the NetworkPolicies that select subj for dir and apply
// under its profile.
func (en *Engine) kubePolicies(dir Direction, subj *side) []*kpolicy {
	var src []*kpolicy
	if subj.cls >= 0 {
		c := en.cl.list[subj.cls]
		if dir == Ingress {
			src = c.inPols
		} else {
			src = c.egPols
		}
	} else {
		for _, kp := range en.kByNS[subj.ns] {
			if kp.invalid == "" && ((dir == Ingress && kp.ingress) || (dir == Egress && kp.egress)) && kp.podSel.Matches(subj.labels) {
				src = append(src, kp)
			}
		}
	}
	if subj.prof.Name != profileNPMWindows.Name {
		return src
	}
	var out []*kpolicy
	for _, kp := range src {
		if kp.windowsUnsupported == "" {
			out = append(out, kp)
		}
	}
	return out
}

func (en *Engine) peerMatches(p *kpeer, policyNS string, peer *side, prof *Profile) bool {
	if p.ipb != nil {
		return peer.curValid && ipVisible(peer, prof) && p.ipb.contains(peer.cur)
	}
	if !peer.policed {
		return false
	}
	if peer.cls >= 0 {
		return en.cl.peerHas(p.id, peer.cls)
	}
	return matchSelectors(p, policyNS, peer.ns, peer.nsLabels, peer.labels)
}

func matchSelectors(p *kpeer, policyNS, ns string, nsLabels, podLabels labels.Set) bool {
	if p.nsSel == nil {
		if ns != policyNS {
			return false
		}
	} else if !p.nsSel.Matches(nsLabels) {
		return false
	}
	return p.podSel == nil || p.podSel.Matches(podLabels)
}

func (en *Engine) ruleMatchesPeer(r *krule, policyNS string, peer *side, prof *Profile) bool {
	if r.allPeers {
		return true
	}
	for _, p := range r.peers {
		if en.peerMatches(p, policyNS, peer, prof) {
			return true
		}
	}
	return false
}

// kubeTier is the NetworkPolicy evaluator: if any policy isolates subj for
// dir, the ports the matching rules admit are accepted and the rest denied;
// otherwise everything goes on (Next).
func (en *Engine) kubeTier(dir Direction, subj, peer *side, want PortSet) tierResult {
	pols := en.kubePolicies(dir, subj)
	if len(pols) == 0 {
		return tierResult{}
	}
	res := tierResult{isolated: true}
	dst := peer
	if dir == Ingress {
		dst = subj
	}
	for _, kp := range pols {
		rules := kp.in
		if dir == Egress {
			rules = kp.eg
		}
		for i := range rules {
			r := &rules[i]
			if !en.ruleMatchesPeer(r, kp.ns, peer, subj.prof) {
				continue
			}
			ps := r.portsFor(dst, subj.prof).Intersect(want)
			if ps.Empty() {
				continue
			}
			res.accept = res.accept.Union(ps)
			if !subj.quiet {
				res.decisions = append(res.decisions, decision{ports: ps, action: "Allow", ref: kp.ref(r.describe(string(dir)), "Allow")})
			}
		}
	}
	res.deny = want.Minus(res.accept)
	if !res.deny.Empty() && !subj.quiet {
		for _, kp := range pols {
			res.decisions = append(res.decisions, decision{ports: res.deny, action: "Isolate", ref: kp.ref("", "Isolate")})
		}
	}
	return res
}

func (kp *kpolicy) ref(rule, action string) RuleRef {
	return RuleRef{Kind: "NetworkPolicy", Namespace: kp.ns, Name: kp.name, Rule: rule, Action: action, Loc: kp.loc}
}

func qualified(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}
