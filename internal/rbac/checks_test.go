package rbac

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

func TestContosoFindings(t *testing.T) {
	a := contosoAuthorizer(t)
	fs := a.Check(context.Background())
	var got []string
	for _, f := range fs {
		got = append(got, f.RuleID+" "+f.Object.String())
		if f.Loc.File == "" || f.Fix == "" || f.Reason == "" {
			t.Errorf("%s %s: location, reason and fix are required: %+v", f.RuleID, f.Object, f)
		}
	}
	sort.Strings(got)
	for _, want := range []string{
		"AKS-ENTRA-001 RoleBinding/trading/trading-analysts-read",
		"AKS-ENTRA-003 ManagedCluster/aks-contoso-bank",
	} {
		i := sort.SearchStrings(got, want)
		if i == len(got) || got[i] != want {
			t.Errorf("missing finding %q in\n%s", want, cmp.Diff(nil, got))
		}
	}
	for _, g := range got {
		if g == "AKS-AUTH-001 ManagedCluster/aks-contoso-bank" {
			t.Errorf("local accounts are disabled in the example, got %q", g)
		}
	}
}
