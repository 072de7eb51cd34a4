package netpol

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/generate"
	"github.com/akssec/akssec/internal/snapshot"
)

// synthetic builds the reference's scaling setup (reference §6.2): bare
// pods, each its own workload with a unique label, and five policies per
// namespace: default-deny-all, DNS egress, fe→be on a named port,
// namespace-selector endPort range, fe egress with an AND peer plus
// ipBlock/except, db ingress.
func synthetic(pods, namespaces int) *env.Environment {
	s := &snapshot.Snapshot{}
	add := func(kind, group, ns, name string, obj any) {
		s.Objects = append(s.Objects, &snapshot.Object{Kind: kind, Group: group, Namespace: ns, Name: name, Typed: obj, Known: true})
	}
	apps := []string{"fe", "be", "db", "worker", "cache"}
	for i := 0; i < namespaces; i++ {
		ns := fmt.Sprintf("ns%03d", i)
		add("Namespace", "", "", ns, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": fmt.Sprintf("t%d", i%7)}}})
	}
	for i := 0; i < pods; i++ {
		ns := fmt.Sprintf("ns%03d", i%namespaces)
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i), Namespace: ns,
			Labels: map[string]string{"app": apps[(i/namespaces)%len(apps)], "pod": fmt.Sprintf("pod-%05d", i)}}}
		p.Spec.Containers = []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}
		if i%3 == 0 {
			p.Status.PodIP = fmt.Sprintf("10.244.%d.%d", (i/250)%256, i%250+1)
		}
		snapshot.DefaultPodSpec(&p.Spec)
		add("Pod", "", ns, p.Name, p)
	}
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	port := func(p intstr.IntOrString, proto *corev1.Protocol) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Port: &p, Protocol: proto}
	}
	sel := func(k, v string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{k: v}}
	}
	for i := 0; i < namespaces; i++ {
		ns := fmt.Sprintf("ns%03d", i)
		end := int32(8100)
		pols := []*networkingv1.NetworkPolicy{
			{ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress", "Egress"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "dns", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Egress"},
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("kubernetes.io/metadata.name", "kube-system"), PodSelector: sel("k8s-app", "kube-dns")}},
					Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(53), &udp), port(intstr.FromInt32(53), &tcp)}}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "fe-to-be", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "be"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app", "fe")}}, Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromString("http"), &tcp)}},
					{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("team", fmt.Sprintf("t%d", (i+1)%7))}}, Ports: []networkingv1.NetworkPolicyPort{{Port: ptr(intstr.FromInt32(8000)), EndPort: &end, Protocol: &tcp}}}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "fe-egress", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "fe"), PolicyTypes: []networkingv1.PolicyType{"Egress"},
				Egress: []networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: sel("team", "t1"), PodSelector: sel("app", "be")},
					{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}}}}}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "db-ingress", Namespace: ns}, Spec: networkingv1.NetworkPolicySpec{PodSelector: *sel("app", "db"),
				Ingress: []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: sel("app", "be")}}, Ports: []networkingv1.NetworkPolicyPort{port(intstr.FromInt32(5432), &tcp)}}}}},
		}
		for _, np := range pols {
			snapshot.DefaultNetworkPolicy(np)
			add("NetworkPolicy", "networking.k8s.io", ns, np.Name, np)
		}
	}
	s.Azure.Cluster = &azure.ManagedCluster{Name: "bench", NetworkProfile: &azure.NetworkProfile{NetworkPolicy: "azure", PodCIDR: "10.244.0.0/16"}}
	return env.New(s)
}

func ptr[T any](v T) *T { return &v }

func benchMatrix(b *testing.B, e *env.Environment) {
	b.ReportAllocs()
	var classes int
	for b.Loop() {
		en := New(e)
		m, err := en.Matrix(context.Background(), "")
		if err != nil {
			b.Fatal(err)
		}
		classes = len(m.Classes)
	}
	b.ReportMetric(float64(classes), "classes")
	b.ReportMetric(float64(len(e.Pods)), "pods")
}

// BenchmarkMatrixBare2000 is the DESIGN target: 2,000 bare pods, 200
// policies, full matrix (New + Matrix) ≤ 1 s.
func BenchmarkMatrixBare2000(b *testing.B) { benchMatrix(b, synthetic(2000, 40)) }

// BenchmarkMatrixBare20000 is 20,000 bare pods and 2,000 policies in the
// same shape.
func BenchmarkMatrixBare20000(b *testing.B) { benchMatrix(b, synthetic(20000, 400)) }

// BenchmarkMatrixLarge is the generated large snapshot (20,000 pods, 2,000
// policies) ≤ 10 s.
func BenchmarkMatrixLarge(b *testing.B) {
	dir := b.TempDir()
	if _, err := generate.Write(context.Background(), dir, generate.Scales["large"], 1); err != nil {
		b.Skipf("generator: %v", err)
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchMatrix(b, env.New(s))
}

func BenchmarkReach(b *testing.B) {
	e := synthetic(2000, 40)
	en := New(e)
	src, dst := PodEndpoint(e.Pods[0]), PodEndpoint(e.Pods[1])
	b.ReportAllocs()
	for b.Loop() {
		en.Reach(src, dst, 8080, corev1.ProtocolTCP)
	}
}

// BenchmarkCheckLarge is every network finding on the generated large
// snapshot.
func BenchmarkCheckLarge(b *testing.B) {
	dir := b.TempDir()
	if _, err := generate.Write(context.Background(), dir, generate.Scales["large"], 1); err != nil {
		b.Skipf("generator: %v", err)
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := env.New(s)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(Check(context.Background(), e))
	}
	b.ReportMetric(float64(n), "findings")
}

// BenchmarkMatrixCalico2000 is the per-pair (ordered tiers) path: the
// 2,000-pod setup on Calico with one GlobalNetworkPolicy.
func BenchmarkMatrixCalico2000(b *testing.B) {
	e := synthetic(2000, 40)
	s := e.Snapshot
	gnp := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "projectcalico.org/v3", "kind": "GlobalNetworkPolicy",
		"metadata": map[string]any{"name": "deny-team-t3"},
		"spec": map[string]any{"order": float64(100), "selector": "all()", "types": []any{"Ingress"},
			"ingress": []any{map[string]any{"action": "Deny", "source": map[string]any{"namespaceSelector": "team == 't3'"}}, map[string]any{"action": "Pass"}}}}}
	s.Objects = append(s.Objects, &snapshot.Object{Group: "projectcalico.org", Kind: "GlobalNetworkPolicy", Name: "deny-team-t3", Typed: gnp})
	s.Azure.Cluster.NetworkProfile.NetworkPolicy = "calico"
	benchMatrix(b, env.New(s))
}
