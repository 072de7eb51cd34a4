package netpol

import (
	"strconv"
	"strings"

	"github.com/akssec/akssec/internal/azure"
)

// Profile is what one policy engine does at the points the NetworkPolicy
// specification leaves to the implementation (reference §2, §7.2). The
// engine answers with the profile that enforces each side of a connection:
// egress at the source's node, ingress at the destination's.
type Profile struct {
	// Name identifies the profile: upstream, azure-npm-linux,
	// azure-npm-windows, calico, cilium, none.
	Name string
	// Engine is networkProfile.networkPolicy as AKS names it ("" for the
	// upstream profile used without aks.json).
	Engine string
	// Enforced is false when no engine enforces NetworkPolicy (none).
	Enforced bool
	// IPBlockMatchesPods: ipBlock peers match pod IPs (NPM, Calico, upstream
	// conformance; not Cilium).
	IPBlockMatchesPods bool
	// IPBlockMatchesNodes: ipBlock peers match node IPs (and so host-network
	// pods); not on Cilium.
	IPBlockMatchesNodes bool
	// NodeLocalIngress: a pod's own node may always connect to it (S4):
	// kubelet probes work under deny-all ingress.
	NodeLocalIngress bool
	// NodeLocalEgress: a pod's traffic to its own node is not subject to its
	// egress policy (NPM filters FORWARD only; not Calico, not Cilium).
	NodeLocalEgress bool
	// EndPort: port ranges are honoured; without it only port applies.
	EndPort bool
	// Windows NPM cannot translate policies with named ports, SCTP,
	// negative selectors (NotIn, DoesNotExist) or except CIDRs; such a policy
	// is not applied at all on Windows nodes.
	NamedPorts, SCTP, NegativeSelectors, ExceptCIDRs bool
	// Calico: projectcalico.org policies are enforced, with Kubernetes
	// policies ordered among them (order 1000 in the default tier).
	Calico bool
	// AdminPolicies: AdminNetworkPolicy / BaselineAdminNetworkPolicy are
	// enforced.
	AdminPolicies bool
	// Notes say which implementation-defined behaviour the profile applies.
	Notes []string
}

var (
	profileUpstream = Profile{Name: "upstream", Enforced: true, IPBlockMatchesPods: true, IPBlockMatchesNodes: true,
		NodeLocalIngress: true, NodeLocalEgress: true, EndPort: true, NamedPorts: true, SCTP: true, NegativeSelectors: true, ExceptCIDRs: true, AdminPolicies: true,
		Notes: []string{"no aks.json: upstream NetworkPolicy semantics (ipBlock matches pod IPs as the conformance tests expect; host-network pods are node traffic; node-local ingress allowed)"}}
	profileNPMLinux = Profile{Name: "azure-npm-linux", Engine: "azure", Enforced: true, IPBlockMatchesPods: true, IPBlockMatchesNodes: true,
		NodeLocalIngress: true, NodeLocalEgress: true, EndPort: true, NamedPorts: true, SCTP: true, NegativeSelectors: true, ExceptCIDRs: true,
		Notes: []string{"Azure NPM (Linux): ipBlock matches pod and node IPs (ipset hash:net, no pod awareness); only FORWARD is filtered, so the pod's own node (kubelet probes) is never blocked; host-network pods are ignored by selectors; AdminNetworkPolicy is not implemented"}}
	profileNPMWindows = Profile{Name: "azure-npm-windows", Engine: "azure", Enforced: true, IPBlockMatchesPods: true, IPBlockMatchesNodes: true,
		NodeLocalIngress: true, NodeLocalEgress: true, EndPort: true,
		Notes: []string{"Azure NPM (Windows, HNS ACLs): policies with named ports, SCTP, NotIn/DoesNotExist selectors or except CIDRs are rejected and not applied; node → pod allowed by the NodeIP ACL (ACN PR #1887)"}}
	profileCalico = Profile{Name: "calico", Engine: "calico", Enforced: true, IPBlockMatchesPods: true, IPBlockMatchesNodes: true,
		NodeLocalIngress: true, EndPort: true, NamedPorts: true, SCTP: true, NegativeSelectors: true, ExceptCIDRs: true, Calico: true, AdminPolicies: true,
		Notes: []string{"Calico: Kubernetes policies are order 1000 in the default tier among projectcalico.org policies; ipBlock/nets match pod and node IPs; host → local pod allowed; egress policy applies to traffic to the host; host-network pods are not workload endpoints; AdminNetworkPolicy/BaselineAdminNetworkPolicy run as the tiers before and after the default tier (Calico 3.28+; the version AKS ships is not verified)"}}
	profileCilium = Profile{Name: "cilium", Engine: "cilium", Enforced: true, IPBlockMatchesPods: false, IPBlockMatchesNodes: false,
		NodeLocalIngress: true, EndPort: true, NamedPorts: true, SCTP: true, NegativeSelectors: true, ExceptCIDRs: true,
		Notes: []string{"Cilium (Azure CNI Powered by Cilium): ipBlock never matches pod or node IPs, not even 0.0.0.0/0; allow-localhost=always lets the own node reach its pods; host-network pods carry the host identity; AdminNetworkPolicy support unverified, not applied"}}
	profileNone = Profile{Name: "none", Engine: "none", Enforced: false,
		Notes: []string{"networkProfile.networkPolicy is none: no engine enforces NetworkPolicy, every connection is allowed"}}
)

// Profiles lists every profile by name.
func Profiles() []Profile {
	return []Profile{profileUpstream, profileNPMLinux, profileNPMWindows, profileCalico, profileCilium, profileNone}
}

// ProfileNamed returns the profile with the name.
func ProfileNamed(name string) (Profile, bool) {
	for _, p := range Profiles() {
		if p.Name == name {
			return p, true
		}
	}
	return Profile{}, false
}

// clusterProfiles returns the Linux and Windows profiles of a cluster.
func clusterProfiles(c *azure.ManagedCluster) (linux, windows Profile) {
	if c == nil {
		return profileUpstream, profileUpstream
	}
	switch c.NetworkPolicyEngine() {
	case "azure":
		return profileNPMLinux, profileNPMWindows
	case "calico":
		return profileCalico, profileCalico
	case "cilium":
		p := profileCilium
		if v := c.CurrentKubernetesVer; v != "" || c.KubernetesVersion != "" {
			if v == "" {
				v = c.KubernetesVersion
			}
			if minorBelow(v, 31) {
				// AKS ships Cilium 1.14 before Kubernetes 1.31; Cilium added
				// port ranges in 1.16 and silently ignored endPort before
				// (cilium/cilium#28684, #32389).
				p.EndPort = false
				p.Notes = append(append([]string{}, p.Notes...), "Cilium before 1.16 (AKS Kubernetes < 1.31) ignores endPort: only port applies")
			}
		}
		return p, p
	default:
		return profileNone, profileNone
	}
}

func clusterHasWindows(c *azure.ManagedCluster) bool {
	if c == nil {
		return false
	}
	for _, p := range c.AgentPoolProfiles {
		if strings.EqualFold(p.OSType, "windows") {
			return true
		}
	}
	return false
}

// minorBelow reports whether a "1.M.p" version has minor M < min.
func minorBelow(v string, min int) bool {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if len(parts) < 2 || parts[0] != "1" {
		return false
	}
	m, err := strconv.Atoi(parts[1])
	return err == nil && m < min
}
