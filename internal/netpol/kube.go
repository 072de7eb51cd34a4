package netpol

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/akssec/akssec/internal/source"
)

// kpolicy is a compiled networking.k8s.io/v1 NetworkPolicy. policyTypes
// and port protocols were defaulted at load (S6, S7).
type kpolicy struct {
	idx     int
	ns      string
	name    string
	loc     source.Location
	obj     *networkingv1.NetworkPolicy
	podSel  labels.Selector
	selAll  bool // podSelector {}
	ingress bool
	egress  bool
	in, eg  []krule
	// windowsUnsupported says why Windows NPM rejects the policy ("" when it
	// translates).
	windowsUnsupported string
	invalid            string
}

type krule struct {
	index    int
	allPeers bool // from/to empty or absent: every source/destination (S8)
	peers    []*kpeer
	allPorts bool // ports empty or absent: every port and protocol (S8)
	ports    []kport
}

type kpeer struct {
	id     int // index into Engine.peers
	podSel labels.Selector
	nsSel  labels.Selector
	ipb    *ipBlockSpec
	text   string
}

type kport struct {
	proto corev1.Protocol
	port  int32 // 0 = every port of proto
	end   int32
	name  string
}

func selectorOf(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return labels.Everything(), nil
	}
	return metav1.LabelSelectorAsSelector(ls)
}

func negativeSelector(ls *metav1.LabelSelector) bool {
	if ls == nil {
		return false
	}
	for _, r := range ls.MatchExpressions {
		if r.Operator == metav1.LabelSelectorOpNotIn || r.Operator == metav1.LabelSelectorOpDoesNotExist {
			return true
		}
	}
	return false
}

func compileKube(idx int, loc source.Location, np *networkingv1.NetworkPolicy, addPeer func(*kpeer)) *kpolicy {
	kp := &kpolicy{idx: idx, ns: np.Namespace, name: np.Name, loc: loc, obj: np}
	var problems []string
	var winProblems []string
	sel, err := selectorOf(&np.Spec.PodSelector)
	if err != nil {
		problems = append(problems, "podSelector: "+err.Error())
		sel = labels.Nothing()
	}
	kp.podSel = sel
	kp.selAll = len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0
	if negativeSelector(&np.Spec.PodSelector) {
		winProblems = append(winProblems, "negative selector")
	}
	for _, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			kp.ingress = true
		case networkingv1.PolicyTypeEgress:
			kp.egress = true
		}
	}
	compilePeers := func(ps []networkingv1.NetworkPolicyPeer) []*kpeer {
		var out []*kpeer
		for _, p := range ps {
			pr := &kpeer{}
			var text []string
			if p.IPBlock != nil {
				if p.PodSelector != nil || p.NamespaceSelector != nil {
					problems = append(problems, "may not specify both ipBlock and another peer (S10)")
				}
				b, err := parseIPBlock(p.IPBlock.CIDR, p.IPBlock.Except)
				if err != nil {
					problems = append(problems, err.Error())
					continue
				}
				for _, e := range b.except {
					if !(b.cidr.Contains(e.Addr()) && e.Bits() > b.cidr.Bits()) {
						problems = append(problems, fmt.Sprintf("except %s is not a strict subset of cidr %s", e, b.cidr))
					}
				}
				if len(b.except) > 0 {
					winProblems = append(winProblems, "except CIDRs")
				}
				pr.ipb = &b
				text = append(text, "ipBlock "+b.text)
			} else {
				if p.PodSelector == nil && p.NamespaceSelector == nil {
					problems = append(problems, "a peer must name podSelector, namespaceSelector or ipBlock")
					continue
				}
				if p.PodSelector != nil {
					s, err := selectorOf(p.PodSelector)
					if err != nil {
						problems = append(problems, err.Error())
						s = labels.Nothing()
					}
					pr.podSel = s
					text = append(text, "podSelector "+showSelector(p.PodSelector))
					if negativeSelector(p.PodSelector) {
						winProblems = append(winProblems, "negative selector")
					}
				}
				if p.NamespaceSelector != nil {
					s, err := selectorOf(p.NamespaceSelector)
					if err != nil {
						problems = append(problems, err.Error())
						s = labels.Nothing()
					}
					pr.nsSel = s
					text = append(text, "namespaceSelector "+showSelector(p.NamespaceSelector))
					if negativeSelector(p.NamespaceSelector) {
						winProblems = append(winProblems, "negative selector")
					}
				} else {
					text = append(text, "in namespace "+np.Namespace)
				}
			}
			pr.text = strings.Join(text, " AND ")
			addPeer(pr)
			out = append(out, pr)
		}
		return out
	}
	compilePorts := func(ps []networkingv1.NetworkPolicyPort) []kport {
		var out []kport
		for _, p := range ps {
			proto := corev1.ProtocolTCP
			if p.Protocol != nil {
				proto = *p.Protocol
			}
			if _, ok := protoIndex(proto); !ok {
				problems = append(problems, fmt.Sprintf("protocol %q is not TCP, UDP or SCTP", proto))
				continue
			}
			if proto == corev1.ProtocolSCTP {
				winProblems = append(winProblems, "SCTP")
			}
			kp := kport{proto: proto}
			if p.Port != nil {
				if p.Port.Type == intstr.String {
					kp.name = p.Port.StrVal
					winProblems = append(winProblems, "named ports")
					if p.EndPort != nil {
						problems = append(problems, "endPort may only be given with a numeric port (S13)")
					}
				} else {
					kp.port = p.Port.IntVal
					kp.end = p.Port.IntVal
					if p.EndPort != nil {
						if *p.EndPort < p.Port.IntVal {
							problems = append(problems, "endPort must be >= port (S13)")
						}
						kp.end = *p.EndPort
					}
				}
			} else if p.EndPort != nil {
				problems = append(problems, "endPort may only be given with a numeric port (S13)")
			}
			out = append(out, kp)
		}
		return out
	}
	for i, r := range np.Spec.Ingress {
		kp.in = append(kp.in, krule{index: i, allPeers: len(r.From) == 0, peers: compilePeers(r.From), allPorts: len(r.Ports) == 0, ports: compilePorts(r.Ports)})
	}
	for i, r := range np.Spec.Egress {
		kp.eg = append(kp.eg, krule{index: i, allPeers: len(r.To) == 0, peers: compilePeers(r.To), allPorts: len(r.Ports) == 0, ports: compilePorts(r.Ports)})
	}
	kp.invalid = strings.Join(dedupe(problems), "; ")
	kp.windowsUnsupported = strings.Join(dedupe(winProblems), ", ")
	return kp
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// showSelector renders a label selector as kubectl does ("<all>" for {}).
func showSelector(ls *metav1.LabelSelector) string {
	if ls == nil {
		return "<none>"
	}
	s, err := metav1.LabelSelectorAsSelector(ls)
	if err != nil {
		return "<invalid>"
	}
	if s.Empty() {
		return "{} (all)"
	}
	return s.String()
}

// portsFor is the set of ports a rule admits towards destination dst (named
// ports resolve on the destination pod with their protocol, S13).
func (r *krule) portsFor(dst *side, prof *Profile) PortSet {
	if r.allPorts {
		return AllPorts()
	}
	var out PortSet
	for _, p := range r.ports {
		if p.name != "" {
			out = out.Union(dst.namedPort(p.name, p.proto))
			continue
		}
		if p.port == 0 {
			out = out.Union(ProtoRange(p.proto, 0, 0))
			continue
		}
		end := p.end
		if !prof.EndPort {
			end = p.port
		}
		out = out.Union(ProtoRange(p.proto, p.port, end))
	}
	return out
}

func (r *krule) describe(dir string) string {
	var peers, ports []string
	if r.allPeers {
		peers = []string{"everywhere"}
	}
	for _, p := range r.peers {
		peers = append(peers, p.text)
	}
	if r.allPorts {
		ports = []string{"all ports"}
	}
	for _, p := range r.ports {
		switch {
		case p.name != "":
			ports = append(ports, fmt.Sprintf("%s/%s (named)", p.name, p.proto))
		case p.port == 0:
			ports = append(ports, fmt.Sprintf("all %s", p.proto))
		case p.end != p.port:
			ports = append(ports, fmt.Sprintf("%d-%d/%s", p.port, p.end, p.proto))
		default:
			ports = append(ports, fmt.Sprintf("%d/%s", p.port, p.proto))
		}
	}
	word := "from"
	if dir == "Egress" {
		word = "to"
	}
	return fmt.Sprintf("%s[%d]: %s %s on %s", strings.ToLower(dir), r.index, word, strings.Join(peers, " OR "), strings.Join(ports, ", "))
}
