package netpol

import (
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/snapshot"
)

// The ordered tiers (AdminNetworkPolicy, Calico, BaselineAdminNetworkPolicy)
// against a naive evaluator written from their documentation, on random
// small clusters. Selectors come from a fixed list so that the naive side
// decides them with plain Go, not with the engine's parser.

var calSelectors = map[string]func(map[string]string) bool{
	"all()":         func(map[string]string) bool { return true },
	"app == 'a'":    func(l map[string]string) bool { return l["app"] == "a" },
	"app == 'b'":    func(l map[string]string) bool { return l["app"] == "b" },
	"has(tier)":     func(l map[string]string) bool { _, ok := l["tier"]; return ok },
	"team == 'x'":   func(l map[string]string) bool { return l["team"] == "x" },
	"app != 'c'":    func(l map[string]string) bool { return l["app"] != "c" },
	"tier in {'f'}": func(l map[string]string) bool { return l["tier"] == "f" },
}

type nEntity struct {
	sel, nsSel string // "" = absent
	nets       string
}

type nRule struct {
	action string
	proto  string // "" any
	ports  []string
	peer   nEntity
}

type nCal struct {
	global   bool
	ns, name string
	order    *float64
	sel      string
	nsSel    string
	types    []string
	in, eg   []nRule
}

type nANP struct {
	baseline bool
	name     string
	priority int
	subjNS   string // team value, "" = pods subject with app a
	in, eg   []nANPRule
}

type nANPRule struct {
	action string
	peerNS string // team value; "" = pods with app b in any namespace
	port   int32  // 0 = all
}

type orderedCluster struct {
	*randCluster
	cals []nCal
	anps []nANP
}

func genOrdered(r *rand.Rand) *orderedCluster {
	c := &orderedCluster{randCluster: genCluster(r)}
	c.plugin = []string{"calico", "", "calico"}[r.Intn(3)]
	pick := func(ss ...string) string { return ss[r.Intn(len(ss))] }
	sels := []string{"all()", "app == 'a'", "app == 'b'", "has(tier)", "app != 'c'", "tier in {'f'}"}
	randRule := func() nRule {
		nr := nRule{action: pick("Allow", "Deny", "Pass", "Log", "Allow", "Deny")}
		switch r.Intn(4) {
		case 0:
			nr.peer.sel = sels[r.Intn(len(sels))]
		case 1:
			nr.peer.nsSel = "team == 'x'"
			if r.Intn(2) == 0 {
				nr.peer.sel = sels[r.Intn(len(sels))]
			}
		case 2:
			nr.peer.nets = pick("10.244.1.0/24", "10.240.0.0/24", "0.0.0.0/0")
		}
		if r.Intn(2) == 0 {
			nr.proto = pick("TCP", "UDP")
			switch r.Intn(4) {
			case 0:
				nr.ports = []string{"80"}
			case 1:
				nr.ports = []string{"80:90"}
			case 2:
				nr.ports = []string{"http"}
			}
		}
		return nr
	}
	if c.plugin == "calico" {
		for i := 0; i < r.Intn(4); i++ {
			cp := nCal{global: r.Intn(2) == 0, name: fmt.Sprintf("c%d", i), sel: sels[r.Intn(len(sels))]}
			if !cp.global {
				cp.ns = c.ns[r.Intn(len(c.ns))].Name
			} else if r.Intn(3) == 0 {
				cp.nsSel = "team == 'x'"
			}
			switch r.Intn(3) {
			case 0:
				o := float64(100)
				cp.order = &o
			case 1:
				o := float64(2000 + r.Intn(2))
				cp.order = &o
			}
			switch r.Intn(4) {
			case 0:
				cp.types = []string{"Ingress"}
			case 1:
				cp.types = []string{"Egress"}
			case 2:
				cp.types = []string{"Ingress", "Egress"}
			}
			for k := r.Intn(3); k > 0; k-- {
				cp.in = append(cp.in, randRule())
			}
			for k := r.Intn(3); k > 0; k-- {
				cp.eg = append(cp.eg, randRule())
			}
			c.cals = append(c.cals, cp)
		}
	}
	prios := r.Perm(50)
	for i := 0; i < r.Intn(3); i++ {
		a := nANP{name: fmt.Sprintf("anp%d", i), priority: prios[i], subjNS: pick("x", "y", "")}
		if i == 2 || r.Intn(4) == 0 {
			a.baseline, a.name = true, "default"
		}
		rule := func() nANPRule {
			act := pick("Allow", "Deny", "Pass")
			if a.baseline && act == "Pass" {
				act = "Deny"
			}
			ar := nANPRule{action: act, peerNS: pick("x", "y", "")}
			if r.Intn(2) == 0 {
				ar.port = 80
			}
			return ar
		}
		for k := r.Intn(3); k > 0; k-- {
			a.in = append(a.in, rule())
		}
		for k := r.Intn(3); k > 0; k-- {
			a.eg = append(a.eg, rule())
		}
		dup := false
		for _, o := range c.anps {
			dup = dup || (o.baseline && a.baseline)
		}
		if !dup {
			c.anps = append(c.anps, a)
		}
	}
	return c
}

func (c *orderedCluster) objects() []*snapshot.Object {
	var out []*snapshot.Object
	entity := func(e nEntity, ports []string) map[string]any {
		m := map[string]any{}
		if e.sel != "" {
			m["selector"] = e.sel
		}
		if e.nsSel != "" {
			m["namespaceSelector"] = e.nsSel
		}
		if e.nets != "" {
			m["nets"] = []any{e.nets}
		}
		if len(ports) > 0 {
			var ps []any
			for _, p := range ports {
				if p == "80" {
					ps = append(ps, int64(80))
				} else {
					ps = append(ps, p)
				}
			}
			m["ports"] = ps
		}
		return m
	}
	rules := func(rs []nRule, ingress bool) []any {
		var out []any
		for _, r := range rs {
			m := map[string]any{"action": r.action}
			if r.proto != "" {
				m["protocol"] = r.proto
			}
			if ingress {
				m["source"] = entity(r.peer, nil)
				m["destination"] = entity(nEntity{}, r.ports)
			} else {
				m["destination"] = entity(r.peer, r.ports)
			}
			out = append(out, m)
		}
		return out
	}
	for _, cp := range c.cals {
		spec := map[string]any{"selector": cp.sel}
		if cp.order != nil {
			spec["order"] = *cp.order
		}
		if cp.nsSel != "" {
			spec["namespaceSelector"] = cp.nsSel
		}
		if cp.types != nil {
			var ts []any
			for _, t := range cp.types {
				ts = append(ts, t)
			}
			spec["types"] = ts
		}
		if cp.in != nil {
			spec["ingress"] = rules(cp.in, true)
		}
		if cp.eg != nil {
			spec["egress"] = rules(cp.eg, false)
		}
		kind := "NetworkPolicy"
		md := map[string]any{"name": cp.name, "namespace": cp.ns}
		if cp.global {
			kind = "GlobalNetworkPolicy"
			md = map[string]any{"name": cp.name}
		}
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "projectcalico.org/v3", "kind": kind, "metadata": md, "spec": spec}}
		out = append(out, &snapshot.Object{Group: "projectcalico.org", Kind: kind, Namespace: cp.ns, Name: cp.name, Typed: u})
	}
	for _, a := range c.anps {
		subj := map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"team": a.subjNS}}}
		if a.subjNS == "" {
			subj = map[string]any{"pods": map[string]any{"namespaceSelector": map[string]any{}, "podSelector": map[string]any{"matchLabels": map[string]any{"app": "a"}}}}
		}
		rs := func(rules []nANPRule, ingress bool) []any {
			var out []any
			for i, r := range rules {
				peer := map[string]any{"namespaces": map[string]any{"matchLabels": map[string]any{"team": r.peerNS}}}
				if r.peerNS == "" {
					peer = map[string]any{"pods": map[string]any{"namespaceSelector": map[string]any{}, "podSelector": map[string]any{"matchLabels": map[string]any{"app": "b"}}}}
				}
				m := map[string]any{"name": fmt.Sprintf("r%d", i), "action": r.action}
				if ingress {
					m["from"] = []any{peer}
				} else {
					m["to"] = []any{peer}
				}
				if r.port != 0 {
					m["ports"] = []any{map[string]any{"portNumber": map[string]any{"protocol": "TCP", "port": int64(r.port)}}}
				}
				out = append(out, m)
			}
			return out
		}
		spec := map[string]any{"priority": int64(a.priority), "subject": subj, "ingress": rs(a.in, true), "egress": rs(a.eg, false)}
		kind := "AdminNetworkPolicy"
		if a.baseline {
			kind = "BaselineAdminNetworkPolicy"
			delete(spec, "priority")
		}
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": kind, "metadata": map[string]any{"name": a.name}, "spec": spec}}
		out = append(out, &snapshot.Object{Group: "policy.networking.k8s.io", Kind: kind, Name: a.name, Typed: u})
	}
	return out
}

// naiveOrdered decides with the tiers in documented order.
type naiveOrdered struct {
	*naive
	c *orderedCluster
}

func (n *naiveOrdered) calLabels(p *corev1.Pod) map[string]string {
	l := map[string]string{"projectcalico.org/namespace": p.Namespace}
	for k, v := range p.Labels {
		l[k] = v
	}
	return l
}

func (n *naiveOrdered) calEntity(e nEntity, policyNS string, p *corev1.Pod, addr string) bool {
	if e.nets != "" {
		if !netip.MustParsePrefix(e.nets).Contains(netip.MustParseAddr(addr)) {
			return false
		}
	}
	if e.sel == "" && e.nsSel == "" {
		return true
	}
	if p.Spec.HostNetwork {
		return false
	}
	if e.nsSel != "" {
		if !calSelectors[e.nsSel](n.nsLabels(p.Namespace)) {
			return false
		}
	} else if policyNS != "" && p.Namespace != policyNS {
		return false
	}
	return e.sel == "" || calSelectors[e.sel](n.calLabels(p))
}

func (n *naiveOrdered) calPorts(r nRule, dst *corev1.Pod, proto corev1.Protocol, port int32) bool {
	if r.proto != "" && r.proto != string(proto) {
		return false
	}
	if len(r.ports) == 0 {
		return true
	}
	for _, p := range r.ports {
		switch p {
		case "80":
			if port == 80 {
				return true
			}
		case "80:90":
			if port >= 80 && port <= 90 {
				return true
			}
		case "http":
			for _, c := range dst.Spec.Containers {
				for _, cp := range c.Ports {
					if cp.Name == "http" && cp.Protocol == proto && cp.ContainerPort == port {
						return true
					}
				}
			}
		}
	}
	return false
}

func (n *naiveOrdered) types(cp nCal) (in, eg bool) {
	if cp.types == nil {
		return len(cp.in) > 0 || len(cp.eg) == 0, len(cp.eg) > 0
	}
	for _, t := range cp.types {
		in = in || t == "Ingress"
		eg = eg || t == "Egress"
	}
	return in, eg
}

// decide walks admin tier, NetworkPolicy or Calico default tier, baseline
// tier and the default allow, for one peer address.
func (n *naiveOrdered) decide(egress bool, subj, peer *corev1.Pod, addr string, proto corev1.Protocol, port int32) bool {
	dst := subj
	if egress {
		dst = peer
	}
	anpSel := func(a nANP, p *corev1.Pod) bool {
		if p.Spec.HostNetwork {
			return false
		}
		if a.subjNS == "" {
			return p.Labels["app"] == "a"
		}
		return n.nsLabels(p.Namespace)["team"] == a.subjNS
	}
	anpRules := func(a nANP) []nANPRule {
		if egress {
			return a.eg
		}
		return a.in
	}
	anpPeer := func(r nANPRule) bool {
		if peer.Spec.HostNetwork {
			return false
		}
		if r.peerNS == "" {
			return peer.Labels["app"] == "b"
		}
		return n.nsLabels(peer.Namespace)["team"] == r.peerNS
	}
	anpPort := func(r nANPRule) bool { return r.port == 0 || (proto == corev1.ProtocolTCP && port == r.port) }
	// Admin tier.
	if n.prof.AdminPolicies {
		var admins []nANP
		for _, a := range n.c.anps {
			if !a.baseline {
				admins = append(admins, a)
			}
		}
		sort.Slice(admins, func(i, j int) bool { return admins[i].priority < admins[j].priority })
	admin:
		for _, a := range admins {
			if !anpSel(a, subj) {
				continue
			}
			for _, r := range anpRules(a) {
				if anpPeer(r) && anpPort(r) {
					switch r.action {
					case "Allow":
						return true
					case "Deny":
						return false
					case "Pass":
						break admin
					}
				}
			}
		}
	}
	// NetworkPolicy / Calico default tier.
	kubeIsolated := n.isolated(egress, subj)
	kubeAllowed := kubeIsolated && n.kubeRuleAllows(egress, subj, peer, addr, proto, port)
	if n.prof.Calico && len(n.c.cals) > 0 {
		type entry struct {
			order float64
			name  string
			cal   *nCal
		}
		var entries []entry
		for i := range n.c.cals {
			cp := &n.c.cals[i]
			in, eg := n.types(*cp)
			if subj.Spec.HostNetwork || (egress && !eg) || (!egress && !in) {
				continue
			}
			if !cp.global && cp.ns != subj.Namespace {
				continue
			}
			if !calSelectors[cp.sel](n.calLabels(subj)) || (cp.nsSel != "" && !calSelectors[cp.nsSel](n.nsLabels(subj.Namespace))) {
				continue
			}
			o := 1e18
			if cp.order != nil {
				o = *cp.order
			}
			name := cp.name
			if !cp.global {
				name = cp.ns + "/" + cp.name
			}
			entries = append(entries, entry{o, name, cp})
		}
		if kubeIsolated {
			entries = append(entries, entry{1000, "", nil})
		}
		sort.SliceStable(entries, func(i, j int) bool {
			if entries[i].order != entries[j].order {
				return entries[i].order < entries[j].order
			}
			return entries[i].name < entries[j].name
		})
		passed := false
	tier:
		for _, e := range entries {
			if e.cal == nil {
				if kubeAllowed {
					return true
				}
				continue
			}
			rules := e.cal.in
			if egress {
				rules = e.cal.eg
			}
			for _, r := range rules {
				if !n.calEntity(r.peer, e.cal.ns, peer, addr) || !n.calPorts(r, dst, proto, port) {
					continue
				}
				switch r.action {
				case "Allow":
					return true
				case "Deny":
					return false
				case "Pass":
					passed = true
					break tier
				}
			}
		}
		if len(entries) > 0 && !passed {
			return false
		}
	} else if kubeIsolated {
		return kubeAllowed
	}
	// Baseline tier.
	if n.prof.AdminPolicies {
		for _, a := range n.c.anps {
			if !a.baseline || !anpSel(a, subj) {
				continue
			}
			for _, r := range anpRules(a) {
				if anpPeer(r) && anpPort(r) {
					return r.action == "Allow"
				}
			}
		}
	}
	return true
}

func (n *naiveOrdered) allowedDir(egress bool, subj, peer *corev1.Pod, proto corev1.Protocol, port int32) bool {
	if subj.Spec.HostNetwork {
		return true
	}
	if peer.Spec.HostNetwork && peer.Spec.NodeName != "" && peer.Spec.NodeName == subj.Spec.NodeName {
		if !egress && n.prof.NodeLocalIngress || egress && n.prof.NodeLocalEgress {
			return true
		}
	}
	for _, addr := range n.addrs(peer) {
		if peer.Spec.HostNetwork && !n.prof.IPBlockMatchesNodes || !peer.Spec.HostNetwork && !n.prof.IPBlockMatchesPods {
			addr = "0.0.0.1" // invisible to CIDRs: matches none of the generated ones
		}
		if n.decide(egress, subj, peer, addr, proto, port) {
			return true
		}
	}
	return false
}

func (n *naive) isolated(egress bool, subj *corev1.Pod) bool {
	for _, np := range n.c.pols {
		if np.Namespace != subj.Namespace || !selMatch(&np.Spec.PodSelector, subj.Labels) {
			continue
		}
		for _, t := range np.Spec.PolicyTypes {
			if (t == "Egress") == egress {
				return true
			}
		}
	}
	return false
}

// kubeRuleAllows: some rule of the subject's NetworkPolicies admits peer at addr.
func (n *naive) kubeRuleAllows(egress bool, subj, peer *corev1.Pod, addr string, proto corev1.Protocol, port int32) bool {
	dst := subj
	if egress {
		dst = peer
	}
	for _, np := range n.c.pols {
		if np.Namespace != subj.Namespace || !selMatch(&np.Spec.PodSelector, subj.Labels) {
			continue
		}
		has := false
		for _, t := range np.Spec.PolicyTypes {
			has = has || (t == "Egress") == egress
		}
		if !has {
			continue
		}
		if egress {
			for _, r := range np.Spec.Egress {
				ok := len(r.To) == 0
				for _, pr := range r.To {
					ok = ok || n.peerMatch(pr, np.Namespace, peer, addr)
				}
				if ok && n.portMatch(r.Ports, dst, proto, port) {
					return true
				}
			}
		} else {
			for _, r := range np.Spec.Ingress {
				ok := len(r.From) == 0
				for _, pr := range r.From {
					ok = ok || n.peerMatch(pr, np.Namespace, peer, addr)
				}
				if ok && n.portMatch(r.Ports, dst, proto, port) {
					return true
				}
			}
		}
	}
	return false
}

func TestOrderedTiersEqualNaive(t *testing.T) {
	iterations := 2000
	if testing.Short() {
		iterations = 200
	}
	r := rand.New(rand.NewSource(11))
	for it := 0; it < iterations; it++ {
		c := genOrdered(r)
		e := c.env()
		// Rebuild with the ordered objects.
		s := e.Snapshot
		s.Objects = append(s.Objects, c.objects()...)
		e = envNew(s)
		en := New(e)
		prof := en.Profile()
		nv := &naiveOrdered{naive: &naive{c: c.randCluster, prof: prof}, c: c}
		m, err := en.Matrix(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		for _, sp := range e.Pods {
			for _, dp := range e.Pods {
				if sp == dp {
					continue
				}
				cell := m.Cell(int(en.cl.byPod[sp]), int(en.cl.byPod[dp]))
				for _, pp := range probePorts {
					want := !prof.Enforced || nv.allowedDir(true, sp.Pod, dp.Pod, pp.proto, pp.port) && nv.allowedDir(false, dp.Pod, sp.Pod, pp.proto, pp.port)
					if got := cell.Contains(pp.proto, pp.port); got != want {
						v := en.Reach(PodEndpoint(sp), PodEndpoint(dp), pp.port, pp.proto)
						t.Fatalf("iteration %d (%s): matrix %s → %s %s/%d: got %v, want %v\nreach: %v egress %s / ingress %s\n%s\ncalico %+v\nanp %+v", it, prof.Name, sp.Ref(), dp.Ref(), pp.proto, pp.port, got, want, v.Allowed, v.Egress.Reason, v.Ingress.Reason, dump(c.randCluster), c.cals, c.anps)
					}
					if r.Intn(8) == 0 {
						if v := en.Reach(PodEndpoint(sp), PodEndpoint(dp), pp.port, pp.proto); v.Allowed != want {
							t.Fatalf("iteration %d (%s): reach %s → %s %s/%d: got %v, want %v", it, prof.Name, sp.Ref(), dp.Ref(), pp.proto, pp.port, v.Allowed, want)
						}
					}
				}
			}
		}
	}
}
