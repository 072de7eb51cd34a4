package netpol

import (
	"context"
	"fmt"
	"math/rand"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// The property: the class-based engine (Matrix and Reach) decides every
// pod pair and port exactly as a naive per-pod evaluator written directly
// from the NetworkPolicy rules (S1–S15) and the profile flags.

type randCluster struct {
	plugin string
	ns     []*corev1.Namespace
	pods   []*corev1.Pod
	pols   []*networkingv1.NetworkPolicy
}

var nodeIPs = map[string]string{"n1": "10.240.0.1", "n2": "10.240.0.2"}

func genCluster(r *rand.Rand) *randCluster {
	c := &randCluster{plugin: []string{"", "azure", "cilium", "calico", "none"}[r.Intn(5)]}
	pick := func(ss ...string) string { return ss[r.Intn(len(ss))] }
	for i := 0; i < 2+r.Intn(2); i++ {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns%d", i), Labels: map[string]string{"team": pick("x", "y")}}}
		c.ns = append(c.ns, n)
	}
	for i := 0; i < 3+r.Intn(6); i++ {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i), Namespace: c.ns[r.Intn(len(c.ns))].Name, Labels: map[string]string{}}}
		if r.Intn(4) > 0 {
			p.Labels["app"] = pick("a", "b", "c")
		}
		if r.Intn(2) == 0 {
			p.Labels["tier"] = pick("f", "b")
		}
		ctr := corev1.Container{Name: "c"}
		if r.Intn(3) > 0 {
			ctr.Ports = append(ctr.Ports, corev1.ContainerPort{Name: "http", ContainerPort: int32([]int{80, 8080}[r.Intn(2)]), Protocol: corev1.Protocol(pick("TCP", "TCP", "UDP"))})
		}
		if r.Intn(3) == 0 {
			ctr.Ports = append(ctr.Ports, corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP})
		}
		p.Spec.Containers = []corev1.Container{ctr}
		p.Spec.NodeName = pick("n1", "n2", "")
		switch r.Intn(6) {
		case 0:
			if p.Spec.NodeName != "" {
				p.Spec.HostNetwork = true
				p.Status.PodIP = nodeIPs[p.Spec.NodeName]
			}
		case 1, 2:
			// unknown IP
		default:
			p.Status.PodIP = pick("10.244.0.", "10.244.1.", "10.244.1.2") + fmt.Sprint(10+i)
		}
		snapshot.DefaultPodSpec(&p.Spec)
		c.pods = append(c.pods, p)
	}
	randSel := func() *metav1.LabelSelector {
		switch r.Intn(5) {
		case 0:
			return &metav1.LabelSelector{}
		case 1:
			return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{pick("a", "b")}}}}
		case 2:
			return &metav1.LabelSelector{MatchLabels: map[string]string{"tier": pick("f", "b")}}
		default:
			return &metav1.LabelSelector{MatchLabels: map[string]string{"app": pick("a", "b", "c")}}
		}
	}
	randPeers := func() []networkingv1.NetworkPolicyPeer {
		var out []networkingv1.NetworkPolicyPeer
		for k := r.Intn(3); k > 0; k-- {
			switch r.Intn(5) {
			case 0:
				out = append(out, networkingv1.NetworkPolicyPeer{PodSelector: randSel()})
			case 1:
				out = append(out, networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": pick("x", "y")}}})
			case 2:
				out = append(out, networkingv1.NetworkPolicyPeer{PodSelector: randSel(), NamespaceSelector: randSel()})
			case 3:
				b := &networkingv1.IPBlock{CIDR: pick("10.244.0.0/16", "10.244.1.0/24", "0.0.0.0/0", "10.240.0.0/24")}
				if r.Intn(2) == 0 && b.CIDR != "10.244.1.0/24" {
					b.Except = []string{pick("10.244.1.0/24", "10.244.1.128/25")}
					if b.CIDR == "10.240.0.0/24" {
						b.Except = []string{"10.240.0.2/32"}
					}
				}
				out = append(out, networkingv1.NetworkPolicyPeer{IPBlock: b})
			default:
				out = append(out, networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": pick("ns0", "ns1")}}})
			}
		}
		return out
	}
	randPorts := func() []networkingv1.NetworkPolicyPort {
		var out []networkingv1.NetworkPolicyPort
		for k := r.Intn(3); k > 0; k-- {
			proto := corev1.Protocol(pick("TCP", "TCP", "UDP", "SCTP"))
			pp := networkingv1.NetworkPolicyPort{Protocol: &proto}
			switch r.Intn(4) {
			case 0:
				v := intstr.FromInt32(80)
				pp.Port = &v
			case 1:
				v := intstr.FromString(pick("http", "dns"))
				pp.Port = &v
			case 2:
				v := intstr.FromInt32(80)
				end := int32(90)
				pp.Port, pp.EndPort = &v, &end
			}
			out = append(out, pp)
		}
		return out
	}
	for i := 0; i < r.Intn(5); i++ {
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("np%d", i), Namespace: c.ns[r.Intn(len(c.ns))].Name}}
		np.Spec.PodSelector = *randSel()
		for k := r.Intn(3); k > 0; k-- {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: randPeers(), Ports: randPorts()})
		}
		for k := r.Intn(3); k > 0; k-- {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: randPeers(), Ports: randPorts()})
		}
		switch r.Intn(4) {
		case 0:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
		case 1:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		}
		snapshot.DefaultNetworkPolicy(np)
		c.pols = append(c.pols, np)
	}
	return c
}

func (c *randCluster) env() *env.Environment {
	s := &snapshot.Snapshot{}
	add := func(kind, group, ns, name string, obj any) {
		s.Objects = append(s.Objects, &snapshot.Object{Kind: kind, Group: group, Namespace: ns, Name: name, Typed: obj, Known: true})
	}
	for _, n := range c.ns {
		add("Namespace", "", "", n.Name, n)
	}
	for _, p := range c.pods {
		add("Pod", "", p.Namespace, p.Name, p)
	}
	for _, np := range c.pols {
		add("NetworkPolicy", "networking.k8s.io", np.Namespace, np.Name, np)
	}
	for n, ip := range nodeIPs {
		add("Node", "", "", n, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}})
	}
	if c.plugin != "" {
		s.Azure.Cluster = &azure.ManagedCluster{Name: "c", NetworkProfile: &azure.NetworkProfile{NetworkPolicy: c.plugin, PodCIDR: "10.244.0.0/16"}}
	}
	return env.New(s)
}

// naive decides one pod pair on one port from first principles.
type naive struct {
	c    *randCluster
	prof Profile
}

func (n *naive) nsLabels(ns string) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": ns}
	for _, x := range n.c.ns {
		if x.Name == ns {
			for k, v := range x.Labels {
				out[k] = v
			}
		}
	}
	return out
}

func selMatch(ls *metav1.LabelSelector, labels map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return false
	}
	return s.Matches(labelsOf(labels))
}

// candidate addresses of a pod as a peer: its IP, or, when unknown, one
// address of each region the random CIDRs cut the pod CIDR into.
func (n *naive) addrs(p *corev1.Pod) []string {
	if p.Status.PodIP != "" {
		return []string{p.Status.PodIP}
	}
	out := []string{"10.244.0.5", "10.244.1.5", "10.244.1.200", "10.244.200.1"}
	if n.c.plugin == "" {
		// Without aks.json there is no pod CIDR: any private address.
		out = append(out, "10.0.0.1", "10.240.0.2", "10.240.0.200", "172.16.0.1", "192.168.0.1")
	}
	return out
}

func (n *naive) peerMatch(peer networkingv1.NetworkPolicyPeer, policyNS string, p *corev1.Pod, addr string) bool {
	if peer.IPBlock != nil {
		if p.Spec.HostNetwork && !n.prof.IPBlockMatchesNodes || !p.Spec.HostNetwork && !n.prof.IPBlockMatchesPods {
			return false
		}
		a := netip.MustParseAddr(addr)
		if !netip.MustParsePrefix(peer.IPBlock.CIDR).Contains(a) {
			return false
		}
		for _, e := range peer.IPBlock.Except {
			if netip.MustParsePrefix(e).Contains(a) {
				return false
			}
		}
		return true
	}
	if p.Spec.HostNetwork {
		return false
	}
	if peer.NamespaceSelector == nil {
		if p.Namespace != policyNS {
			return false
		}
	} else if !selMatch(peer.NamespaceSelector, n.nsLabels(p.Namespace)) {
		return false
	}
	return peer.PodSelector == nil || selMatch(peer.PodSelector, p.Labels)
}

func (n *naive) portMatch(ports []networkingv1.NetworkPolicyPort, dst *corev1.Pod, proto corev1.Protocol, port int32) bool {
	if len(ports) == 0 {
		return true
	}
	for _, pp := range ports {
		if *pp.Protocol != proto {
			continue
		}
		if pp.Port == nil {
			return true
		}
		if pp.Port.Type == intstr.String {
			for _, c := range dst.Spec.Containers {
				for _, cp := range c.Ports {
					if cp.Name == pp.Port.StrVal && cp.Protocol == proto && cp.ContainerPort == port {
						return true
					}
				}
			}
			continue
		}
		end := pp.Port.IntVal
		if pp.EndPort != nil {
			end = *pp.EndPort
		}
		if port >= pp.Port.IntVal && port <= end {
			return true
		}
	}
	return false
}

// direction: may subject (selected side) exchange with peer on the port?
func (n *naive) allowedDir(egress bool, subj, peer *corev1.Pod, proto corev1.Protocol, port int32) bool {
	if subj.Spec.HostNetwork {
		return true
	}
	if peer.Spec.HostNetwork && peer.Spec.NodeName != "" && peer.Spec.NodeName == subj.Spec.NodeName {
		if !egress && n.prof.NodeLocalIngress || egress && n.prof.NodeLocalEgress {
			return true
		}
	}
	isolated := false
	dst := subj
	if egress {
		dst = peer
	}
	for _, addr := range n.addrs(peer) {
		for _, np := range n.c.pols {
			if np.Namespace != subj.Namespace || !selMatch(&np.Spec.PodSelector, subj.Labels) {
				continue
			}
			has := false
			for _, t := range np.Spec.PolicyTypes {
				has = has || (t == networkingv1.PolicyTypeEgress) == egress
			}
			if !has {
				continue
			}
			isolated = true
			type rule struct {
				peers []networkingv1.NetworkPolicyPeer
				ports []networkingv1.NetworkPolicyPort
			}
			var rules []rule
			if egress {
				for _, r := range np.Spec.Egress {
					rules = append(rules, rule{r.To, r.Ports})
				}
			} else {
				for _, r := range np.Spec.Ingress {
					rules = append(rules, rule{r.From, r.Ports})
				}
			}
			for _, r := range rules {
				peerOK := len(r.peers) == 0
				for _, pr := range r.peers {
					peerOK = peerOK || n.peerMatch(pr, np.Namespace, peer, addr)
				}
				if peerOK && n.portMatch(r.ports, dst, proto, port) {
					return true
				}
			}
		}
	}
	return !isolated
}

func (n *naive) allowed(src, dst *corev1.Pod, proto corev1.Protocol, port int32) bool {
	if !n.prof.Enforced || src == dst {
		return true
	}
	return n.allowedDir(true, src, dst, proto, port) && n.allowedDir(false, dst, src, proto, port)
}

var probePorts = []struct {
	proto corev1.Protocol
	port  int32
}{{"TCP", 80}, {"TCP", 85}, {"TCP", 8080}, {"TCP", 9999}, {"UDP", 53}, {"UDP", 80}, {"UDP", 8080}, {"SCTP", 80}}

func TestClassEngineEqualsNaive(t *testing.T) {
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	r := rand.New(rand.NewSource(7))
	for it := 0; it < iterations; it++ {
		c := genCluster(r)
		e := c.env()
		en := New(e)
		prof := en.Profile()
		nv := &naive{c: c, prof: prof}
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
					want := nv.allowed(sp.Pod, dp.Pod, pp.proto, pp.port)
					if got := cell.Contains(pp.proto, pp.port); got != want {
						t.Fatalf("iteration %d (%s): matrix %s → %s %s/%d: got %v, want %v\n%s", it, prof.Name, sp.Ref(), dp.Ref(), pp.proto, pp.port, got, want, dump(c))
					}
					if r.Intn(8) == 0 {
						v := en.Reach(PodEndpoint(sp), PodEndpoint(dp), pp.port, pp.proto)
						if v.Allowed != want {
							t.Fatalf("iteration %d (%s): reach %s → %s %s/%d: got %v, want %v\negress: %s\ningress: %s\n%s", it, prof.Name, sp.Ref(), dp.Ref(), pp.proto, pp.port, v.Allowed, want, v.Egress.Reason, v.Ingress.Reason, dump(c))
						}
					}
				}
			}
		}
	}
}

func dump(c *randCluster) string {
	s := fmt.Sprintf("plugin %q\n", c.plugin)
	for _, n := range c.ns {
		s += fmt.Sprintf("ns %s %v\n", n.Name, n.Labels)
	}
	for _, p := range c.pods {
		s += fmt.Sprintf("pod %s/%s %v ip=%q hostNet=%v node=%q ports=%v\n", p.Namespace, p.Name, p.Labels, p.Status.PodIP, p.Spec.HostNetwork, p.Spec.NodeName, p.Spec.Containers[0].Ports)
	}
	for _, np := range c.pols {
		s += fmt.Sprintf("policy %s/%s %+v\n", np.Namespace, np.Name, np.Spec)
	}
	return s
}

func envNew(s *snapshot.Snapshot) *env.Environment { return env.New(s) }
