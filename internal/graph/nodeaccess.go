package graph

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/admission"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
)

// NodeAccess is root on a cluster node.
const NodeAccess NodeKind = "node-access"

const nodeAccessID = "k8s:node-access"

// escape is one way a pod reaches its node: the pod an attacker creates to
// get root on the node. Each probe is the restricted probe pod with only
// what the escape needs changed, and runs as root (uid 0), without which
// none of them reads the node's files.
type escape struct {
	name  string
	apply func(*corev1.Pod)
}

var escapes = []escape{
	{"privileged", func(p *corev1.Pod) {
		yes := true
		sc := p.Spec.Containers[0].SecurityContext
		sc.Privileged = &yes
		// Validation refuses privileged with allowPrivilegeEscalation false.
		sc.AllowPrivilegeEscalation = nil
	}},
	{"hostPID", func(p *corev1.Pod) { p.Spec.HostPID = true }},
	{"hostPath /", func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "host", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
		c := &p.Spec.Containers[0]
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "host", MountPath: "/host"})
	}},
}

// escapePod is the probe pod of one escape in ns, as ServiceAccount
// default (which admission accepts even when the snapshot lacks it).
func escapePod(e *env.Environment, ns string, esc escape) *corev1.Pod {
	p := probePod(e, ns, "default")
	p.Name = "akssec-node-probe"
	root := int64(0)
	no := false
	p.Spec.SecurityContext.RunAsNonRoot = &no
	p.Spec.SecurityContext.RunAsUser = &root
	esc.apply(p)
	return p
}

// addNodeAccess: whoever may create pods in a namespace whose admission
// (Pod Security, Gatekeeper, Azure Policy, as the probe pod edges) admits
// a pod escaping to its node gets the node: the ServiceAccount tokens of
// every pod there, and the kubelet's managed identity. One probe per
// escape and namespace; the first admitted wins.
func (g *Graph) addNodeAccess(ctx context.Context, e *env.Environment, adm *admission.Admitter) error {
	var nss []string
	for _, id := range g.order {
		if g.nodes[id].Kind == CreatePods {
			nss = append(nss, strings.TrimPrefix(id, "k8s:create-pods:"))
		}
	}
	sort.Strings(nss)
	for _, ns := range nss {
		var denied []string
		admitted := false
		for _, esc := range escapes {
			v, err := adm.AdmitPod(ctx, escapePod(e, ns, esc))
			if err != nil {
				return err
			}
			if !v.Allowed {
				denied = append(denied, esc.name+": "+v.Message)
				continue
			}
			ev := finding.Evidence{Text: fmt.Sprintf("admission admits a %s pod in %s", esc.name, ns)}
			if it := e.Namespace(ns); it != nil {
				ev.Loc = it.Loc
				ev.Text = fmt.Sprintf("Namespace %s: admission admits a %s pod", ns, esc.name)
			}
			g.edge(createPodsID(ns), g.node(nodeAccessID, NodeAccess, "root on a node"), "runs a "+esc.name+" pod in "+ns+" and escapes to its node", finding.LayerPodSecurity, ev)
			admitted = true
			break
		}
		if !admitted {
			g.Notes = append(g.Notes, fmt.Sprintf("a pod escaping to the node from %s would be denied: %s", ns, strings.Join(denied, "; ")))
		}
	}
	// Exec into a running pod that already escapes is the same.
	for _, p := range e.Pods {
		ex := execPodsID(p.Namespace)
		if g.nodes[ex] == nil {
			continue
		}
		if how := escapesToNode(p.Pod); how != "" {
			g.edge(ex, g.node(nodeAccessID, NodeAccess, "root on a node"), "execs into "+p.Ref()+" ("+how+") and escapes to its node", finding.LayerPodSecurity,
				finding.Evidence{Loc: p.Loc, Text: "pod " + p.Ref() + ": " + how})
		}
	}
	if g.nodes[nodeAccessID] == nil {
		return nil
	}
	// Every pod's ServiceAccount token is a file on its node.
	seen := map[string]bool{}
	for _, p := range e.Pods {
		sa := p.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		k := p.Namespace + "/" + sa
		if seen[k] || !tokenOnNode(e, p, sa) {
			continue
		}
		seen[k] = true
		g.addEdge(nodeAccessID, g.saNode(p.Namespace, sa), "reads the ServiceAccount token of "+p.Ref(), finding.LayerPodSecurity,
			finding.Evidence{Loc: p.Loc, Text: "pod " + p.Ref() + " runs as " + sa})
	}
	g.addKubeletIdentity(e)
	return nil
}

// escapesToNode names the escape of a pod's spec (the probes' three:
// a privileged container, hostPID, a hostPath volume of "/"), or "".
func escapesToNode(p *corev1.Pod) string {
	for _, c := range p.Spec.Containers {
		if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
			return "privileged container " + c.Name
		}
	}
	if p.Spec.HostPID {
		return "hostPID"
	}
	for _, v := range p.Spec.Volumes {
		if v.HostPath == nil || path.Clean(v.HostPath.Path) != "/" {
			continue
		}
		for _, c := range p.Spec.Containers {
			for _, m := range c.VolumeMounts {
				if m.Name == v.Name {
					return "hostPath / mounted in " + c.Name
				}
			}
		}
	}
	return ""
}

// tokenOnNode reports whether the kubelet writes a token of the pod's
// ServiceAccount to the node: the ServiceAccount admission plugin mounts
// one unless automountServiceAccountToken (pod, else ServiceAccount) is
// false; a projected serviceAccountToken volume is one too.
func tokenOnNode(e *env.Environment, p *env.Pod, sa string) bool {
	for _, v := range p.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, s := range v.Projected.Sources {
			if s.ServiceAccountToken != nil {
				return true
			}
		}
	}
	if p.Spec.AutomountServiceAccountToken != nil {
		return *p.Spec.AutomountServiceAccountToken
	}
	if it := e.ServiceAccount(p.Namespace, sa); it != nil && it.Obj.AutomountServiceAccountToken != nil {
		return *it.Obj.AutomountServiceAccountToken
	}
	return true
}

// addKubeletIdentity links the node to the kubelet's managed identity
// (identityProfile.kubeletidentity), which any process on the node gets
// from the instance metadata endpoint.
func (g *Graph) addKubeletIdentity(e *env.Environment) {
	if e.Cluster == nil {
		return
	}
	k := e.Cluster.KubeletIdentity()
	if k == nil || k.ObjectID == "" && k.ClientID == "" && k.ResourceID == "" {
		return
	}
	name := k.ResourceID[strings.LastIndex(k.ResourceID, "/")+1:]
	principal := k.ObjectID
	if e.Azure != nil {
		for _, mi := range e.Azure.Identities {
			if k.ObjectID != "" && strings.EqualFold(mi.PrincipalID, k.ObjectID) || k.ClientID != "" && strings.EqualFold(mi.ClientID, k.ClientID) {
				name, principal = mi.Name, mi.PrincipalID
				break
			}
		}
	}
	if name == "" {
		name = k.ClientID
	}
	id := g.node(identityID(name), ManagedIdentity, "managed identity "+name)
	g.edge(nodeAccessID, id, "gets a token for the kubelet identity "+name+" from the instance metadata endpoint", finding.LayerPodSecurity,
		finding.Evidence{Loc: e.Cluster.Src, Text: fmt.Sprintf("identityProfile.kubeletidentity: clientId %s, objectId %s", k.ClientID, k.ObjectID)})
	if principal == "" {
		return
	}
	if p := e.Directory.ByID(principal); p != nil {
		g.edge(id, principalID(p.ID), "is service principal", finding.LayerEntra)
	}
}
