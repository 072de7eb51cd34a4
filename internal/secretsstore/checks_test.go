package secretsstore

import (
	"context"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/finding"
)

func TestRulesRegistry(t *testing.T) {
	if _, err := finding.NewRegistry(Rules()...); err != nil {
		t.Fatal(err)
	}
}

// TestExampleFindings checks the planted faults of the example that belong
// to this layer, and that each has evidence and a fix.
func TestExampleFindings(t *testing.T) {
	e := bank(t)
	fs := Check(context.Background(), e)
	var got []string
	for _, f := range fs {
		got = append(got, f.RuleID+" "+f.Object.String())
		if f.Fix == "" || len(f.Evidence) == 0 || f.Loc.File == "" {
			t.Errorf("%s %s lacks a fix, evidence or location", f.RuleID, f.Object)
		}
	}
	sort.Strings(got)
	want := []string{
		"AKS-KV-001 SecretProviderClass/compliance/legacy-secrets",
		"AKS-KV-002 Deployment/compliance/reports-generator",
		"AKS-KV-003 Deployment/trading/trading-engine",
		"AKS-KV-004 ManagedIdentity/reports-identity",
		"AKS-KV-005 KeyVault/complianceKV",
		"AKS-WI-002 Pod/compliance/audit-exporter",
		"AKS-WI-003 FederatedIdentityCredential/trading/trading-identity/trading-fic",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}
