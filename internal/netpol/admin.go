package netpol

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// AdminNetworkPolicy and BaselineAdminNetworkPolicy
// (policy.networking.k8s.io/v1alpha1) and ClusterNetworkPolicy (v1alpha2,
// tier Admin or Baseline), decoded from the unstructured objects the
// Environment keeps. The admin tier runs before NetworkPolicy: policies by
// priority (lower first), rules in order, first match decides (Allow /
// Accept, Deny, Pass → on to NetworkPolicy). The baseline tier runs only
// for what NetworkPolicy left undecided (no policy selects the pod).
// Host-network pods are neither subjects nor peers.

type adminSet struct {
	admin    []*anPolicy
	baseline []*anPolicy
	invalid  []calInvalid
	// podSelectors are every pod selector of every policy (subjects and
	// peers): the pod equivalence classes split on their answers.
	podSelectors []labels.Selector
}

type anPolicy struct {
	kind     string
	name     string
	loc      source.Location
	priority int32
	subject  anSubject
	in, eg   []anRule
}

type anSubject struct {
	nsSel  labels.Selector // namespaces: all pods in matching namespaces
	podNS  labels.Selector // pods: namespaceSelector
	podSel labels.Selector // pods: podSelector
}

type anRule struct {
	index  int
	name   string
	action string // Allow, Deny, Pass (Accept is Allow)
	peers  []anPeer
	ports  []anPort // nil = all
	text   string
}

type anPeer struct {
	nsSel    labels.Selector
	podNS    labels.Selector
	podSel   labels.Selector
	nodeSel  labels.Selector
	networks []ipBlockSpec
}

type anPort struct {
	proto  corev1.Protocol
	lo, hi int32
	name   string
}

type anSelJSON = metav1.LabelSelector

type anPodsJSON struct {
	NamespaceSelector anSelJSON `json:"namespaceSelector"`
	PodSelector       anSelJSON `json:"podSelector"`
}

type anPeerJSON struct {
	Namespaces *anSelJSON  `json:"namespaces"`
	Pods       *anPodsJSON `json:"pods"`
	Nodes      *anSelJSON  `json:"nodes"`
	Networks   []string    `json:"networks"`
}

type anPortNumberJSON struct {
	Protocol corev1.Protocol `json:"protocol"`
	Port     int32           `json:"port"`
}

type anPortRangeJSON struct {
	Protocol corev1.Protocol `json:"protocol"`
	Start    int32           `json:"start"`
	End      int32           `json:"end"`
}

type anPortJSON struct {
	PortNumber *anPortNumberJSON `json:"portNumber"`
	PortRange  *anPortRangeJSON  `json:"portRange"`
	NamedPort  *string           `json:"namedPort"`
}

type anProtoPortJSON struct {
	DestinationPort *struct {
		Number int32 `json:"number"`
		Range  *struct {
			Start int32 `json:"start"`
			End   int32 `json:"end"`
		} `json:"range"`
	} `json:"destinationPort"`
}

type anProtocolJSON struct {
	TCP                  *anProtoPortJSON `json:"tcp"`
	UDP                  *anProtoPortJSON `json:"udp"`
	SCTP                 *anProtoPortJSON `json:"sctp"`
	DestinationNamedPort string           `json:"destinationNamedPort"`
}

type anRuleJSON struct {
	Name      string            `json:"name"`
	Action    string            `json:"action"`
	From      []anPeerJSON      `json:"from"`
	To        []anPeerJSON      `json:"to"`
	Ports     *[]anPortJSON     `json:"ports"`
	Protocols *[]anProtocolJSON `json:"protocols"`
}

type anSpecJSON struct {
	Tier     string `json:"tier"`
	Priority int32  `json:"priority"`
	Subject  struct {
		Namespaces *anSelJSON  `json:"namespaces"`
		Pods       *anPodsJSON `json:"pods"`
	} `json:"subject"`
	Ingress []anRuleJSON `json:"ingress"`
	Egress  []anRuleJSON `json:"egress"`
}

func sel(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return nil, nil
	}
	return metav1.LabelSelectorAsSelector(ls)
}

func compileAdmin(e *env.Environment, bset map[uint32]struct{}) *adminSet {
	as := &adminSet{}
	for _, it := range e.AdminNetworkPolicies {
		u := it.Obj
		p, baseline, err := compileANP(u, it.Loc, bset)
		if err != nil {
			as.invalid = append(as.invalid, calInvalid{u.GetKind(), "", u.GetName(), err.Error(), it.Loc})
			continue
		}
		if baseline {
			as.baseline = append(as.baseline, p)
		} else {
			as.admin = append(as.admin, p)
		}
	}
	order := func(ps []*anPolicy) {
		sort.SliceStable(ps, func(i, j int) bool {
			if ps[i].priority != ps[j].priority {
				return ps[i].priority < ps[j].priority
			}
			return ps[i].name < ps[j].name
		})
	}
	order(as.admin)
	order(as.baseline)
	for _, p := range append(append([]*anPolicy{}, as.admin...), as.baseline...) {
		if p.subject.podSel != nil {
			as.podSelectors = append(as.podSelectors, p.subject.podSel)
		}
		for _, rs := range [][]anRule{p.in, p.eg} {
			for _, r := range rs {
				for _, pr := range r.peers {
					if pr.podSel != nil {
						as.podSelectors = append(as.podSelectors, pr.podSel)
					}
				}
			}
		}
	}
	return as
}

func compileANP(u *unstructured.Unstructured, loc source.Location, bset map[uint32]struct{}) (*anPolicy, bool, error) {
	var spec anSpecJSON
	raw, _ := json.Marshal(u.Object["spec"])
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, false, err
	}
	p := &anPolicy{kind: u.GetKind(), name: u.GetName(), loc: loc, priority: spec.Priority}
	baseline := false
	switch u.GetKind() {
	case "AdminNetworkPolicy":
	case "BaselineAdminNetworkPolicy":
		baseline = true
	case "ClusterNetworkPolicy":
		baseline = spec.Tier == "Baseline"
	default:
		return nil, false, fmt.Errorf("unknown kind %s", u.GetKind())
	}
	var err error
	switch {
	case spec.Subject.Namespaces != nil:
		if p.subject.nsSel, err = sel(spec.Subject.Namespaces); err != nil {
			return nil, false, err
		}
	case spec.Subject.Pods != nil:
		if p.subject.podNS, err = sel(&spec.Subject.Pods.NamespaceSelector); err != nil {
			return nil, false, err
		}
		if p.subject.podSel, err = sel(&spec.Subject.Pods.PodSelector); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, fmt.Errorf("subject names neither namespaces nor pods")
	}
	rules := func(rs []anRuleJSON, ingress bool) ([]anRule, error) {
		var out []anRule
		for i, r := range rs {
			ar := anRule{index: i, name: r.Name, action: r.Action}
			if ar.action == "Accept" {
				ar.action = "Allow"
			}
			switch ar.action {
			case "Allow", "Deny", "Pass":
			default:
				return nil, fmt.Errorf("rule %d: action %q", i, r.Action)
			}
			peers := r.From
			if !ingress {
				peers = r.To
			}
			for _, pj := range peers {
				var ap anPeer
				var err error
				switch {
				case pj.Namespaces != nil:
					ap.nsSel, err = sel(pj.Namespaces)
				case pj.Pods != nil:
					if ap.podNS, err = sel(&pj.Pods.NamespaceSelector); err == nil {
						ap.podSel, err = sel(&pj.Pods.PodSelector)
					}
				case pj.Nodes != nil:
					ap.nodeSel, err = sel(pj.Nodes)
				case len(pj.Networks) > 0:
					for _, n := range pj.Networks {
						b, err2 := parseIPBlock(n, nil)
						if err2 != nil {
							err = err2
							break
						}
						b.boundaries(bset)
						ap.networks = append(ap.networks, b)
					}
				default:
					continue // unknown peer types match nothing (fail closed for Allow)
				}
				if err != nil {
					return nil, fmt.Errorf("rule %d: %w", i, err)
				}
				ar.peers = append(ar.peers, ap)
			}
			if r.Ports != nil {
				ar.ports = []anPort{}
				for _, pj := range *r.Ports {
					switch {
					case pj.PortNumber != nil:
						ar.ports = append(ar.ports, anPort{proto: pj.PortNumber.Protocol, lo: pj.PortNumber.Port, hi: pj.PortNumber.Port})
					case pj.PortRange != nil:
						ar.ports = append(ar.ports, anPort{proto: pj.PortRange.Protocol, lo: pj.PortRange.Start, hi: pj.PortRange.End})
					case pj.NamedPort != nil:
						ar.ports = append(ar.ports, anPort{name: *pj.NamedPort})
					}
				}
			}
			if r.Protocols != nil {
				ar.ports = []anPort{}
				for _, pj := range *r.Protocols {
					if pj.DestinationNamedPort != "" {
						ar.ports = append(ar.ports, anPort{name: pj.DestinationNamedPort})
					}
					for proto, pp := range map[corev1.Protocol]*anProtoPortJSON{corev1.ProtocolTCP: pj.TCP, corev1.ProtocolUDP: pj.UDP, corev1.ProtocolSCTP: pj.SCTP} {
						if pp == nil {
							continue
						}
						switch {
						case pp.DestinationPort == nil:
							ar.ports = append(ar.ports, anPort{proto: proto})
						case pp.DestinationPort.Range != nil:
							ar.ports = append(ar.ports, anPort{proto: proto, lo: pp.DestinationPort.Range.Start, hi: pp.DestinationPort.Range.End})
						default:
							ar.ports = append(ar.ports, anPort{proto: proto, lo: pp.DestinationPort.Number, hi: pp.DestinationPort.Number})
						}
					}
				}
			}
			b, _ := json.Marshal(r)
			ar.text = string(b)
			out = append(out, ar)
		}
		return out, nil
	}
	if p.in, err = rules(spec.Ingress, true); err != nil {
		return nil, false, err
	}
	if p.eg, err = rules(spec.Egress, false); err != nil {
		return nil, false, err
	}
	return p, baseline, nil
}

func (a *adminSet) anp() bool  { return a != nil && len(a.admin) > 0 }
func (a *adminSet) banp() bool { return a != nil && len(a.baseline) > 0 }

func matchesOrNil(s labels.Selector, ls labels.Set) bool { return s == nil || s.Matches(ls) }

func (p *anPolicy) selects(s *side) bool {
	if !s.policed {
		return false
	}
	if p.subject.nsSel != nil {
		return p.subject.nsSel.Matches(s.nsLabels)
	}
	return matchesOrNil(p.subject.podNS, s.nsLabels) && matchesOrNil(p.subject.podSel, s.labels)
}

func (en *Engine) anPeerMatches(pr *anPeer, s *side, prof *Profile) bool {
	switch {
	case pr.nsSel != nil:
		return s.policed && pr.nsSel.Matches(s.nsLabels)
	case pr.podNS != nil || pr.podSel != nil:
		return s.policed && matchesOrNil(pr.podNS, s.nsLabels) && matchesOrNil(pr.podSel, s.labels)
	case pr.nodeSel != nil:
		if !s.ipIsNode || s.node == "" {
			return false
		}
		for _, it := range en.env.Nodes {
			if it.Obj.Name == s.node {
				return pr.nodeSel.Matches(labels.Set(it.Obj.Labels))
			}
		}
		return false
	case len(pr.networks) > 0:
		if !s.curValid || !ipVisible(s, prof) {
			return false
		}
		for _, b := range pr.networks {
			if b.contains(s.cur) {
				return true
			}
		}
	}
	return false
}

func (r *anRule) portSet(dst *side) PortSet {
	if r.ports == nil {
		return AllPorts()
	}
	var out PortSet
	for _, p := range r.ports {
		if p.name != "" {
			for _, proto := range Protocols {
				out = out.Union(dst.namedPort(p.name, proto))
			}
			continue
		}
		proto := p.proto
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		out = out.Union(ProtoRange(proto, p.lo, p.hi))
	}
	return out
}

func (p *anPolicy) ref(r *anRule, dir Direction) RuleRef {
	return RuleRef{Kind: p.kind, Name: p.name, Rule: fmt.Sprintf("%s[%d] %s: %s", strings.ToLower(string(dir)), r.index, r.name, r.text), Action: r.action, Loc: p.loc}
}

func (en *Engine) adminEval(pols []*anPolicy, dir Direction, subj, peer *side, want PortSet) tierResult {
	res := tierResult{}
	remaining := want
	dst := peer
	if dir == Ingress {
		dst = subj
	}
	for _, p := range pols {
		if remaining.Empty() || !p.selects(subj) {
			continue
		}
		rules := p.in
		if dir == Egress {
			rules = p.eg
		}
		for i := range rules {
			r := &rules[i]
			hit := false
			for j := range r.peers {
				hit = hit || en.anPeerMatches(&r.peers[j], peer, subj.prof)
			}
			if !hit {
				continue
			}
			ps := r.portSet(dst).Intersect(remaining)
			if ps.Empty() {
				continue
			}
			remaining = remaining.Minus(ps)
			switch r.action {
			case "Allow":
				res.accept = res.accept.Union(ps)
			case "Deny":
				res.deny = res.deny.Union(ps)
			}
			if !subj.quiet {
				res.decisions = append(res.decisions, decision{ports: ps, action: r.action, ref: p.ref(r, dir)})
			}
		}
	}
	return res
}

func (en *Engine) adminTier(dir Direction, subj, peer *side, want PortSet) tierResult {
	return en.adminEval(en.admin.admin, dir, subj, peer, want)
}

func (en *Engine) baselineTier(dir Direction, subj, peer *side, want PortSet) tierResult {
	return en.adminEval(en.admin.baseline, dir, subj, peer, want)
}
