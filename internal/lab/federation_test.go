package lab

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/google/go-cmp/cmp"
)

// TestFederatedExchange runs the token exchange with the real azidentity
// ClientAssertionCredential against the lab, for the federated success and
// each mismatch Entra reports (workload-identity-and-keyvault.md §2.4).
func TestFederatedExchange(t *testing.T) {
	l := startLab(t, t.TempDir(), nil)
	tok := func(ns, sa string, aud ...string) string {
		s, err := l.ServiceAccountToken(ns, sa, aud...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name      string
		clientID  string
		assertion string
		wantCode  string // "" = success
	}{
		{"myapp-sa federated to myapp-identity", myappClient, tok("default", "myapp-sa"), ""},
		{"trading issuer lacks the trailing slash", tradingClient, tok("trading", "trading-sa"), "AADSTS700211"},
		{"subject of another service account", myappClient, tok("default", "other-sa"), "AADSTS700213"},
		{"audience not api://AzureADTokenExchange", myappClient, tok("default", "myapp-sa", "api://AKSIdentityBinding"), "AADSTS700212"},
		{"client ID of no identity", "00000000-0000-4000-8000-00000000dead", tok("default", "myapp-sa"), "AADSTS700016"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred := workloadCredential(t, l, tc.clientID, tc.assertion)
			_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{l.Resource + "/.default"}})
			got := ""
			if err != nil {
				got = aadstsCode(err)
				if got == "" {
					t.Fatalf("GetToken: %v (no AADSTS code)", err)
				}
			}
			if diff := cmp.Diff(tc.wantCode, got); diff != "" {
				t.Errorf("AADSTS code (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}
