package netpol

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/env"
)

// Explanation is the reasoning of "why can SRC not reach DST:PORT" (the
// seed's Lab 3): which policy isolates the destination (or the source for
// egress), which allow is missing, and the smallest NetworkPolicy that
// would allow exactly this flow.
type Explanation struct {
	Answer    Answer
	Reachable bool
	// Steps are the reasoning, in order, for people.
	Steps []string
	// Isolating are the policies that isolate the destination for ingress
	// or the source for egress, and any explicit Deny rule that matched.
	Isolating []RuleRef
	// Missing says which allow rule is missing, per direction.
	Missing []string
	// Fix is the NetworkPolicy YAML (one document per missing direction)
	// that allows exactly this flow.
	Fix string
}

// ExplainUnreachable answers q and, when it is denied, says why and what
// would allow it.
func (en *Engine) ExplainUnreachable(q Query) (Explanation, error) {
	ans, err := en.Ask(q)
	if err != nil {
		return Explanation{}, err
	}
	x := Explanation{Answer: ans, Reachable: ans.Allowed}
	v := ans.Verdict
	x.Steps = append(x.Steps, fmt.Sprintf("engine: %s", v.Plugin))
	if ans.Allowed {
		x.Steps = append(x.Steps, fmt.Sprintf("%s → %s is allowed: egress %s; ingress %s", ans.From, ans.To, v.Egress.Reason, v.Ingress.Reason))
		return x, nil
	}
	ns := q.Namespace
	if ns == "" {
		ns = "default"
	}
	src, _ := en.resolveIn(q.From, ns)
	dst, _ := en.resolveIn(q.To, ns)
	var sEP, dEP Endpoint
	for _, s := range src.eps {
		if s.String() == ans.From {
			sEP = s
		}
	}
	for _, d := range dst.eps {
		if d.String() == ans.To {
			dEP = d
		}
	}
	want, _, _ := en.wantPorts(dst.service, dEP, q.Port, corev1.Protocol(strings.ToUpper(q.Protocol)))
	step := func(dir string, d DirectionVerdict, at string) {
		if d.Allowed {
			x.Steps = append(x.Steps, fmt.Sprintf("%s at %s: allowed — %s", dir, at, d.Reason))
			return
		}
		x.Steps = append(x.Steps, fmt.Sprintf("%s at %s: denied — %s", dir, at, d.Reason))
		x.Isolating = append(x.Isolating, d.Policies...)
		explicit := false
		for _, p := range d.Policies {
			explicit = explicit || p.Action == "Deny"
		}
		if explicit {
			x.Missing = append(x.Missing, fmt.Sprintf("%s: an explicit Deny rule matches first; an allow must come before it (a lower order or higher-priority tier), a NetworkPolicy alone will not do", dir))
		}
	}
	step("egress", v.Egress, ans.From)
	step("ingress", v.Ingress, ans.To)
	var docs []string
	if !v.Egress.Allowed && sEP.Kind == KindPod {
		x.Missing = append(x.Missing, fmt.Sprintf("egress: no rule of the policies isolating %s allows %s on %s", ans.From, ans.To, want))
		docs = append(docs, en.fixPolicy(Egress, sEP.Pod, dEP, want, q))
	}
	if !v.Ingress.Allowed && dEP.Kind == KindPod {
		x.Missing = append(x.Missing, fmt.Sprintf("ingress: no rule of the policies isolating %s admits %s on %s", ans.To, ans.From, want))
		docs = append(docs, en.fixPolicy(Ingress, dEP.Pod, sEP, want, q))
	}
	x.Fix = strings.Join(docs, "---\n")
	return x, nil
}

// selectorLabels picks the labels that select the pod's group: its
// workload's template labels, preferring the conventional app labels.
func selectorLabels(p *env.Pod) map[string]string {
	for _, k := range []string{"app.kubernetes.io/name", "app", "k8s-app", "name", "component", "tier", "role"} {
		if v, ok := p.Labels[k]; ok {
			return map[string]string{k: v}
		}
	}
	out := map[string]string{}
	for k, v := range p.Labels {
		if k == "pod-template-hash" || k == "controller-revision-hash" || k == "statefulset.kubernetes.io/pod-name" {
			continue
		}
		out[k] = v
	}
	return out
}

func (en *Engine) fixPolicy(dir Direction, subj *env.Pod, peer Endpoint, want PortSet, q Query) string {
	np := networkingv1.NetworkPolicy{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}}
	np.Namespace = subj.Namespace
	var peerSel []networkingv1.NetworkPolicyPeer
	peerName := "peer"
	switch peer.Kind {
	case KindPod:
		pl := selectorLabels(peer.Pod)
		pr := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: pl}}
		if peer.Pod.Namespace != subj.Namespace {
			pr.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": peer.Pod.Namespace}}
		}
		peerSel = []networkingv1.NetworkPolicyPeer{pr}
		peerName = firstValue(pl, peer.Pod.Name)
	case KindIP:
		bits := 32
		if peer.IP.Is6() {
			bits = 128
		}
		peerSel = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: fmt.Sprintf("%s/%d", peer.IP, bits)}}}
		peerName = "ip"
	case KindInternet:
		peerSel = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}}}}
		peerName = "internet"
	case KindNode:
		cidr := "10.224.0.0/16 # replace with the node subnet"
		if a, ok := en.nodeIP[peer.Node]; ok {
			cidr = a.String() + "/32"
		}
		peerSel = []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr}}}
		peerName = "node"
	}
	var ports []networkingv1.NetworkPolicyPort
	if !want.All() {
		for _, sp := range want.spans {
			proto := Protocols[sp.lo>>16]
			lo, hi := int32(sp.lo&0xffff), int32(sp.hi&0xffff)
			if lo == 1 && hi == 65535 {
				pr := proto
				ports = append(ports, networkingv1.NetworkPolicyPort{Protocol: &pr})
				continue
			}
			pr := proto
			port := intstr.FromInt32(lo)
			npp := networkingv1.NetworkPolicyPort{Protocol: &pr, Port: &port}
			if hi != lo {
				end := hi
				npp.EndPort = &end
			}
			ports = append(ports, npp)
		}
	}
	subjName := firstValue(selectorLabels(subj), subj.Name)
	np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: selectorLabels(subj)}
	if dir == Ingress {
		np.Name = fmt.Sprintf("allow-%s-to-%s", peerName, subjName)
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: peerSel, Ports: ports}}
	} else {
		np.Name = fmt.Sprintf("allow-%s-egress-to-%s", subjName, peerName)
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{To: peerSel, Ports: ports}}
	}
	b, err := yaml.Marshal(np)
	if err != nil {
		return ""
	}
	s := strings.Replace(string(b), "  creationTimestamp: null\n", "", 1)
	return s
}

func firstValue(m map[string]string, def string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "app" || k == "app.kubernetes.io/name" {
			return m[k]
		}
	}
	if len(keys) > 0 {
		return m[keys[0]]
	}
	return def
}
