package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/snapshot"
)

func exampleScan(t *testing.T) *Result {
	t.Helper()
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), env.New(s), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPlantedFaults is the example README's list: the scan must find every
// planted fault, on the object it is planted on.
func TestPlantedFaults(t *testing.T) {
	r := exampleScan(t)
	planted := []struct {
		fault, rule, object string
	}{
		{"RoleBinding names a group by display name", "AKS-ENTRA-001", "RoleBinding/trading/trading-analysts-read"},
		{"federated credential issuer lacks the trailing slash", "AKS-WI-003", "FederatedIdentityCredential/trading/trading-identity/trading-fic"},
		{"…and the mount fails with AADSTS700211", "AKS-KV-003", "Deployment/trading/trading-engine"},
		{"SecretProviderClass clientID matches no identity", "AKS-KV-001", "SecretProviderClass/compliance/legacy-secrets"},
		{"identity without get on the vault", "AKS-KV-002", "Deployment/compliance/reports-generator"},
		{"pod labelled for workload identity, SA without client-id", "AKS-WI-002", "Pod/compliance/audit-exporter"},
		{"unanchored allowed-images regex", "AKS-IMG-001", "PolicyAssignment/Kubernetes cluster containers should only use allowed images"},
		{"init container from an unapproved registry", "AKS-IMG-002", "Deployment/production/payments-api"},
		{"privileged pod in production", "AKS-POL-002", "Pod/production/debug-tools"},
		{"Deployment whose pods would be denied at the next rollout", "AKS-PSA-002", "Deployment/production/ledger-worker"},
		{"namespace without default deny", "AKS-NET-002", "Namespace/sandbox"},
		{"namespace without PSA labels", "AKS-PSA-001", "Namespace/sandbox"},
		{"egress deny-all without DNS", "AKS-NET-006", "NetworkPolicy/compliance/default-deny-all"},
		{"admin group with a single member", "AKS-ENTRA-003", "ManagedCluster/aks-contoso-bank"},
		{"three-layer attack path to db-password", "AKS-PATH-001", "ServiceAccount/team-alpha/alpha-ci-sa"},
		{"read-only root filesystem only audited", "AKS-POL-001", "PolicyAssignment/Kubernetes cluster containers should run with a read only root file system"},
	}
	for _, p := range planted {
		found := false
		for _, f := range r.Findings {
			if f.RuleID == p.rule && f.Object.String() == p.object {
				found = true
				if f.Loc.File == "" || f.Fix == "" || f.Reason == "" {
					t.Errorf("%s: finding lacks location, reason or fix: %+v", p.fault, f)
				}
			}
		}
		if !found {
			t.Errorf("planted fault not found: %s (%s on %s)", p.fault, p.rule, p.object)
		}
	}
	// The path goes to db-password through three layers at least.
	var db bool
	for _, ap := range r.Paths {
		for _, tgt := range ap.Targets {
			db = db || tgt == "myKV/db-password"
		}
		if len(ap.Path.Layers()) < 3 {
			t.Errorf("path %s crosses %v", ap.Path, ap.Path.Layers())
		}
	}
	if !db {
		t.Error("no attack path to myKV/db-password")
	}
}

func TestScorecard(t *testing.T) {
	r := exampleScan(t)
	got := map[finding.Layer]Status{}
	for _, s := range r.Scorecard {
		got[s.Layer] = s.Status
	}
	want := map[finding.Layer]Status{
		finding.LayerEntra: Fail, finding.LayerAPIServer: Pass, finding.LayerNetwork: Fail,
		finding.LayerPodSecurity: Fail, finding.LayerSecrets: Fail, finding.LayerImages: Fail,
	}
	for l, w := range want {
		if got[l] != w {
			t.Errorf("%s: %s, want %s", l, got[l], w)
		}
	}
	if len(r.Scorecard) != len(finding.Layers) {
		t.Errorf("scorecard has %d rows, want one per layer (%d)", len(r.Scorecard), len(finding.Layers))
	}
}

func TestScoreNotChecked(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "kubernetes"), 0o755)
	os.WriteFile(filepath.Join(dir, "kubernetes", "ns.yaml"), []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n"), 0o644)
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := env.New(s)
	sc := Score(e, nil)
	for _, row := range sc {
		if row.Layer == finding.LayerAPIServer && row.Status != NotChecked {
			t.Errorf("API server auth without aks.json: %s, want not-checked", row.Status)
		}
	}
}

func TestSuppressionsAndBaseline(t *testing.T) {
	fs := []finding.Finding{
		{RuleID: "AKS-NET-002", Severity: finding.Medium, Object: finding.Object{Kind: "Namespace", Name: "sandbox"}},
		{RuleID: "AKS-NET-002", Severity: finding.Medium, Object: finding.Object{Kind: "Namespace", Name: "prod"}},
		{RuleID: "AKS-PSA-001", Severity: finding.High, Object: finding.Object{Kind: "Namespace", Name: "sandbox"}},
	}
	file := filepath.Join(t.TempDir(), "s.yaml")
	os.WriteFile(file, []byte(`apiVersion: akssec.io/v1alpha1
kind: Suppressions
suppressions:
- rule: AKS-NET-002
  object: Namespace/sand*
  reason: isolated by the subnet NSG
- rule: AKS-PSA-001
  object: Namespace/sandbox
  reason: temporary
  expires: 2026-01-31
`), 0o644)
	sup, err := LoadSuppressions(file)
	if err != nil {
		t.Fatal(err)
	}
	kept, suppressed, expired := sup.Apply(fs, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	if len(suppressed) != 1 || suppressed[0].Finding.Object.Name != "sandbox" || suppressed[0].Reason != "isolated by the subnet NSG" {
		t.Errorf("suppressed = %+v", suppressed)
	}
	if len(kept) != 2 || len(expired) != 1 || expired[0].Rule != "AKS-PSA-001" {
		t.Errorf("kept %d, expired %+v: an expired suppression must stop applying", len(kept), expired)
	}
	// Before the expiry date (inclusive) it applies.
	_, suppressed, _ = sup.Apply(fs, time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC))
	if len(suppressed) != 2 {
		t.Errorf("on the expiry day: %d suppressed, want 2", len(suppressed))
	}
	base := Baseline{fs[1].Key(): true}
	if n := AtOrAbove(base.New(kept), finding.Medium); n != 1 {
		t.Errorf("new findings at or above medium = %d, want 1 (the baseline holds prod's)", n)
	}
	for _, bad := range []string{"kind: Suppressions\nsuppressions:\n- rule: X\n  object: Y\n", "kind: Other\n"} {
		os.WriteFile(file, []byte(bad), 0o644)
		if _, err := LoadSuppressions(file); err == nil || !strings.Contains(err.Error(), file) {
			t.Errorf("LoadSuppressions(%q) = %v, want an error naming the file", bad, err)
		}
	}
}

func TestRulesAreUnique(t *testing.T) {
	if _, err := finding.NewRegistry(Rules()...); err != nil {
		t.Fatal(err)
	}
}

func TestMergeSources(t *testing.T) {
	b := []string{"b", "d", "f"}
	bset := map[string]bool{"b": true, "d": true, "f": true}
	for _, tc := range []struct {
		a     []string
		max   int
		want  []string
		count int
	}{
		{nil, 10, []string{"b", "d", "f"}, 3},
		{[]string{"a", "d", "g"}, 10, []string{"a", "b", "d", "f", "g"}, 5},
		{[]string{"a", "d", "g"}, 2, []string{"a", "b"}, 5},
		{[]string{"d"}, 3, []string{"b", "d", "f"}, 3},
	} {
		got, count := mergeSources(tc.a, b, bset, tc.max)
		if diff := cmp.Diff(tc.want, got); diff != "" || count != tc.count {
			t.Errorf("mergeSources(%v, max %d): count %d, want %d; (-want +got):\n%s", tc.a, tc.max, count, tc.count, diff)
		}
	}
}
