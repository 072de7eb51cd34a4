package netpol

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/env"
)

// class is a set of pods no policy can tell apart: same namespace, same
// answers from every selector that can see them, same named ports, same
// host-network flag, same IP atom, same node (when node-local traffic can
// tell nodes apart) and same enforcing profile.
type class struct {
	id     int32
	ns     string
	rep    *env.Pod
	pods   []*env.Pod
	inPols []*kpolicy
	egPols []*kpolicy
}

type classes struct {
	list     []*class
	byPod    map[*env.Pod]int32
	peerBits [][]uint64 // peer id → bitset over classes
}

func (c *classes) peerHas(peer int, cls int32) bool {
	b := c.peerBits[peer]
	i := int(cls) >> 6
	return i < len(b) && b[i]&(1<<(uint(cls)&63)) != 0
}

func canonicalLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
		b.WriteByte(0)
	}
	return b.String()
}

func namedPortKey(p *corev1.Pod) string {
	var parts []string
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name != "" {
				parts = append(parts, cp.Name+"/"+string(cp.Protocol)+"/"+strconv.Itoa(int(cp.ContainerPort)))
			}
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// ipKey is the pod's IP fact as far as CIDR peers can tell: the atom of a
// known IPv4 address, a known IPv6 address itself, or unknown.
func (en *Engine) ipKey(p *env.Pod) string {
	a, err := netip.ParseAddr(p.Status.PodIP)
	if err != nil {
		if p.Spec.HostNetwork {
			if n, ok := en.nodeIP[p.Spec.NodeName]; ok {
				a = n
			} else {
				return "u"
			}
		} else {
			return "u"
		}
	}
	if u, ok := v4(a); ok {
		i := sort.Search(len(en.bounds), func(i int) bool { return en.bounds[i] > u })
		return "a" + strconv.Itoa(i)
	}
	return a.String()
}

func (en *Engine) buildClasses() *classes {
	cl := &classes{byPod: map[*env.Pod]int32{}, peerBits: make([][]uint64, len(en.peers))}
	// Peers that can see pods of a namespace.
	nsPeers := map[string][]*kpeer{}
	peerNS := make([]string, len(en.peers))
	for _, kp := range en.kpols {
		if kp.invalid != "" {
			continue
		}
		for _, rs := range [][]krule{kp.in, kp.eg} {
			for _, r := range rs {
				for _, p := range r.peers {
					peerNS[p.id] = kp.ns
				}
			}
		}
	}
	for ns, nl := range en.nsLabels {
		for _, p := range en.peers {
			if p.ipb != nil || peerNS[p.id] == "" && p.nsSel == nil {
				continue
			}
			if (p.nsSel == nil && peerNS[p.id] == ns) || (p.nsSel != nil && p.nsSel.Matches(nl)) {
				nsPeers[ns] = append(nsPeers[ns], p)
			}
		}
	}
	nodeMatters := false
	for _, p := range en.env.Pods {
		if p.Spec.HostNetwork && p.Spec.NodeName != "" {
			nodeMatters = true
			break
		}
	}
	calico := en.calico.any() || en.admin.anp() || en.admin.banp()
	type raw struct {
		pods []*env.Pod
	}
	rawByKey := map[string]*raw{}
	var rawOrder []string
	for _, p := range en.env.Pods {
		var b strings.Builder
		b.WriteString(p.Namespace)
		b.WriteByte(1)
		b.WriteString(canonicalLabels(p.Labels))
		b.WriteByte(1)
		b.WriteString(namedPortKey(p.Pod))
		b.WriteByte(1)
		if p.Spec.HostNetwork {
			b.WriteString("H")
		}
		b.WriteString(en.ipKey(p))
		b.WriteByte(1)
		if nodeMatters {
			b.WriteString(p.Spec.NodeName)
		}
		b.WriteByte(1)
		b.WriteString(en.profileOf(p).Name)
		if calico {
			b.WriteByte(1)
			b.WriteString(p.Spec.ServiceAccountName)
		}
		k := b.String()
		r := rawByKey[k]
		if r == nil {
			r = &raw{}
			rawByKey[k] = r
			rawOrder = append(rawOrder, k)
		}
		r.pods = append(r.pods, p)
	}
	byKey := map[string]*class{}
	type matched struct {
		peers []int
	}
	var classPeers [][]int
	for _, rk := range rawOrder {
		r := rawByKey[rk]
		p := r.pods[0]
		ls := p.Labels
		var sig strings.Builder
		var in, eg []*kpolicy
		var peers []int
		if !p.Spec.HostNetwork {
			for _, kp := range en.kByNS[p.Namespace] {
				if kp.invalid != "" || !kp.podSel.Matches(labelsOf(ls)) {
					continue
				}
				sig.WriteString("p" + strconv.Itoa(kp.idx) + ",")
				if kp.ingress {
					in = append(in, kp)
				}
				if kp.egress {
					eg = append(eg, kp)
				}
			}
			nl := en.nsLabels[p.Namespace]
			for _, pr := range nsPeers[p.Namespace] {
				if matchSelectors(pr, peerNS[pr.id], p.Namespace, nl, labelsOf(ls)) {
					peers = append(peers, pr.id)
					sig.WriteString("q" + strconv.Itoa(pr.id) + ",")
				}
			}
		}
		// Everything but the labels stays in the key.
		rest := rk[strings.IndexByte(rk, 1)+1:]
		rest = rest[strings.IndexByte(rest, 1)+1:]
		if calico && !p.Spec.HostNetwork {
			// Ordered tiers: split on every Calico and admin pod selector
			// too (the service account is in rest).
			probe := &side{policed: true, ns: p.Namespace, labels: labelsOf(ls), nsLabels: en.nsLabels[p.Namespace], pod: p}
			cl := calicoLabels(probe)
			for i, s := range en.calico.selectors {
				if s.match(cl) {
					sig.WriteString("c" + strconv.Itoa(i) + ",")
				}
			}
			for i, s := range en.admin.podSelectors {
				if s.Matches(labelsOf(ls)) {
					sig.WriteString("a" + strconv.Itoa(i) + ",")
				}
			}
		}
		key := p.Namespace + "\x01" + sig.String() + "\x01" + rest
		c := byKey[key]
		if c == nil {
			c = &class{id: int32(len(cl.list)), ns: p.Namespace, rep: p, inPols: in, egPols: eg}
			byKey[key] = c
			cl.list = append(cl.list, c)
			classPeers = append(classPeers, peers)
		}
		c.pods = append(c.pods, r.pods...)
	}
	words := (len(cl.list) + 63) / 64
	for ci, ps := range classPeers {
		for _, pid := range ps {
			if cl.peerBits[pid] == nil {
				cl.peerBits[pid] = make([]uint64, words)
			}
			cl.peerBits[pid][ci>>6] |= 1 << (uint(ci) & 63)
		}
	}
	for _, c := range cl.list {
		for _, p := range c.pods {
			cl.byPod[p] = c.id
		}
	}
	return cl
}

// ClassCount is the number of pod equivalence classes.
func (en *Engine) ClassCount() int { return len(en.cl.list) }
