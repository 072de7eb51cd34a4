package workloadid

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

const (
	testTenant = "5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60"
	testIssuer = "https://eastus.oic.prod-aks.azure.com/5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60/0d6b7c1e-1111-2222-3333-444455556666/"
	idRG       = "/subscriptions/sub/resourcegroups/rg-bank/providers/Microsoft.ManagedIdentity/userAssignedIdentities/"
)

func testEnv(ids []*azure.Identity, fics []*azure.FederatedCredential) *env.Environment {
	return env.New(&snapshot.Snapshot{Azure: azure.Data{Identities: ids, FederatedCredentials: fics}})
}

func identity(name, client string) *azure.Identity {
	return &azure.Identity{ID: idRG + name, Name: name, ClientID: client, PrincipalID: "oid-" + name, TenantID: testTenant}
}

func fic(identityName, name, issuer, subject string, aud ...string) *azure.FederatedCredential {
	return &azure.FederatedCredential{Identity: identityName, ID: idRG + identityName + "/federatedIdentityCredentials/" + name,
		Name: name, Issuer: issuer, Subject: subject, Audiences: aud}
}

func TestExchange(t *testing.T) {
	e := testEnv(
		[]*azure.Identity{identity("myapp-identity", "11111111-aaaa-bbbb-cccc-000000000001"), identity("trading-identity", "11111111-aaaa-bbbb-cccc-000000000002"), identity("reports-identity", "11111111-aaaa-bbbb-cccc-000000000003")},
		[]*azure.FederatedCredential{
			fic("myapp-identity", "myapp-fic", testIssuer, "system:serviceaccount:default:myapp-sa", TokenExchangeAudience),
			// trailing slash missing: the planted fault
			fic("trading-identity", "trading-fic", testIssuer[:len(testIssuer)-1], "system:serviceaccount:trading:trading-sa", TokenExchangeAudience),
			fic("reports-identity", "reports-fic", testIssuer, "system:serviceaccount:trading:Reports-SA", TokenExchangeAudience),
			fic("myapp-identity", "myapp-other-aud", testIssuer, "system:serviceaccount:default:other-sa", "api://AKSIdentityBinding"),
		})
	type want struct {
		credential string
		code       int
		status     int
		oauth      string
		message    string
	}
	tests := []struct {
		name             string
		client, iss, sub string
		aud              []string
		want             want
	}{
		{"match", "11111111-AAAA-bbbb-cccc-000000000001", testIssuer, "system:serviceaccount:default:myapp-sa", []string{TokenExchangeAudience}, want{credential: "myapp-fic"}},
		{"match among several audiences", "11111111-aaaa-bbbb-cccc-000000000001", testIssuer, "system:serviceaccount:default:myapp-sa", []string{"x", TokenExchangeAudience}, want{credential: "myapp-fic"}},
		{"unknown client", "99999999-aaaa-bbbb-cccc-000000000009", testIssuer, "system:serviceaccount:default:myapp-sa", []string{TokenExchangeAudience},
			want{code: 700016, status: 400, oauth: "unauthorized_client", message: "AADSTS700016: Application with identifier '99999999-aaaa-bbbb-cccc-000000000009' was not found in the directory '" + testTenant + "'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."}},
		{"issuer lacks trailing slash in FIC", "11111111-aaaa-bbbb-cccc-000000000002", testIssuer, "system:serviceaccount:trading:trading-sa", []string{TokenExchangeAudience},
			want{code: 700211, status: 401, oauth: "invalid_client", message: "AADSTS700211: No matching federated identity record found for presented assertion issuer '" + testIssuer + "'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"}},
		{"issuer differs in case", "11111111-aaaa-bbbb-cccc-000000000001", "https://EASTUS.oic.prod-aks.azure.com/x/", "system:serviceaccount:default:myapp-sa", []string{TokenExchangeAudience},
			want{code: 700211, status: 401, oauth: "invalid_client", message: "AADSTS700211: No matching federated identity record found for presented assertion issuer 'https://EASTUS.oic.prod-aks.azure.com/x/'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"}},
		{"subject mismatch", "11111111-aaaa-bbbb-cccc-000000000001", testIssuer, "system:serviceaccount:default:default", []string{TokenExchangeAudience},
			want{code: 700213, status: 401, oauth: "invalid_client", message: "AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:default:default'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"}},
		{"subject matches only ignoring case", "11111111-aaaa-bbbb-cccc-000000000003", testIssuer, "system:serviceaccount:trading:reports-sa", []string{TokenExchangeAudience},
			want{code: 7002138, status: 401, oauth: "invalid_client", message: "AADSTS7002138: No matching federated identity record found for presented assertion subject 'system:serviceaccount:trading:reports-sa'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: https://learn.microsoft.com/entra/workload-id/workload-identity-federation. See breaking change notification and remediation at: https://learn.microsoft.com/en-us/entra/identity-platform/reference-breaking-changes#august-2024."}},
		{"audience mismatch", "11111111-aaaa-bbbb-cccc-000000000001", testIssuer, "system:serviceaccount:default:other-sa", []string{TokenExchangeAudience},
			want{code: 700212, status: 401, oauth: "invalid_client", message: "AADSTS700212: No matching federated identity record found for presented assertion audience 'api://AzureADTokenExchange'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation"}},
		{"empty client", "", testIssuer, "system:serviceaccount:default:myapp-sa", []string{TokenExchangeAudience},
			want{code: 700016, status: 400, oauth: "unauthorized_client", message: "AADSTS700016: Application with identifier '' was not found in the directory '" + testTenant + "'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Exchange(e, tt.client, tt.iss, tt.sub, tt.aud)
			var got want
			if err != nil {
				var ae *AADSTSError
				if !errors.As(err, &ae) {
					t.Fatalf("error %T is not *AADSTSError", err)
				}
				got = want{code: ae.Code, status: ae.HTTPStatus, oauth: ae.OAuthError, message: ae.Error()}
			} else {
				got.credential = res.Credential.Name
				if res.ObjectID != res.Identity.PrincipalID || res.TenantID != testTenant {
					t.Errorf("token claims oid=%s tid=%s, want the identity's", res.ObjectID, res.TenantID)
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("Exchange (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExchangeCredentialsByNameWithoutIDs(t *testing.T) {
	id := identity("alpha-ci-identity", "c1")
	f := &azure.FederatedCredential{Identity: "alpha-ci-identity", Name: "f", Issuer: testIssuer, Subject: "system:serviceaccount:team-alpha:alpha-ci-sa", Audiences: []string{TokenExchangeAudience}}
	other := &azure.FederatedCredential{Identity: "other", Name: "g", Issuer: testIssuer, Subject: "system:serviceaccount:team-alpha:x", Audiences: []string{TokenExchangeAudience}}
	e := testEnv([]*azure.Identity{id}, []*azure.FederatedCredential{f, other})
	if _, err := Exchange(e, "c1", testIssuer, "system:serviceaccount:team-alpha:alpha-ci-sa", []string{TokenExchangeAudience}); err != nil {
		t.Errorf("Exchange: %v, want a match by identity name", err)
	}
	_, err := Exchange(e, "c1", testIssuer, "system:serviceaccount:team-alpha:x", []string{TokenExchangeAudience})
	var ae *AADSTSError
	if !errors.As(err, &ae) || ae.Code != CodeSubjectMismatch {
		t.Errorf("Exchange with another identity's subject: %v, want AADSTS700213", err)
	}
}

func TestExchangeInTenantAndUnbound(t *testing.T) {
	id := identity("trading-identity", "c2")
	good := fic("trading-identity", "good", testIssuer, "system:serviceaccount:trading:a", TokenExchangeAudience)
	slash := fic("trading-identity", "slash", testIssuer[:len(testIssuer)-1], "system:serviceaccount:trading:b", TokenExchangeAudience)
	aud := fic("trading-identity", "aud", testIssuer, "system:serviceaccount:trading:c", "api://other")
	gh := fic("trading-identity", "gh", "https://token.actions.githubusercontent.com", "repo:contoso/x:ref:refs/heads/main", TokenExchangeAudience)
	e := testEnv([]*azure.Identity{id}, []*azure.FederatedCredential{good, slash, aud, gh})
	e.Cluster = &azure.ManagedCluster{OIDCIssuerProfile: &azure.OIDCIssuerProfile{Enabled: true, IssuerURL: testIssuer}}
	f := NewFederation(e)
	if _, err := f.ExchangeInTenant("other-tenant", "c2", testIssuer, "system:serviceaccount:trading:a", []string{TokenExchangeAudience}); err == nil ||
		err.Error() != ApplicationNotFound("c2", "other-tenant").Error() {
		t.Errorf("exchange in another tenant: %v, want AADSTS700016 naming other-tenant", err)
	}
	if _, err := f.ExchangeInTenant(testTenant, "c2", testIssuer, "system:serviceaccount:trading:a", []string{TokenExchangeAudience}); err != nil {
		t.Errorf("exchange in the identity's tenant: %v", err)
	}
	var got []string
	for _, u := range f.Unbound(id) {
		got = append(got, fmt.Sprintf("%s %d", u.Credential.Name, u.Error.Code))
	}
	if diff := cmp.Diff([]string{"slash 700211", "aud 700212"}, got); diff != "" {
		t.Errorf("Unbound (-want +got):\n%s", diff)
	}
	var bound []string
	for _, b := range f.Bindings() {
		bound = append(bound, b.Namespace+"/"+b.ServiceAccount+" "+b.Credential.Name)
	}
	if diff := cmp.Diff([]string{"trading/a good"}, bound); diff != "" {
		t.Errorf("Bindings (-want +got):\n%s", diff)
	}
}

func BenchmarkFederationExchange(b *testing.B) {
	e := testEnv([]*azure.Identity{identity("myapp-identity", "c1")},
		[]*azure.FederatedCredential{fic("myapp-identity", "f", testIssuer, "system:serviceaccount:default:myapp-sa", TokenExchangeAudience)})
	f := NewFederation(e)
	aud := []string{TokenExchangeAudience}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := f.Exchange("c1", testIssuer, "system:serviceaccount:default:myapp-sa", aud); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAssertionTimeErrorFormat(t *testing.T) {
	now := time.Date(2024, 10, 2, 22, 5, 3, 675516500, time.FixedZone("CEST", 2*3600))
	err := AssertionTimeError(now, now.Add(-time.Hour), now.Add(-time.Minute))
	want := "AADSTS700024: Client assertion is not within its valid time range. Current time: 2024-10-02T20:05:03.6755165Z, assertion valid from 2024-10-02T19:05:03.6755165Z, expiry time of assertion 2024-10-02T20:04:03.6755165Z."
	if err.Error() != want {
		t.Errorf("got  %s\nwant %s", err.Error(), want)
	}
}
