package netpol

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

func contoso(t *testing.T) *env.Environment {
	t.Helper()
	dir := "../../examples/contoso-bank"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("examples/contoso-bank not present")
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return env.New(s)
}

// TestLab3 is the seed's Lab 3 on the bundled example: production has
// default-deny-ingress and allow-frontend-to-backend; the frontend reaches
// the backend on 8080, nothing else does, and the frontend itself is
// unreachable from other pods.
func TestLab3(t *testing.T) {
	en := New(contoso(t))
	if got := en.Profile().Name; got != "azure-npm-linux" {
		t.Fatalf("profile = %s, want azure-npm-linux (networkPolicy azure)", got)
	}
	cases := []struct {
		from, to, port string
		want           bool
		by             []string
	}{
		{"production/deployment/frontend", "production/deployment/backend", "8080", true, []string{"allow-frontend-to-backend"}},
		{"production/deployment/frontend", "production/service/backend", "api", true, []string{"allow-frontend-to-backend"}},
		{"production/deployment/frontend", "production/deployment/backend", "9090", false, []string{"allow-frontend-to-backend", "default-deny-ingress"}},
		{"production/deployment/payments-api", "production/deployment/backend", "8080", false, []string{"allow-frontend-to-backend", "default-deny-ingress"}},
		{"production/deployment/backend", "production/deployment/frontend", "8080", false, []string{"default-deny-ingress"}},
		{"production/deployment/payments-api", "production/deployment/frontend", "8080", false, []string{"default-deny-ingress"}},
		{"node", "production/deployment/frontend", "8080", true, nil},
	}
	for _, tc := range cases {
		ans, err := en.Ask(Query{From: tc.from, To: tc.to, Port: tc.port})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Allowed != tc.want {
			t.Errorf("%s → %s:%s allowed = %v, want %v (%s)", tc.from, tc.to, tc.port, ans.Allowed, tc.want, ans.Verdict.Ingress.Reason)
		}
		var got []string
		for _, p := range ans.Verdict.Ingress.Policies {
			got = append(got, p.Name)
		}
		if tc.by == nil {
			continue
		}
		if diff := cmp.Diff(sortedStrings(tc.by), sortedStrings(got)); diff != "" {
			t.Errorf("%s → %s:%s deciding ingress policies (-want +got):\n%s", tc.from, tc.to, tc.port, diff)
		}
	}
}

func sortedStrings(ss []string) []string {
	out := append([]string{}, ss...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestExplainUnreachableLab3(t *testing.T) {
	en := New(contoso(t))
	x, err := en.ExplainUnreachable(Query{From: "production/deployment/payments-api", To: "production/deployment/backend", Port: "8080"})
	if err != nil {
		t.Fatal(err)
	}
	if x.Reachable {
		t.Fatal("payments-api → backend:8080 reachable, want unreachable")
	}
	wantFix := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: allow-payments-api-to-backend
  namespace: production
spec:
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: payments-api
    ports:
    - port: 8080
      protocol: TCP
  podSelector:
    matchLabels:
      app: backend
  policyTypes:
  - Ingress
`
	if diff := cmp.Diff(wantFix, x.Fix); diff != "" {
		t.Errorf("fix (-want +got):\n%s", diff)
	}
	var iso []string
	for _, r := range x.Isolating {
		iso = append(iso, r.Name)
	}
	if diff := cmp.Diff([]string{"allow-frontend-to-backend", "default-deny-ingress"}, sortedStrings(iso)); diff != "" {
		t.Errorf("isolating (-want +got):\n%s", diff)
	}
	// The fix, applied, allows exactly this flow.
	fixed := New(withManifest(t, en, x.Fix))
	if ans, _ := fixed.Ask(Query{From: "production/deployment/payments-api", To: "production/deployment/backend", Port: "8080"}); !ans.Allowed {
		t.Errorf("with the fix: payments-api → backend:8080 still denied")
	}
	if ans, _ := fixed.Ask(Query{From: "production/deployment/payments-api", To: "production/deployment/backend", Port: "8081"}); ans.Allowed {
		t.Errorf("with the fix: payments-api → backend:8081 allowed, want only 8080")
	}
	if ans, _ := fixed.Ask(Query{From: "production/deployment/ledger-worker", To: "production/deployment/backend", Port: "8080"}); ans.Allowed && !strings.Contains(ans.Verdict.Ingress.Reason, "frontend") {
		t.Errorf("with the fix: ledger-worker → backend:8080 allowed")
	}
}

// withManifest is the example with one more manifest.
func withManifest(t *testing.T, _ *Engine, doc string) *env.Environment {
	t.Helper()
	dir := t.TempDir()
	src := "../../examples/contoso-bank"
	must(t, os.CopyFS(dir, os.DirFS(src)))
	must(t, os.WriteFile(dir+"/kubernetes/zz-fix.yaml", []byte(doc), 0o644))
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return env.New(s)
}

func TestContosoFindings(t *testing.T) {
	fs := Check(context.Background(), contoso(t))
	has := map[string]bool{}
	for _, f := range fs {
		has[f.Key()] = true
	}
	for _, want := range []string{
		"AKS-NET-002 Namespace/sandbox",                         // no policy at all
		"AKS-NET-006 NetworkPolicy/compliance/default-deny-all", // egress deny without DNS
	} {
		if !has[want] {
			t.Errorf("missing finding %s; got %v", want, findingKeys(fs))
		}
	}
	for _, notWant := range []string{"AKS-NET-002 Namespace/production", "AKS-NET-002 Namespace/kube-system", "AKS-NET-006 NetworkPolicy/trading/", "AKS-NET-005 NetworkPolicy/trading/allow-dns"} {
		for k := range has {
			if strings.HasPrefix(k, notWant) {
				t.Errorf("unexpected finding %s", k)
			}
		}
	}
}

// TestContosoDNS: trading allows DNS, compliance denies all egress without
// a DNS allow (the planted fault); the cluster DNS IP stands for kube-dns.
func TestContosoDNS(t *testing.T) {
	en := New(contoso(t))
	for _, tc := range []struct {
		from, to, port, proto string
		want                  bool
	}{
		{"trading/deployment/trading-engine", "kube-system/service/kube-dns", "53", "UDP", true},
		{"trading/deployment/trading-engine", "10.0.0.10", "53", "TCP", true},
		{"trading/deployment/trading-engine", "internet", "443", "TCP", false},
		{"compliance/deployment/reports-generator", "kube-system/service/kube-dns", "53", "UDP", false},
		{"compliance/deployment/reports-generator", "10.0.0.10", "53", "UDP", false},
	} {
		ans, err := en.Ask(Query{From: tc.from, To: tc.to, Port: tc.port, Protocol: tc.proto})
		if err != nil {
			t.Fatal(err)
		}
		if ans.Allowed != tc.want {
			t.Errorf("%s → %s:%s/%s allowed = %v, want %v (egress: %s)", tc.from, tc.to, tc.port, tc.proto, ans.Allowed, tc.want, ans.Verdict.Egress.Reason)
		}
	}
}

// TestReplicasReachEachOther: frontend's three replicas are distinct pods,
// isolated by default-deny-ingress from each other.
func TestReplicasReachEachOther(t *testing.T) {
	en := New(contoso(t))
	ans, err := en.Ask(Query{From: "production/deployment/frontend", To: "production/deployment/frontend", Port: "8080"})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Allowed {
		t.Errorf("frontend replica → frontend replica allowed, want denied by default-deny-ingress")
	}
}
