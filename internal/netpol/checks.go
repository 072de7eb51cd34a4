package netpol

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/source"
)

// The network layer's rules.
var (
	RuleNotEnforced = finding.Rule{ID: "AKS-NET-001", Layer: finding.LayerNetwork, Severity: finding.Critical,
		Title: "NetworkPolicies exist but the cluster has no network policy engine (networkPolicy none): nothing enforces them"}
	RuleNoDefaultDeny = finding.Rule{ID: "AKS-NET-002", Layer: finding.LayerNetwork, Severity: finding.Medium,
		Title: "Namespace without a default-deny ingress baseline"}
	RuleUnselectedPods = finding.Rule{ID: "AKS-NET-003", Layer: finding.LayerNetwork, Severity: finding.Low,
		Title: "Pods selected by no NetworkPolicy in a namespace that has policies"}
	RuleSelectsNothing = finding.Rule{ID: "AKS-NET-004", Layer: finding.LayerNetwork, Severity: finding.Low,
		Title: "NetworkPolicy selects no pod"}
	RulePeerMatchesNothing = finding.Rule{ID: "AKS-NET-005", Layer: finding.LayerNetwork, Severity: finding.Low,
		Title: "NetworkPolicy peer matches no pod"}
	RuleNoDNS = finding.Rule{ID: "AKS-NET-006", Layer: finding.LayerNetwork, Severity: finding.High,
		Title: "Egress is denied without an allow for DNS (UDP and TCP 53 to kube-dns in kube-system)"}
	RuleAllowAllUndoesDeny = finding.Rule{ID: "AKS-NET-007", Layer: finding.LayerNetwork, Severity: finding.Medium,
		Title: "An allow-all rule undoes a deny-all policy"}
	RuleProbes = finding.Rule{ID: "AKS-NET-008", Layer: finding.LayerNetwork, Severity: finding.Info,
		Title: "Kubelet health probes under deny-all ingress with this cluster's engine"}
	RuleInternetExposed = finding.Rule{ID: "AKS-NET-009", Layer: finding.LayerNetwork, Severity: finding.High,
		Title: "Workload reachable from the internet through a LoadBalancer or NodePort Service"}
	RuleInvalidPolicy = finding.Rule{ID: "AKS-NET-010", Layer: finding.LayerNetwork, Severity: finding.Medium,
		Title: "NetworkPolicy the API server would reject"}
	RuleEngineIgnores = finding.Rule{ID: "AKS-NET-011", Layer: finding.LayerNetwork, Severity: finding.Medium,
		Title: "Policy feature this cluster's engine does not honour"}
	RuleUnsupportedKinds = finding.Rule{ID: "AKS-NET-012", Layer: finding.LayerNetwork, Severity: finding.Medium,
		Title: "Calico or admin network policies present that this cluster's engine does not enforce"}
	RuleNamedPortUndefined = finding.Rule{ID: "AKS-NET-013", Layer: finding.LayerNetwork, Severity: finding.Low,
		Title: "Named port that no destination pod defines"}
)

// Rules returns the network layer's rules.
func Rules() []finding.Rule {
	return []finding.Rule{RuleNotEnforced, RuleNoDefaultDeny, RuleUnselectedPods, RuleSelectsNothing, RulePeerMatchesNothing,
		RuleNoDNS, RuleAllowAllUndoesDeny, RuleProbes, RuleInternetExposed, RuleInvalidPolicy, RuleEngineIgnores, RuleUnsupportedKinds, RuleNamedPortUndefined}
}

// SystemNamespaces are the namespaces AKS and its add-ons own; the
// default-deny baseline is not asked of them.
var SystemNamespaces = []string{"kube-system", "kube-public", "kube-node-lease", "gatekeeper-system", "calico-system", "calico-apiserver",
	"tigera-operator", "app-routing-system", "aks-istio-system", "aks-istio-ingress", "aks-istio-egress", "aks-command",
	"dataprotection-microsoft", "azure-extensions-usage-system", "kube-flannel"}

func isSystem(ns string) bool {
	for _, s := range SystemNamespaces {
		if s == ns {
			return true
		}
	}
	return false
}

// Check returns every finding of the network layer.
func Check(ctx context.Context, e *env.Environment) []finding.Finding {
	return New(e).Check(ctx)
}

// Check returns every finding of the network layer on the prepared engine.
func (en *Engine) Check(ctx context.Context) []finding.Finding {
	var out []finding.Finding
	prof := en.linux
	npObj := func(kp *kpolicy) finding.Object {
		return finding.Object{Kind: "NetworkPolicy", Namespace: kp.ns, Name: kp.name}
	}
	// 001: nothing enforces.
	if !prof.Enforced && (len(en.kpols) > 0 || en.calico.any()) {
		loc := source.Location{}
		if en.env.Cluster != nil {
			loc = en.env.Cluster.Src
		}
		var ev []finding.Evidence
		for i, kp := range en.kpols {
			if i == 5 {
				ev = append(ev, finding.Evidence{Text: fmt.Sprintf("and %d more NetworkPolicies", len(en.kpols)-5)})
				break
			}
			ev = append(ev, finding.Evidence{Loc: kp.loc, Text: fmt.Sprintf("NetworkPolicy %s/%s is not enforced", kp.ns, kp.name)})
		}
		name := "cluster"
		if en.env.Cluster != nil {
			name = en.env.Cluster.Name
		}
		out = append(out, RuleNotEnforced.New(finding.Object{Kind: "ManagedCluster", Name: name}, loc,
			fmt.Sprintf("%d NetworkPolicies exist but networkProfile.networkPolicy is none: every connection is allowed", len(en.kpols)),
			"Enable an engine: az aks update -g <rg> -n <cluster> --network-policy cilium (or azure/calico), then verify with akssec reach", ev...))
	}
	// 010 and 011: invalid policies, engine-specific features.
	for _, kp := range en.kpols {
		if kp.invalid != "" {
			out = append(out, RuleInvalidPolicy.New(npObj(kp), kp.loc, "the API server rejects this policy: "+kp.invalid,
				"Fix the policy so that it validates (kubectl apply --dry-run=server); akssec ignores it, as the cluster would."))
			continue
		}
		if en.hasWindows && prof.Name == profileNPMLinux.Name && kp.windowsUnsupported != "" {
			out = append(out, RuleEngineIgnores.New(npObj(kp), kp.loc,
				fmt.Sprintf("Azure NPM on Windows nodes cannot translate %s, so this policy is not applied to Windows pods", kp.windowsUnsupported),
				"Use numeric ports, TCP/UDP, In/Exists selectors and ipBlocks without except for policies that select Windows pods."))
		}
		if !prof.EndPort && prof.Enforced {
			for _, rs := range [][]krule{kp.in, kp.eg} {
				for _, r := range rs {
					for _, p := range r.ports {
						if p.end != p.port {
							out = append(out, RuleEngineIgnores.New(npObj(kp), kp.loc,
								fmt.Sprintf("%s ignores endPort: the rule admits port %d/%s only, not %d-%d", prof.Name, p.port, p.proto, p.port, p.end),
								"Upgrade the cluster (Cilium 1.16+, AKS Kubernetes 1.31+) or list the ports one by one."))
						}
					}
				}
			}
		}
		if prof.Name == profileNPMLinux.Name {
			n := 0
			for _, rs := range [][]krule{kp.in, kp.eg} {
				for _, r := range rs {
					for _, p := range r.peers {
						if p.ipb != nil {
							n++
						}
					}
				}
			}
			if n > 4 {
				out = append(out, RuleEngineIgnores.New(npObj(kp), kp.loc,
					fmt.Sprintf("%d ipBlock sections: Azure NPM has a race when editing or deleting large policies with many ipBlocks; AKS advises at most 4", n),
					"Split the policy or merge CIDRs so that each policy has at most 4 ipBlock sections."))
			}
		}
		if prof.Name == profileCilium.Name {
			for _, rs := range [][]krule{kp.in, kp.eg} {
				for _, r := range rs {
					for _, p := range r.peers {
						if p.ipb != nil && en.cidrCoversPods(p.ipb) {
							out = append(out, RuleEngineIgnores.New(npObj(kp), kp.loc,
								fmt.Sprintf("ipBlock %s covers pod or node addresses, which Cilium never matches by CIDR: the rule does not admit pods or nodes", p.ipb.text),
								"Select in-cluster peers with podSelector/namespaceSelector (namespaceSelector: {} for all pods) instead of an ipBlock."))
						}
					}
				}
			}
		}
	}
	for _, bad := range append(append([]calInvalid{}, en.calico.invalid...), en.admin.invalid...) {
		out = append(out, RuleInvalidPolicy.New(finding.Object{Kind: bad.kind, Namespace: bad.ns, Name: bad.name}, bad.loc,
			"akssec cannot read this policy (the API server would reject it): "+bad.problem,
			"Fix the policy so that it validates; akssec leaves it out of every decision."))
	}
	if (en.calico.any() && !prof.Calico) || ((en.admin.anp() || en.admin.banp()) && !prof.AdminPolicies) {
		all := append(append(append([]env.Item[unstructuredObj]{}, toItems(en.env.CalicoPolicies)...), toItems(en.env.CalicoGlobalPolicies)...), toItems(en.env.AdminNetworkPolicies)...)
		for _, it := range all {
			isCalico := it.Obj.GetAPIVersion() != "" && strings.HasPrefix(it.Obj.GetAPIVersion(), "projectcalico.org")
			if (isCalico && prof.Calico) || (!isCalico && prof.AdminPolicies) {
				continue
			}
			out = append(out, RuleUnsupportedKinds.New(finding.Object{Kind: it.Obj.GetKind(), Namespace: it.Obj.GetNamespace(), Name: it.Obj.GetName()}, it.Loc,
				fmt.Sprintf("%s is not enforced by this cluster's engine (%s)", it.Obj.GetKind(), prof.Name),
				"Express the rule as a Kubernetes NetworkPolicy, or move to an engine that enforces this kind."))
		}
	}
	// 002: namespaces without a default-deny ingress baseline.
	skippedText := "AKS system namespaces are not asked for a baseline: " + strings.Join(SystemNamespaces, ", ")
	for _, ns := range en.env.NamespaceNames() {
		if isSystem(ns) {
			continue
		}
		if en.hasIngressBaseline(ns) {
			continue
		}
		loc := source.Location{}
		if it := en.env.Namespace(ns); it != nil {
			loc = it.Loc
		}
		reason := fmt.Sprintf("no NetworkPolicy in %s selects every pod for ingress without allowing all: pods are reachable from anywhere until a policy selects them", ns)
		out = append(out, RuleNoDefaultDeny.New(finding.Object{Kind: "Namespace", Name: ns}, loc, reason,
			fmt.Sprintf("kubectl apply -n %s -f - <<EOF\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny-ingress\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\nEOF", ns),
			finding.Evidence{Text: skippedText}))
	}
	// 003: pods selected by no policy, in namespaces with policies.
	for _, ns := range en.env.NamespaceNames() {
		if isSystem(ns) || len(en.kByNS[ns]) == 0 {
			continue
		}
		seen := map[string]bool{}
		for _, p := range en.env.PodsIn(ns) {
			if p.Spec.HostNetwork {
				continue
			}
			c := en.cl.list[en.cl.byPod[p]]
			if len(c.inPols) > 0 || len(c.egPols) > 0 {
				continue
			}
			ref := p.Ref()
			if seen[ref] {
				continue
			}
			seen[ref] = true
			out = append(out, RuleUnselectedPods.New(finding.Object{Kind: "Pod", Namespace: ns, Name: p.Name}, p.Loc,
				fmt.Sprintf("%s is selected by no NetworkPolicy: all ingress and egress are allowed", ref),
				"Add a default-deny policy (podSelector: {}) to the namespace, or a policy whose podSelector matches these labels."))
		}
	}
	// 004, 005: selecting nothing, peers matching nothing.
	for _, kp := range en.kpols {
		if kp.invalid != "" {
			continue
		}
		matched := en.env.PodsMatching(kp.ns, kp.podSel)
		hostOnly := len(matched) > 0
		for _, p := range matched {
			hostOnly = hostOnly && p.Spec.HostNetwork
		}
		switch {
		case len(matched) == 0:
			out = append(out, RuleSelectsNothing.New(npObj(kp), kp.loc,
				fmt.Sprintf("podSelector %s matches no pod in %s", showSelector(&kp.obj.Spec.PodSelector), kp.ns),
				"Fix the podSelector labels or delete the policy."))
		case hostOnly:
			out = append(out, RuleSelectsNothing.New(npObj(kp), kp.loc,
				fmt.Sprintf("podSelector %s matches only host-network pods, which no AKS engine polices (their traffic is the node's)", showSelector(&kp.obj.Spec.PodSelector)),
				"Protect host-network workloads with node-level controls (NSGs); a NetworkPolicy has no effect on them."))
		}
		en.checkNamedPorts(kp, matched, &out)
		for dir, rs := range map[string][]krule{"ingress": kp.in, "egress": kp.eg} {
			for _, r := range rs {
				for _, p := range r.peers {
					if p.ipb != nil || en.peerMatchesAny(p, kp.ns) {
						continue
					}
					out = append(out, RulePeerMatchesNothing.New(npObj(kp), kp.loc,
						fmt.Sprintf("%s rule %d: peer %s matches no pod", dir, r.index, p.text),
						"Fix the selector labels (namespaces carry kubernetes.io/metadata.name), or remove the peer."))
				}
			}
		}
	}
	out = append(out, en.checkDNS()...)
	out = append(out, en.checkAllowAll()...)
	out = append(out, en.checkProbes()...)
	out = append(out, en.checkInternet()...)
	finding.Sort(out)
	return out
}

type unstructuredObj = unstructuredT

func (en *Engine) cidrCoversPods(b *ipBlockSpec) bool {
	for _, r := range en.podCIDR {
		if b.contains(addr4(r.lo)) || b.contains(addr4(r.hi)) {
			return true
		}
	}
	return false
}

// peerMatchesAny reports whether a selector peer matches some pod. A peer
// that reaches into a namespace whose pods the snapshot does not hold
// (kube-system is rarely captured) counts as matching: nothing is known.
func (en *Engine) peerMatchesAny(p *kpeer, policyNS string) bool {
	if p.nsSel != nil {
		for _, sys := range SystemNamespaces {
			if _, held := en.nsLabels[sys]; !held && p.nsSel.Matches(labels.Set{"kubernetes.io/metadata.name": sys}) {
				return true // a system namespace the snapshot does not hold
			}
		}
	}
	for _, ns := range en.env.NamespaceNames() {
		nl := en.nsLabels[ns]
		if p.nsSel == nil && ns != policyNS || p.nsSel != nil && !p.nsSel.Matches(nl) {
			continue
		}
		if len(en.env.PodsIn(ns)) == 0 {
			return true
		}
	}
	// The classes the peer selects (non-host-network pods only).
	for _, w := range en.cl.peerBits[p.id] {
		if w != 0 {
			return true
		}
	}
	return false
}

// allowsAll reports whether a rule admits every peer on every port.
func (r *krule) allowsAll() bool { return r.allPeers && r.allPorts }

// hasIngressBaseline: a policy of the namespace selects every pod for
// ingress and has no allow-all rule.
func (en *Engine) hasIngressBaseline(ns string) bool {
	for _, kp := range en.kByNS[ns] {
		if kp.invalid != "" || !kp.selAll || !kp.ingress {
			continue
		}
		all := false
		for _, r := range kp.in {
			all = all || r.allowsAll()
		}
		if !all {
			return true
		}
	}
	return en.calicoBaseline(ns)
}

// kubeDNS is the destination of the DNS check: the kube-dns pods of the
// snapshot, or a stand-in with AKS's labels.
func (en *Engine) kubeDNS() *env.Pod {
	for _, p := range en.env.PodsIn("kube-system") {
		if p.Labels["k8s-app"] == "kube-dns" {
			return p
		}
	}
	return &env.Pod{Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns", Labels: map[string]string{"k8s-app": "kube-dns"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "coredns", Ports: []corev1.ContainerPort{
			{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP}}}}}}}
}

func (en *Engine) checkDNS() []finding.Finding {
	if !en.linux.Enforced {
		return nil
	}
	dns := en.kubeDNS()
	var out []finding.Finding
	for _, ns := range en.env.NamespaceNames() {
		if ns == "kube-system" {
			continue
		}
		var isolatedBy map[*kpolicy]bool
		var missing []string
		var example *env.Pod
		for _, c := range en.cl.list {
			if c.ns != ns || c.rep.Spec.HostNetwork {
				continue
			}
			udp := en.reachSet(PodEndpoint(c.rep), PodEndpoint(dns), Port(corev1.ProtocolUDP, 53))
			tcp := en.reachSet(PodEndpoint(c.rep), PodEndpoint(dns), Port(corev1.ProtocolTCP, 53))
			if udp.Egress.Allowed && tcp.Egress.Allowed {
				continue
			}
			if isolatedBy == nil {
				isolatedBy = map[*kpolicy]bool{}
			}
			for _, kp := range c.egPols {
				isolatedBy[kp] = true
			}
			if !udp.Egress.Allowed {
				missing = append(missing, "UDP 53")
			}
			if !tcp.Egress.Allowed {
				missing = append(missing, "TCP 53")
			}
			if example == nil {
				example = c.rep
			}
		}
		if isolatedBy == nil {
			continue
		}
		var pols []*kpolicy
		for kp := range isolatedBy {
			pols = append(pols, kp)
		}
		sort.Slice(pols, func(i, j int) bool { return pols[i].name < pols[j].name })
		var ev []finding.Evidence
		obj := finding.Object{Kind: "Namespace", Name: ns}
		loc := source.Location{}
		for _, kp := range pols {
			ev = append(ev, finding.Evidence{Loc: kp.loc, Text: fmt.Sprintf("NetworkPolicy %s/%s isolates egress", kp.ns, kp.name)})
		}
		if len(pols) > 0 {
			obj = finding.Object{Kind: "NetworkPolicy", Namespace: ns, Name: pols[0].name}
			loc = pols[0].loc
		}
		out = append(out, RuleNoDNS.New(obj, loc,
			fmt.Sprintf("pods in %s (e.g. %s) may not reach kube-dns on %s: name resolution fails", ns, example.Ref(), strings.Join(dedupe(missing), " and ")),
			fmt.Sprintf("kubectl apply -n %s -f - <<EOF\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-dns\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - to:\n    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n      podSelector: {matchLabels: {k8s-app: kube-dns}}\n    ports:\n    - {protocol: UDP, port: 53}\n    - {protocol: TCP, port: 53}\nEOF", ns),
			ev...))
	}
	return out
}

func (en *Engine) checkAllowAll() []finding.Finding {
	var out []finding.Finding
	for _, ns := range en.env.NamespaceNames() {
		for _, deny := range en.kByNS[ns] {
			if deny.invalid != "" || !deny.selAll {
				continue
			}
			for _, dir := range []Direction{Ingress, Egress} {
				rules := deny.in
				has := deny.ingress
				if dir == Egress {
					rules, has = deny.eg, deny.egress
				}
				if !has || len(rules) != 0 {
					continue
				}
				for _, allow := range en.kByNS[ns] {
					if allow == deny || allow.invalid != "" {
						continue
					}
					ars := allow.in
					ahas := allow.ingress
					if dir == Egress {
						ars, ahas = allow.eg, allow.egress
					}
					if !ahas {
						continue
					}
					for _, r := range ars {
						if !r.allowsAll() {
							continue
						}
						out = append(out, RuleAllowAllUndoesDeny.New(finding.Object{Kind: "NetworkPolicy", Namespace: ns, Name: allow.name}, allow.loc,
							fmt.Sprintf("%s rule %d allows all %s for the pods it selects, undoing deny-all policy %s for them", strings.ToLower(string(dir)), r.index, strings.ToLower(string(dir)), deny.name),
							"Replace the empty rule ({}) with the peers and ports the pods need.",
							finding.Evidence{Loc: deny.loc, Text: fmt.Sprintf("deny-all %s policy %s/%s", strings.ToLower(string(dir)), ns, deny.name)}))
					}
				}
			}
		}
	}
	return out
}

func hasNetProbe(p *env.Pod) bool {
	for _, c := range p.Spec.Containers {
		for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
			if pr != nil && (pr.HTTPGet != nil || pr.TCPSocket != nil || pr.GRPC != nil) {
				return true
			}
		}
	}
	return false
}

// checkProbes states once for the cluster whether "deny-all ingress
// breaks kubelet health probes" holds under its engine and node OS, with
// the namespaces whose pods are isolated for ingress as evidence (pods
// with network probes first).
func (en *Engine) checkProbes() []finding.Finding {
	var ev []finding.Evidence
	var isolatedNS []string
	seenNS := map[string]bool{}
	var loc source.Location
	for _, c := range en.cl.list {
		if len(c.inPols) == 0 || seenNS[c.ns] {
			continue
		}
		seenNS[c.ns] = true
		isolatedNS = append(isolatedNS, c.ns)
		if loc.File == "" {
			loc = c.inPols[0].loc
		}
	}
	if len(isolatedNS) == 0 {
		return nil
	}
	sort.Strings(isolatedNS)
	for _, c := range en.cl.list {
		if len(c.inPols) == 0 {
			continue
		}
		for _, p := range c.pods {
			if hasNetProbe(p) && len(ev) < 10 {
				ev = append(ev, finding.Evidence{Loc: p.Loc, Text: fmt.Sprintf("%s has network probes and is isolated for ingress by %s/%s", p.Ref(), c.inPols[0].ns, c.inPols[0].name)})
				break
			}
		}
	}
	ev = append(ev, finding.Evidence{Loc: loc, Text: "namespaces with pods isolated for ingress: " + abbreviate(isolatedNS, 20)})
	prof := en.linux
	var reason string
	switch {
	case !prof.Enforced:
		reason = "no engine enforces policy (networkPolicy none): probes are unaffected, as is everything else"
	case prof.NodeLocalIngress:
		reason = fmt.Sprintf("the claim \"deny-all ingress breaks health probes\" does NOT hold on this cluster: under %s the pod's own node (the kubelet) may always connect to it (NetworkPolicy S4; reference §3). Probes whose host points elsewhere, and load balancer health checks from other nodes, are still subject to the policy", prof.Name)
	default:
		reason = "under this engine the kubelet is subject to ingress policy: deny-all ingress breaks probes"
	}
	if en.hasWindows && prof.Name == profileNPMLinux.Name {
		reason += ". On the Windows node pools (Azure NPM for Windows) the claim held until ACN PR #1887 (April 2023); current NPM allows node → pod through its NodeIP ACL, so it does not hold there either"
	}
	name := "cluster"
	if en.env.Cluster != nil {
		name = en.env.Cluster.Name
		loc = en.env.Cluster.Src
	}
	return []finding.Finding{RuleProbes.New(finding.Object{Kind: "ManagedCluster", Name: name}, loc, reason,
		"Nothing to change for probes from the pod's own node; allow load balancer health checks explicitly where a Service needs them.", ev...)}
}

func (en *Engine) checkInternet() []finding.Finding {
	var out []finding.Finding
	for _, it := range en.env.Services {
		svc := it.Obj
		if svc.Spec.Type != corev1.ServiceTypeLoadBalancer && svc.Spec.Type != corev1.ServiceTypeNodePort {
			continue
		}
		if svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true" {
			continue
		}
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		pods := en.env.PodsMatching(svc.Namespace, labels.SelectorFromSet(svc.Spec.Selector))
		seen := map[string]bool{}
		for _, p := range pods {
			if seen[p.Ref()] {
				continue
			}
			seen[p.Ref()] = true
			for _, sp := range svc.Spec.Ports {
				var want PortSet
				if sp.TargetPort.Type == intstr.String {
					want = en.sideOf(PodEndpoint(p)).namedPort(sp.TargetPort.StrVal, sp.Protocol)
				} else {
					t := sp.TargetPort.IntVal
					if t == 0 {
						t = sp.Port
					}
					want = Port(sp.Protocol, t)
				}
				if want.Empty() {
					continue
				}
				v := en.reachSet(InternetEndpoint(), PodEndpoint(p), want)
				if !v.Allowed {
					continue
				}
				how := v.Ingress.Reason
				if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
					how += "; with externalTrafficPolicy Cluster the client address may reach the pod SNATed to a node address (implementation-defined, S11)"
				}
				out = append(out, RuleInternetExposed.New(finding.Object{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name}, it.Loc,
					fmt.Sprintf("%s Service %s/%s port %d exposes %s on %s to the internet: %s", svc.Spec.Type, svc.Namespace, svc.Name, sp.Port, p.Ref(), want, how),
					"Restrict ingress to the pods with a NetworkPolicy (ipBlock of the allowed client ranges), set loadBalancerSourceRanges, or make the load balancer internal.",
					finding.Evidence{Loc: p.Loc, Text: fmt.Sprintf("%s: ingress %s", p.Ref(), how)}))
				break
			}
		}
	}
	return out
}

// checkNamedPorts reports named ports that resolve on no destination pod:
// for ingress the pods the policy selects, for egress the pods its peers
// select (every pod for a rule without peers).
func (en *Engine) checkNamedPorts(kp *kpolicy, selected []*env.Pod, out *[]finding.Finding) {
	has := func(pods []*env.Pod, name string, proto corev1.Protocol) bool {
		for _, p := range pods {
			for _, c := range p.Spec.Containers {
				for _, cp := range c.Ports {
					if cp.Name == name && cp.Protocol == proto {
						return true
					}
				}
			}
		}
		return false
	}
	for _, dir := range []Direction{Ingress, Egress} {
		rules := kp.in
		if dir == Egress {
			rules = kp.eg
		}
		for _, r := range rules {
			var named []kport
			for _, p := range r.ports {
				if p.name != "" {
					named = append(named, p)
				}
			}
			if len(named) == 0 {
				continue
			}
			dsts := selected
			if dir == Egress {
				dsts = nil
				for _, p := range en.env.Pods {
					if p.Spec.HostNetwork {
						continue
					}
					s := en.sideOf(PodEndpoint(p))
					if r.allPeers {
						dsts = append(dsts, p)
						continue
					}
					for _, pr := range r.peers {
						if pr.ipb == nil && matchSelectors(pr, kp.ns, p.Namespace, s.nsLabels, s.labels) {
							dsts = append(dsts, p)
							break
						}
					}
				}
				if len(dsts) == 0 {
					continue // the peers reach outside the snapshot
				}
			}
			for _, p := range named {
				if has(dsts, p.name, p.proto) {
					continue
				}
				*out = append(*out, RuleNamedPortUndefined.New(finding.Object{Kind: "NetworkPolicy", Namespace: kp.ns, Name: kp.name}, kp.loc,
					fmt.Sprintf("%s rule %d names port %q/%s, which no destination pod defines: the rule admits nothing on it", strings.ToLower(string(dir)), r.index, p.name, p.proto),
					"Name the container port in the pod template (ports[].name) with the same protocol, or use the port number."))
			}
		}
	}
}
