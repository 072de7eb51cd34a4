package netpol_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/netpol"
	"github.com/akssec/akssec/internal/snapshot"
)

func Example() {
	pod := func(name, app string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: name, Labels: map[string]string{"app": app}}}
		p.Spec.Containers = []corev1.Container{{Name: "c", Ports: []corev1.ContainerPort{{Name: "api", ContainerPort: 8080}}}}
		snapshot.DefaultPodSpec(&p.Spec)
		return p
	}
	port := intstr.FromString("api")
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "production", Name: "allow-frontend-to-backend"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "backend"}},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "frontend"}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: &port}},
			}},
		}}
	snapshot.DefaultNetworkPolicy(np)
	s := &snapshot.Snapshot{}
	for _, o := range []struct {
		kind, group, name string
		obj               any
	}{{"Pod", "", "frontend", pod("frontend", "frontend")}, {"Pod", "", "backend", pod("backend", "backend")}, {"Pod", "", "batch", pod("batch", "batch")},
		{"NetworkPolicy", "networking.k8s.io", np.Name, np}} {
		s.Objects = append(s.Objects, &snapshot.Object{Kind: o.kind, Group: o.group, Namespace: "production", Name: o.name, Typed: o.obj, Known: true})
	}
	s.Azure.Cluster = &azure.ManagedCluster{Name: "bank", NetworkProfile: &azure.NetworkProfile{NetworkPolicy: "cilium"}}
	e := env.New(s)

	en := netpol.New(e)
	frontend, backend, batch := netpol.PodEndpoint(e.Pods[0]), netpol.PodEndpoint(e.Pods[1]), netpol.PodEndpoint(e.Pods[2])
	for _, src := range []netpol.Endpoint{frontend, batch} {
		v := en.Reach(src, backend, 8080, corev1.ProtocolTCP)
		fmt.Printf("%s → %s:8080 allowed=%v (%s): %s\n", src, backend, v.Allowed, v.Plugin, v.Ingress.Reason)
	}
	// Output:
	// production/frontend → production/backend:8080 allowed=true (cilium): allowed by NetworkPolicy production/allow-frontend-to-backend ingress[0]
	// production/batch → production/backend:8080 allowed=false (cilium): production/backend is isolated for ingress by NetworkPolicy production/allow-frontend-to-backend (Isolate) and no rule admits production/batch
}
