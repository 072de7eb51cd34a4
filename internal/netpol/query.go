package netpol

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/akssec/akssec/internal/env"
)

// Query asks whether From may open a connection to To on Port/Protocol, in
// the CLI's vocabulary: "ns/pod", "ns/<kind>/name" (deployment,
// statefulset, daemonset, replicaset, job, cronjob, pod, service), an IP
// address, "internet", "node" (the destination's own node) or
// "node/NAME". Port is a number or a name (a Service port name, or a
// container port name of the destination pod); "" asks for any port.
type Query struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     string `json:"port,omitempty"`
	Protocol string `json:"protocol,omitempty"`
	// Namespace is the namespace of a bare pod name ("web" for
	// "<Namespace>/web"); "" means default, as kubectl does.
	Namespace string `json:"namespace,omitempty"`
}

// Answer is the decision on a query. When From or To stand for several pods
// (a workload, a Service), the connection is allowed when every pod pair is
// allowed; Pairs and AllowedPairs say how many were.
type Answer struct {
	Allowed      bool    `json:"allowed"`
	Verdict      Verdict `json:"verdict"`
	Pairs        int     `json:"pairs"`
	AllowedPairs int     `json:"allowedPairs"`
	// From and To are the endpoints of the representative pair shown in
	// Verdict (the first denied pair when some are denied).
	From string `json:"fromEndpoint"`
	To   string `json:"toEndpoint"`
	Port string `json:"port"`
	// Notes say how the query was resolved (Service target ports).
	Notes []string `json:"notes,omitempty"`
}

// target is what a spec names.
type target struct {
	eps     []Endpoint
	service *corev1.Service
}

// Resolve names the endpoints a spec stands for.
func (en *Engine) Resolve(spec string) ([]Endpoint, error) {
	t, err := en.resolve(spec)
	if err != nil {
		return nil, err
	}
	return t.eps, nil
}

func (en *Engine) resolve(spec string) (target, error) { return en.resolveIn(spec, "default") }

func (en *Engine) resolveIn(spec, defaultNS string) (target, error) {
	spec = strings.TrimSpace(spec)
	switch {
	case spec == "":
		return target{}, fmt.Errorf("empty endpoint")
	case strings.EqualFold(spec, "internet"):
		return target{eps: []Endpoint{InternetEndpoint()}}, nil
	case strings.EqualFold(spec, "node"):
		return target{eps: []Endpoint{NodeEndpoint("")}}, nil
	case strings.HasPrefix(strings.ToLower(spec), "node/"):
		return target{eps: []Endpoint{NodeEndpoint(spec[5:])}}, nil
	}
	if a, err := netip.ParseAddr(spec); err == nil {
		if p := en.podByIP[a]; p != nil {
			return target{eps: []Endpoint{PodEndpoint(p)}}, nil
		}
		for n, ip := range en.nodeIP {
			if ip == a {
				return target{eps: []Endpoint{NodeEndpoint(n)}}, nil
			}
		}
		// A Service's cluster IP is its backends (DNAT happens before
		// policy on every AKS engine).
		for _, it := range en.env.Services {
			for _, cip := range append([]string{it.Obj.Spec.ClusterIP}, it.Obj.Spec.ClusterIPs...) {
				if ip, err := netip.ParseAddr(cip); err == nil && ip == a {
					return en.resolveIn(it.Obj.Namespace+"/service/"+it.Obj.Name, defaultNS)
				}
			}
		}
		if c := en.env.Cluster; c != nil && c.NetworkProfile != nil && c.NetworkProfile.DNSServiceIP == a.String() {
			// The cluster DNS service: kube-dns in kube-system.
			return target{eps: []Endpoint{PodEndpoint(en.kubeDNS())}}, nil
		}
		return target{eps: []Endpoint{IPEndpoint(a)}}, nil
	}
	parts := strings.Split(spec, "/")
	var ns, kind, name string
	switch len(parts) {
	case 1:
		ns, kind, name = defaultNS, "pod", parts[0]
	case 2:
		ns, kind, name = parts[0], "pod", parts[1]
		if _, isNS := en.nsLabels[parts[0]]; !isNS && kindAlias(parts[0]) {
			// kind/name in the default namespace, as kubectl reads it.
			ns, kind = defaultNS, strings.ToLower(parts[0])
		}
	case 3:
		ns, kind, name = parts[0], strings.ToLower(parts[1]), parts[2]
	default:
		return target{}, fmt.Errorf("endpoint %q: expected pod, ns/pod, ns/kind/name, an IP, internet or node", spec)
	}
	switch kind {
	case "pod", "pods", "po":
		var synth *env.Pod
		for _, p := range en.env.PodsIn(ns) {
			if p.Name == name {
				if !p.Synthesized {
					return target{eps: []Endpoint{PodEndpoint(p)}}, nil
				}
				synth = p
			}
		}
		if synth != nil {
			return target{eps: []Endpoint{PodEndpoint(synth)}}, nil
		}
		return target{}, fmt.Errorf("no pod %s/%s in the snapshot", ns, name)
	case "service", "services", "svc":
		for _, it := range en.env.Services {
			if it.Obj.Namespace == ns && it.Obj.Name == name {
				svc := it.Obj
				t := target{service: svc}
				if len(svc.Spec.Selector) > 0 {
					for _, p := range en.env.PodsMatching(ns, labels.SelectorFromSet(svc.Spec.Selector)) {
						t.eps = append(t.eps, PodEndpoint(p))
					}
				}
				if len(t.eps) == 0 {
					return t, fmt.Errorf("service %s/%s selects no pod (no selector, or no pod matches it)", ns, name)
				}
				return t, nil
			}
		}
		if ns == "kube-system" && name == "kube-dns" {
			// Rarely captured: stand in with the pods AKS runs behind it.
			return target{eps: []Endpoint{PodEndpoint(en.kubeDNS())}}, nil
		}
		return target{}, fmt.Errorf("no service %s/%s in the snapshot", ns, name)
	}
	wkind := map[string]string{"deployment": "Deployment", "deploy": "Deployment", "deployments": "Deployment", "statefulset": "StatefulSet", "sts": "StatefulSet",
		"daemonset": "DaemonSet", "ds": "DaemonSet", "replicaset": "ReplicaSet", "rs": "ReplicaSet", "job": "Job", "cronjob": "CronJob", "cj": "CronJob"}[kind]
	if wkind == "" {
		return target{}, fmt.Errorf("endpoint %q: unknown kind %q", spec, kind)
	}
	var t target
	for _, p := range en.env.PodsIn(ns) {
		for w := p.Workload; w != nil; w = w.Owner {
			if w.Kind == wkind && w.Name == name {
				t.eps = append(t.eps, PodEndpoint(p))
				break
			}
		}
	}
	if len(t.eps) == 0 {
		return t, fmt.Errorf("no %s %s/%s (or it has no pods) in the snapshot", wkind, ns, name)
	}
	return t, nil
}

// SplitPort splits "DST[:PORT[/PROTO]]" into its parts. An IPv6 address
// with a port is written [addr]:port.
func SplitPort(s string) (dst, port, proto string) {
	if _, err := netip.ParseAddr(s); err == nil {
		return s, "", ""
	}
	if strings.HasPrefix(s, "[") {
		if i := strings.Index(s, "]"); i > 0 {
			dst, rest := s[1:i], s[i+1:]
			rest = strings.TrimPrefix(rest, ":")
			port, proto, _ = strings.Cut(rest, "/")
			return dst, port, proto
		}
	}
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, "", ""
	}
	dst = s[:i]
	port, proto, _ = strings.Cut(s[i+1:], "/")
	return dst, port, proto
}

// Ask answers a query.
func (en *Engine) Ask(q Query) (Answer, error) {
	ns := q.Namespace
	if ns == "" {
		ns = "default"
	}
	src, err := en.resolveIn(q.From, ns)
	if err != nil {
		return Answer{}, fmt.Errorf("from: %w", err)
	}
	dst, err := en.resolveIn(q.To, ns)
	if err != nil {
		return Answer{}, fmt.Errorf("to: %w", err)
	}
	proto := corev1.Protocol(strings.ToUpper(q.Protocol))
	if proto != "" {
		if _, ok := protoIndex(proto); !ok {
			return Answer{}, fmt.Errorf("protocol %q: expected TCP, UDP or SCTP", q.Protocol)
		}
	}
	ans := Answer{Allowed: true, Port: q.Port}
	first := true
	for _, s := range src.eps {
		for _, d := range dst.eps {
			want, note, err := en.wantPorts(dst.service, d, q.Port, proto)
			if err != nil {
				return Answer{}, err
			}
			if note != "" && len(ans.Notes) < 8 {
				ans.Notes = append(ans.Notes, note)
			}
			v := en.reachSet(s, d, want)
			ans.Pairs++
			if v.Allowed {
				ans.AllowedPairs++
			}
			if first || (!v.Allowed && ans.Allowed) {
				ans.Verdict, ans.From, ans.To = v, s.String(), d.String()
				first = false
			}
			ans.Allowed = ans.Allowed && v.Allowed
		}
	}
	ans.Notes = dedupe(ans.Notes)
	return ans, nil
}

// wantPorts turns the asked port into the destination pod's port set: a
// Service port becomes its targetPort (a named targetPort resolves on each
// backend pod), a name on a pod becomes its container port.
func (en *Engine) wantPorts(svc *corev1.Service, d Endpoint, port string, proto corev1.Protocol) (PortSet, string, error) {
	if port == "" {
		if proto == "" {
			return AllPorts(), "", nil
		}
		return ProtoRange(proto, 0, 0), "", nil
	}
	if svc != nil {
		for _, sp := range svc.Spec.Ports {
			if sp.Name != port && strconv.Itoa(int(sp.Port)) != port {
				continue
			}
			if proto != "" && sp.Protocol != proto {
				continue
			}
			pr := sp.Protocol
			if pr == "" {
				pr = corev1.ProtocolTCP
			}
			tp := sp.TargetPort
			if tp.Type == intstr.String {
				s := en.sideOf(d)
				ps := s.namedPort(tp.StrVal, pr)
				if ps.Empty() {
					return PortSet{}, fmt.Sprintf("service %s/%s port %s: targetPort %q is not a container port of %s; the connection fails", svc.Namespace, svc.Name, port, tp.StrVal, d), nil
				}
				return ps, fmt.Sprintf("service %s/%s port %s → targetPort %s = %s on %s", svc.Namespace, svc.Name, port, tp.StrVal, ps, d), nil
			}
			t := tp.IntVal
			if t == 0 {
				t = sp.Port
			}
			return Port(pr, t), fmt.Sprintf("service %s/%s port %s → targetPort %d/%s", svc.Namespace, svc.Name, port, t, pr), nil
		}
		return PortSet{}, "", fmt.Errorf("service %s/%s has no port %s", svc.Namespace, svc.Name, port)
	}
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	if n, err := strconv.Atoi(port); err == nil {
		if n < 1 || n > 65535 {
			return PortSet{}, "", fmt.Errorf("port %d out of range 1-65535", n)
		}
		return Port(proto, int32(n)), "", nil
	}
	if d.Kind != KindPod {
		return PortSet{}, "", fmt.Errorf("named port %q needs a pod destination", port)
	}
	ps := en.sideOf(d).namedPort(port, proto)
	if ps.Empty() {
		return PortSet{}, "", fmt.Errorf("%s has no container port named %q with protocol %s", d, port, proto)
	}
	return ps, "", nil
}

func kindAlias(s string) bool {
	switch strings.ToLower(s) {
	case "pod", "pods", "po", "service", "services", "svc", "deployment", "deploy", "deployments", "statefulset", "sts",
		"daemonset", "ds", "replicaset", "rs", "job", "cronjob", "cj":
		return true
	}
	return false
}
