package netpol

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// Calico (projectcalico.org/v3) NetworkPolicy and GlobalNetworkPolicy,
// evaluated with the Kubernetes policies as Calico orders them: tiers by
// order; within a tier the policies that apply to the endpoint by order
// (unset = last), then name; Kubernetes NetworkPolicies are order 1000 in
// the default tier (named knp.default.<name>). In a policy the first
// matching rule with Allow or Deny decides, Pass skips to the next tier,
// Log goes on. A tier in which some policy applied and no rule decided
// applies its default action (Deny). With no policy at all the namespace
// profile allows.

type calicoSet struct {
	tiers    []*calTier
	policies int
	invalid  []calInvalid
	// selectors are every endpoint selector of every policy: the pod
	// equivalence classes split on their answers.
	selectors []calSel
}

type calInvalid struct {
	kind, ns, name, problem string
	loc                     source.Location
}

type calTier struct {
	name          string
	order         float64
	defaultPass   bool
	pols          []*calPolicy
	hasKubeNative bool // the default tier holds the Kubernetes policies
}

type calPolicy struct {
	kind     string // NetworkPolicy or GlobalNetworkPolicy
	ns, name string
	sortName string
	loc      source.Location
	order    float64
	selector calSel
	nsSel    calSel // GNP namespaceSelector (nil = any)
	saSel    calSel // serviceAccountSelector (nil = any)
	ingress  bool
	egress   bool
	in, eg   []calRule
}

type calRule struct {
	index       int
	action      string
	proto       string // "" any; TCP, UDP, SCTP, ICMP, ...
	notProto    string
	src, dst    calEntity
	text        string
	hostOnlyErr string
}

type calEntity struct {
	nets, notNets    []ipBlockSpec
	selector, notSel calSel
	nsSel            calSel
	ports, notPorts  []calPort
	saNames          []string
	saSel            calSel
	hasSA            bool
	services         bool
	present          bool
}

type calPort struct {
	lo, hi int32
	name   string
}

type calSpecJSON struct {
	Tier                   string        `json:"tier"`
	Order                  *float64      `json:"order"`
	Selector               string        `json:"selector"`
	NamespaceSelector      string        `json:"namespaceSelector"`
	ServiceAccountSelector string        `json:"serviceAccountSelector"`
	Types                  []string      `json:"types"`
	Ingress                []calRuleJSON `json:"ingress"`
	Egress                 []calRuleJSON `json:"egress"`
	DoNotTrack             bool          `json:"doNotTrack"`
	PreDNAT                bool          `json:"preDNAT"`
}

type calRuleJSON struct {
	Action      string              `json:"action"`
	Protocol    *intstr.IntOrString `json:"protocol"`
	NotProtocol *intstr.IntOrString `json:"notProtocol"`
	Source      calEntityJSON       `json:"source"`
	Destination calEntityJSON       `json:"destination"`
}

type calEntityJSON struct {
	Nets              []string             `json:"nets"`
	NotNets           []string             `json:"notNets"`
	Selector          string               `json:"selector"`
	NotSelector       string               `json:"notSelector"`
	NamespaceSelector string               `json:"namespaceSelector"`
	Ports             []intstr.IntOrString `json:"ports"`
	NotPorts          []intstr.IntOrString `json:"notPorts"`
	ServiceAccounts   *struct {
		Names    []string `json:"names"`
		Selector string   `json:"selector"`
	} `json:"serviceAccounts"`
	Services *struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"services"`
}

func protoName(p *intstr.IntOrString) string {
	if p == nil {
		return ""
	}
	if p.Type == intstr.Int {
		switch p.IntVal {
		case 6:
			return "TCP"
		case 17:
			return "UDP"
		case 132:
			return "SCTP"
		case 1:
			return "ICMP"
		}
		return strconv.Itoa(int(p.IntVal))
	}
	return strings.ToUpper(p.StrVal)
}

func compileCalico(e *env.Environment, bset map[uint32]struct{}) *calicoSet {
	cs := &calicoSet{}
	tiers := map[string]*calTier{"default": {name: "default", order: 1_000_000, hasKubeNative: true}}
	for _, o := range e.Unknown {
		if o.Group == "projectcalico.org" && o.Kind == "Tier" {
			if u, ok := o.Typed.(*unstructured.Unstructured); ok {
				t := &calTier{name: u.GetName(), order: math.Inf(1)}
				if v, ok, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "order"); ok {
					if f, ok := toFloat(v); ok {
						t.order = f
					}
				}
				if v, _, _ := unstructured.NestedString(u.Object, "spec", "defaultAction"); v == "Pass" {
					t.defaultPass = true
				}
				if t.name == "default" {
					t.hasKubeNative = true
					if t.order == math.Inf(1) {
						t.order = 1_000_000
					}
				}
				tiers[t.name] = t
			}
		}
	}
	add := func(kind string, items []env.Item[unstructured.Unstructured]) {
		for _, it := range items {
			u := it.Obj
			var spec calSpecJSON
			raw, _ := json.Marshal(u.Object["spec"])
			if err := json.Unmarshal(raw, &spec); err != nil {
				cs.invalid = append(cs.invalid, calInvalid{kind, u.GetNamespace(), u.GetName(), err.Error(), it.Loc})
				continue
			}
			if spec.DoNotTrack || spec.PreDNAT {
				continue // host endpoint policies only
			}
			p, err := compileCalPolicy(kind, u.GetNamespace(), u.GetName(), it.Loc, &spec, bset)
			if err != nil {
				cs.invalid = append(cs.invalid, calInvalid{kind, u.GetNamespace(), u.GetName(), err.Error(), it.Loc})
				continue
			}
			tn := spec.Tier
			if tn == "" {
				tn = "default"
			}
			t := tiers[tn]
			if t == nil {
				t = &calTier{name: tn, order: math.Inf(1)}
				tiers[tn] = t
			}
			t.pols = append(t.pols, p)
			cs.policies++
			cs.selectors = append(cs.selectors, p.selector)
			for _, rs := range [][]calRule{p.in, p.eg} {
				for _, r := range rs {
					for _, e := range []calEntity{r.src, r.dst} {
						if e.selector != nil {
							cs.selectors = append(cs.selectors, e.selector)
						}
						if e.notSel != nil {
							cs.selectors = append(cs.selectors, e.notSel)
						}
					}
				}
			}
		}
	}
	add("NetworkPolicy", e.CalicoPolicies)
	add("GlobalNetworkPolicy", e.CalicoGlobalPolicies)
	for _, t := range tiers {
		cs.tiers = append(cs.tiers, t)
	}
	sort.Slice(cs.tiers, func(i, j int) bool {
		if cs.tiers[i].order != cs.tiers[j].order {
			return cs.tiers[i].order < cs.tiers[j].order
		}
		return cs.tiers[i].name < cs.tiers[j].name
	})
	return cs
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	}
	return 0, false
}

func compileCalPolicy(kind, ns, name string, loc source.Location, spec *calSpecJSON, bset map[uint32]struct{}) (*calPolicy, error) {
	p := &calPolicy{kind: kind, ns: ns, name: name, loc: loc, order: math.Inf(1), sortName: name}
	if ns != "" {
		p.sortName = ns + "/" + name
	}
	if spec.Order != nil {
		p.order = *spec.Order
	}
	var err error
	if p.selector, err = parseCalicoSelector(spec.Selector); err != nil {
		return nil, err
	}
	if spec.NamespaceSelector != "" {
		if p.nsSel, err = parseCalicoSelector(spec.NamespaceSelector); err != nil {
			return nil, err
		}
	}
	if spec.ServiceAccountSelector != "" {
		if p.saSel, err = parseCalicoSelector(spec.ServiceAccountSelector); err != nil {
			return nil, err
		}
	}
	if len(spec.Types) == 0 {
		// Ingress when there are ingress rules or no egress rules; Egress
		// when there are egress rules.
		p.ingress = len(spec.Ingress) > 0 || len(spec.Egress) == 0
		p.egress = len(spec.Egress) > 0
	}
	for _, t := range spec.Types {
		switch t {
		case "Ingress":
			p.ingress = true
		case "Egress":
			p.egress = true
		}
	}
	for i, r := range spec.Ingress {
		cr, err := compileCalRule(i, r, bset)
		if err != nil {
			return nil, fmt.Errorf("ingress[%d]: %w", i, err)
		}
		p.in = append(p.in, cr)
	}
	for i, r := range spec.Egress {
		cr, err := compileCalRule(i, r, bset)
		if err != nil {
			return nil, fmt.Errorf("egress[%d]: %w", i, err)
		}
		p.eg = append(p.eg, cr)
	}
	return p, nil
}

func compileCalRule(i int, r calRuleJSON, bset map[uint32]struct{}) (calRule, error) {
	cr := calRule{index: i, action: r.Action, proto: protoName(r.Protocol), notProto: protoName(r.NotProtocol)}
	switch cr.action {
	case "Allow", "Deny", "Pass", "Log":
	default:
		return cr, fmt.Errorf("action %q is not Allow, Deny, Pass or Log", r.Action)
	}
	var err error
	if cr.src, err = compileCalEntity(r.Source, bset); err != nil {
		return cr, err
	}
	if cr.dst, err = compileCalEntity(r.Destination, bset); err != nil {
		return cr, err
	}
	b, _ := json.Marshal(r)
	cr.text = string(b)
	return cr, nil
}

func compileCalEntity(j calEntityJSON, bset map[uint32]struct{}) (calEntity, error) {
	var e calEntity
	var err error
	for _, n := range j.Nets {
		b, err := parseIPBlock(n, nil)
		if err != nil {
			return e, err
		}
		b.boundaries(bset)
		e.nets = append(e.nets, b)
	}
	for _, n := range j.NotNets {
		b, err := parseIPBlock(n, nil)
		if err != nil {
			return e, err
		}
		b.boundaries(bset)
		e.notNets = append(e.notNets, b)
	}
	if j.Selector != "" {
		if e.selector, err = parseCalicoSelector(j.Selector); err != nil {
			return e, err
		}
	}
	if j.NotSelector != "" {
		if e.notSel, err = parseCalicoSelector(j.NotSelector); err != nil {
			return e, err
		}
	}
	if j.NamespaceSelector != "" {
		if e.nsSel, err = parseCalicoSelector(j.NamespaceSelector); err != nil {
			return e, err
		}
	}
	if j.ServiceAccounts != nil {
		e.hasSA = true
		e.saNames = j.ServiceAccounts.Names
		if j.ServiceAccounts.Selector != "" {
			if e.saSel, err = parseCalicoSelector(j.ServiceAccounts.Selector); err != nil {
				return e, err
			}
		}
	}
	e.services = j.Services != nil
	parse := func(ps []intstr.IntOrString) ([]calPort, error) {
		var out []calPort
		for _, p := range ps {
			if p.Type == intstr.Int {
				out = append(out, calPort{lo: p.IntVal, hi: p.IntVal})
				continue
			}
			if lo, hi, ok := strings.Cut(p.StrVal, ":"); ok {
				l, err1 := strconv.Atoi(lo)
				h, err2 := strconv.Atoi(hi)
				if err1 != nil || err2 != nil || l > h {
					return nil, fmt.Errorf("port range %q", p.StrVal)
				}
				out = append(out, calPort{lo: int32(l), hi: int32(h)})
				continue
			}
			if n, err := strconv.Atoi(p.StrVal); err == nil {
				out = append(out, calPort{lo: int32(n), hi: int32(n)})
				continue
			}
			out = append(out, calPort{name: p.StrVal})
		}
		return out, nil
	}
	if e.ports, err = parse(j.Ports); err != nil {
		return e, err
	}
	if e.notPorts, err = parse(j.NotPorts); err != nil {
		return e, err
	}
	return e, nil
}

func (c *calicoSet) any() bool { return c != nil && c.policies > 0 }

// calicoLabels are the labels Calico gives a pod's workload endpoint.
func calicoLabels(s *side) map[string]string {
	if s.calLabels != nil {
		return s.calLabels
	}
	ls := make(map[string]string, len(s.labels)+3)
	for k, v := range s.labels {
		ls[k] = v
	}
	ls["projectcalico.org/namespace"] = s.ns
	ls["projectcalico.org/orchestrator"] = "k8s"
	if s.pod != nil {
		ls["projectcalico.org/serviceaccount"] = s.pod.Spec.ServiceAccountName
	}
	return ls
}

func calicoNSLabels(s *side) map[string]string {
	if s.calNSLabels != nil {
		return s.calNSLabels
	}
	ls := make(map[string]string, len(s.nsLabels)+1)
	for k, v := range s.nsLabels {
		ls[k] = v
	}
	ls["projectcalico.org/name"] = s.ns
	return ls
}

func (en *Engine) saLabels(s *side) map[string]string {
	if s.calSALabels != nil {
		return s.calSALabels
	}
	ls := map[string]string{}
	if s.pod == nil {
		return ls
	}
	if it := en.env.ServiceAccount(s.ns, s.pod.Spec.ServiceAccountName); it != nil {
		for k, v := range it.Obj.Labels {
			ls[k] = v
		}
	}
	ls["projectcalico.org/name"] = s.pod.Spec.ServiceAccountName
	return ls
}

// applies reports whether the policy selects the endpoint for dir.
func (en *Engine) calApplies(p *calPolicy, dir Direction, s *side) bool {
	if !s.policed || (dir == Ingress && !p.ingress) || (dir == Egress && !p.egress) {
		return false
	}
	if p.ns != "" && p.ns != s.ns {
		return false
	}
	if !p.selector.match(calicoLabels(s)) {
		return false
	}
	if p.nsSel != nil && !p.nsSel.match(calicoNSLabels(s)) {
		return false
	}
	if p.saSel != nil && !p.saSel.match(en.saLabels(s)) {
		return false
	}
	return true
}

// entityMatches matches one side of a connection against a rule's source or
// destination entity (all present fields must match).
func (en *Engine) entityMatches(e *calEntity, policyNS string, s *side, prof *Profile) bool {
	ipOK := func() (netip4 bool, match func(b ipBlockSpec) bool) {
		var ok bool
		var a = s.cur
		if s.curValid {
			ok = true
		} else if s.ip.known {
			a, ok = s.ip.addr, true
		}
		if !ok || !ipVisible(s, prof) {
			return false, nil
		}
		return true, func(b ipBlockSpec) bool { return b.contains(a) }
	}
	if len(e.nets) > 0 {
		ok, m := ipOK()
		if !ok {
			return false
		}
		hit := false
		for _, b := range e.nets {
			hit = hit || m(b)
		}
		if !hit {
			return false
		}
	}
	if len(e.notNets) > 0 {
		if ok, m := ipOK(); ok {
			for _, b := range e.notNets {
				if m(b) {
					return false
				}
			}
		}
	}
	needsEndpoint := e.selector != nil || e.nsSel != nil || e.hasSA || e.services
	if e.services {
		return false // Service-based entities are not modelled: never match
	}
	if needsEndpoint {
		if !s.policed {
			return false
		}
		if e.nsSel != nil {
			if !e.nsSel.match(calicoNSLabels(s)) {
				return false
			}
		} else if policyNS != "" && s.ns != policyNS {
			return false
		}
		if e.selector != nil && !e.selector.match(calicoLabels(s)) {
			return false
		}
		if e.hasSA {
			if len(e.saNames) > 0 {
				found := false
				for _, n := range e.saNames {
					found = found || (s.pod != nil && n == s.pod.Spec.ServiceAccountName)
				}
				if !found {
					return false
				}
			}
			if e.saSel != nil && !e.saSel.match(en.saLabels(s)) {
				return false
			}
		}
	}
	if e.notSel != nil && s.policed && e.notSel.match(calicoLabels(s)) {
		return false
	}
	return true
}

// rulePorts is the port set of a Calico rule towards the destination.
func (r *calRule) rulePorts(dst *side) PortSet {
	var protos []corev1.Protocol
	switch r.proto {
	case "":
		protos = Protocols
	case "TCP", "UDP", "SCTP":
		protos = []corev1.Protocol{corev1.Protocol(r.proto)}
	default:
		return PortSet{} // ICMP and others carry no ports
	}
	if r.notProto != "" {
		var keep []corev1.Protocol
		for _, p := range protos {
			if string(p) != r.notProto {
				keep = append(keep, p)
			}
		}
		protos = keep
	}
	if len(r.src.ports) > 0 {
		return PortSet{} // source ports are ephemeral: not modelled, never match
	}
	var out PortSet
	for _, p := range protos {
		if len(r.dst.ports) == 0 {
			out = out.Union(ProtoRange(p, 0, 0))
			continue
		}
		for _, cp := range r.dst.ports {
			if cp.name != "" {
				out = out.Union(dst.namedPort(cp.name, p))
				continue
			}
			out = out.Union(ProtoRange(p, max(cp.lo, 1), cp.hi))
		}
	}
	for _, p := range protos {
		for _, cp := range r.dst.notPorts {
			if cp.name != "" {
				out = out.Minus(dst.namedPort(cp.name, p))
				continue
			}
			out = out.Minus(ProtoRange(p, max(cp.lo, 1), cp.hi))
		}
	}
	return out
}

func (p *calPolicy) ref(rule, action string) RuleRef {
	kind := "projectcalico.org/" + p.kind
	return RuleRef{Kind: kind, Namespace: p.ns, Name: p.name, Rule: rule, Action: action, Loc: p.loc}
}

// calEntry is one policy of a tier as applied to an endpoint: a Calico
// policy or a Kubernetes one.
type calEntry struct {
	order    float64
	sortName string
	cal      *calPolicy
	kube     *kpolicy
}

func (en *Engine) calicoTiers(dir Direction, subj, peer *side, want PortSet) tierResult {
	res := tierResult{}
	remaining := want
	src, dst := peer, subj
	if dir == Egress {
		src, dst = subj, peer
	}
	for _, t := range en.calico.tiers {
		var entries []calEntry
		for _, p := range t.pols {
			if en.calApplies(p, dir, subj) {
				entries = append(entries, calEntry{order: p.order, sortName: p.sortName, cal: p})
			}
		}
		if t.hasKubeNative {
			for _, kp := range en.kubePolicies(dir, subj) {
				entries = append(entries, calEntry{order: 1000, sortName: kp.ns + "/knp.default." + kp.name, kube: kp})
			}
		}
		if len(entries) == 0 {
			continue
		}
		res.isolated = true
		sort.SliceStable(entries, func(i, j int) bool {
			if entries[i].order != entries[j].order {
				return entries[i].order < entries[j].order
			}
			return entries[i].sortName < entries[j].sortName
		})
		passed := PortSet{}
		for _, en2 := range entries {
			if remaining.Empty() {
				break
			}
			if kp := en2.kube; kp != nil {
				rules := kp.in
				if dir == Egress {
					rules = kp.eg
				}
				for i := range rules {
					r := &rules[i]
					if !en.ruleMatchesPeer(r, kp.ns, peer, subj.prof) {
						continue
					}
					ps := r.portsFor(dst, subj.prof).Intersect(remaining)
					if ps.Empty() {
						continue
					}
					res.accept = res.accept.Union(ps)
					remaining = remaining.Minus(ps)
					if !subj.quiet {
						res.decisions = append(res.decisions, decision{ports: ps, action: "Allow", ref: kp.ref(r.describe(string(dir)), "Allow")})
					}
				}
				continue
			}
			p := en2.cal
			rules := p.in
			if dir == Egress {
				rules = p.eg
			}
			for i := range rules {
				r := &rules[i]
				if !en.entityMatches(&r.src, p.ns, src, subj.prof) || !en.entityMatches(&r.dst, p.ns, dst, subj.prof) {
					continue
				}
				ps := r.rulePorts(dst).Intersect(remaining)
				if ps.Empty() || r.action == "Log" {
					continue
				}
				remaining = remaining.Minus(ps)
				switch r.action {
				case "Allow":
					res.accept = res.accept.Union(ps)
				case "Deny":
					res.deny = res.deny.Union(ps)
				case "Pass":
					passed = passed.Union(ps)
				}
				if !subj.quiet {
					res.decisions = append(res.decisions, decision{ports: ps, action: r.action, ref: p.ref(fmt.Sprintf("%s[%d]: %s", strings.ToLower(string(dir)), r.index, r.text), r.action)})
				}
			}
		}
		if !remaining.Empty() {
			if t.defaultPass {
				passed = passed.Union(remaining)
			} else {
				res.deny = res.deny.Union(remaining)
				if !subj.quiet {
					for _, e := range entries {
						if e.kube != nil {
							res.decisions = append(res.decisions, decision{ports: remaining, action: "Isolate", ref: e.kube.ref("", "Isolate")})
						} else {
							res.decisions = append(res.decisions, decision{ports: remaining, action: "Isolate", ref: e.cal.ref("end of tier "+t.name, "Isolate")})
						}
					}
				}
			}
		}
		remaining = passed
		if remaining.Empty() {
			break
		}
	}
	return res
}

// calicoBaseline: a Calico policy applying to every endpoint of ns for
// ingress whose rules end in deny (no allow-all rule).
func (en *Engine) calicoBaseline(ns string) bool {
	if !en.linux.Calico || !en.calico.any() {
		return false
	}
	probe := &side{policed: true, ns: ns, labels: map[string]string{}, nsLabels: en.nsLabels[ns], cls: -1, prof: &en.linux}
	for _, t := range en.calico.tiers {
		for _, p := range t.pols {
			if _, all := p.selector.(selAll); !all || !p.ingress {
				continue
			}
			if !en.calApplies(p, Ingress, probe) {
				continue
			}
			allowAll := false
			for _, r := range p.in {
				if r.action == "Allow" && !r.src.present && r.proto == "" && len(r.dst.ports) == 0 && r.src.selector == nil && r.src.nsSel == nil && len(r.src.nets) == 0 {
					allowAll = true
				}
			}
			if !allowAll {
				return true
			}
		}
	}
	return false
}
