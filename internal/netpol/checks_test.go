package netpol

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/finding"
)

func TestRulesRegistry(t *testing.T) {
	if _, err := finding.NewRegistry(Rules()...); err != nil {
		t.Fatal(err)
	}
}

func findingKeys(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Key())
	}
	sort.Strings(out)
	return out
}

func TestChecks(t *testing.T) {
	dnsPod := "apiVersion: v1\nkind: Pod\nmetadata: {name: coredns-1, namespace: kube-system, labels: {k8s-app: kube-dns}}\nspec:\n  containers:\n  - name: coredns\n    image: coredns\n    ports:\n    - {name: dns, containerPort: 53, protocol: UDP}\n    - {name: dns-tcp, containerPort: 53, protocol: TCP}\n"
	probed := "apiVersion: v1\nkind: Pod\nmetadata: {name: api, namespace: trading, labels: {app: api}}\nspec:\n  containers:\n  - name: c\n    image: x\n    readinessProbe: {httpGet: {port: 8080, path: /}}\n"
	lb := "apiVersion: v1\nkind: Service\nmetadata: {name: pub, namespace: sandbox}\nspec:\n  type: LoadBalancer\n  selector: {app: pub}\n  ports: [{port: 80, targetPort: 8080}]\n"
	docs := []string{
		nsDoc("kube-system"), nsDoc("trading"), nsDoc("compliance"), nsDoc("sandbox"),
		dnsPod, probed, lb,
		podDoc("compliance", "exporter", "app: exporter"),
		podDoc("sandbox", "pub", "app: pub"),
		npDoc("trading", "deny-all", "podSelector: {}\npolicyTypes: [Ingress, Egress]"),
		npDoc("trading", "allow-dns", "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}\n    podSelector: {matchLabels: {k8s-app: kube-dns}}\n  ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]"),
		npDoc("compliance", "deny-all", "podSelector: {}\npolicyTypes: [Ingress, Egress]"),
		npDoc("compliance", "allow-everything", "podSelector: {}\ningress: [{}]"),
		npDoc("compliance", "ghost", "podSelector: {matchLabels: {app: nobody}}\ningress: [{from: [{podSelector: {matchLabels: {app: nobody}}}]}]"),
	}
	en := New(loadEnv(t, "azure", docs...))
	got := findingKeys(en.Check(context.Background()))
	want := []string{
		"AKS-NET-002 Namespace/sandbox",
		"AKS-NET-004 NetworkPolicy/compliance/ghost",
		"AKS-NET-005 NetworkPolicy/compliance/ghost",
		"AKS-NET-006 NetworkPolicy/compliance/deny-all",
		"AKS-NET-007 NetworkPolicy/compliance/allow-everything",
		"AKS-NET-008 ManagedCluster/c",
		"AKS-NET-009 Service/sandbox/pub",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}

	for _, f := range en.Check(context.Background()) {
		if f.RuleID == "AKS-NET-008" {
			if !strings.Contains(f.Reason, "does NOT hold") || len(f.Evidence) == 0 || !strings.Contains(f.Evidence[0].Text, "trading/api has network probes") {
				t.Errorf("probe finding: %s %v", f.Reason, f.Evidence)
			}
		}
	}

	none := New(loadEnv(t, "none", docs...))
	got = findingKeys(none.Check(context.Background()))
	if len(got) == 0 || got[0] != "AKS-NET-001 ManagedCluster/c" {
		t.Errorf("networkPolicy none: want AKS-NET-001 first, got %v", got)
	}
}

func TestEngineSpecificFindings(t *testing.T) {
	named := npDoc("a", "named", "podSelector: {matchLabels: {app: web}}\ningress: [{ports: [{port: metrics}]}]")
	rng := npDoc("a", "range", "podSelector: {matchLabels: {app: web}}\ningress: [{ports: [{port: 8000, endPort: 8080}]}]")
	cidr := npDoc("a", "cidr", "podSelector: {matchLabels: {app: web}}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}]}]")
	many := npDoc("a", "many", "podSelector: {matchLabels: {app: db}}\ningress:\n- from:\n  - ipBlock: {cidr: 1.0.0.0/8}\n  - ipBlock: {cidr: 2.0.0.0/8}\n  - ipBlock: {cidr: 3.0.0.0/8}\n  - ipBlock: {cidr: 4.0.0.0/8}\n  - ipBlock: {cidr: 5.0.0.0/8}")
	hostOnly := npDoc("b", "agents", "podSelector: {matchLabels: {app: agent}}\npolicyTypes: [Ingress]")
	agent := podDoc("b", "agent", "app: agent", "hostNetwork: true", "nodeName: n1")
	invalid := npDoc("a", "bad", "podSelector: {}\ningress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/8]}}]}]")
	calico := gnpDoc("g", "selector: all()\ntypes: [Ingress]")
	docs := append(append([]string{}, base...), named, rng, cidr, many, hostOnly, agent, invalid, calico)
	cases := []struct {
		plugin, version string
		want            []string
	}{
		{"azure", "", []string{"AKS-NET-004 NetworkPolicy/b/agents", "AKS-NET-010 NetworkPolicy/a/bad", "AKS-NET-011 NetworkPolicy/a/many", "AKS-NET-012 GlobalNetworkPolicy/g", "AKS-NET-013 NetworkPolicy/a/named"}},
		{"cilium", "1.30.4", []string{"AKS-NET-004 NetworkPolicy/b/agents", "AKS-NET-010 NetworkPolicy/a/bad", "AKS-NET-011 NetworkPolicy/a/cidr", "AKS-NET-011 NetworkPolicy/a/range", "AKS-NET-012 GlobalNetworkPolicy/g", "AKS-NET-013 NetworkPolicy/a/named"}},
		{"calico", "", []string{"AKS-NET-004 NetworkPolicy/b/agents", "AKS-NET-010 NetworkPolicy/a/bad", "AKS-NET-013 NetworkPolicy/a/named"}},
	}
	for _, tc := range cases {
		e := loadEnv(t, tc.plugin, docs...)
		e.Cluster.KubernetesVersion = tc.version
		var got []string
		for _, k := range findingKeys(New(e).Check(context.Background())) {
			for _, id := range []string{"AKS-NET-004", "AKS-NET-010", "AKS-NET-011", "AKS-NET-012", "AKS-NET-013"} {
				if len(k) > len(id) && k[:len(id)] == id {
					got = append(got, k)
				}
			}
		}
		if diff := cmp.Diff(tc.want, dedupe(got)); diff != "" {
			t.Errorf("%s %s findings (-want +got):\n%s", tc.plugin, tc.version, diff)
		}
	}
}
