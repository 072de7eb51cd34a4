package entra

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/emulator/oidc"
	"github.com/akssec/akssec/internal/emulator/token"
	directory "github.com/akssec/akssec/internal/entra"
)

const (
	tenant    = "11111111-1111-4111-8111-111111111111"
	clusterIs = "https://oidc.test/cluster/"
	miClient  = "c0000000-0000-4000-8000-000000000001"
	spClient  = "e0000000-0000-4000-8000-000000000001"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

type fixture struct {
	srv    *httptest.Server
	issuer *oidc.Issuer
}

// newFixture: a tenant with one managed identity (federated: the fake
// Federation accepts any assertion for it) and one service principal with a
// client secret; the cluster issuer's keys are reachable.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := directory.New(&azure.Data{
		Identities:        []*azure.Identity{{Name: "mi", ClientID: miClient, PrincipalID: "d0000000-0000-4000-8000-000000000001", TenantID: tenant}},
		ServicePrincipals: []*azure.ServicePrincipal{{ID: "f0000000-0000-4000-8000-000000000001", AppID: spClient, DisplayName: "sp", ServicePrincipalType: "Application"}},
	})
	keys, _ := token.NewKeySet()
	ikeys, _ := token.NewKeySet()
	is := &oidc.Issuer{URL: clusterIs, Keys: ikeys, Now: func() time.Time { return now }}
	s, err := New(Config{
		TenantID: tenant, Directory: dir, Keys: keys, ClientSecrets: map[string]string{spClient: "right"},
		Federation: FederationFunc(func(clientID, iss, sub string, aud []string) error {
			if !strings.EqualFold(clientID, miClient) {
				return NewSTSError(700016, "Application with identifier '"+clientID+"' was not found")
			}
			return nil
		}),
		AssertionKeys: func(iss string) (jose.JSONWebKeySet, bool) {
			if iss != clusterIs {
				return jose.JSONWebKeySet{}, false
			}
			return ikeys.JWKS(), true
		},
		Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &fixture{srv: srv, issuer: is}
}

type answer struct {
	Status int
	Error  string
	Codes  []int
}

func (f *fixture) post(t *testing.T, path string, form url.Values) (answer, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(f.srv.URL+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	a := answer{Status: resp.StatusCode}
	if e, ok := body["error"].(string); ok {
		a.Error = e
		for _, c := range body["error_codes"].([]any) {
			a.Codes = append(a.Codes, int(c.(float64)))
		}
		if d, _ := body["error_description"].(string); !strings.Contains(d, "\r\nTrace ID: ") || !strings.HasPrefix(d, "AADSTS") {
			t.Errorf("error_description %q lacks Entra's shape", d)
		}
	}
	return a, body
}

// TestTokenErrors: the token endpoint's AADSTS answers.
func TestTokenErrors(t *testing.T) {
	f := newFixture(t)
	sa := func(r oidc.Request) string {
		s, err := f.issuer.Token(r)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sa(oidc.Request{Namespace: "ns", ServiceAccount: "sa"})
	expired := (&oidc.Issuer{URL: clusterIs, Keys: f.issuer.Keys, Now: func() time.Time { return now.Add(-3 * time.Hour) }}).Token
	old, _ := expired(oidc.Request{Namespace: "ns", ServiceAccount: "sa"})
	otherKeys, _ := token.NewKeySet()
	forged, _ := (&oidc.Issuer{URL: clusterIs, Keys: otherKeys, Now: func() time.Time { return now }}).Token(oidc.Request{Namespace: "ns", ServiceAccount: "sa"})
	unknownIss, _ := (&oidc.Issuer{URL: "https://elsewhere.test/", Keys: f.issuer.Keys, Now: func() time.Time { return now }}).Token(oidc.Request{Namespace: "ns", ServiceAccount: "sa"})
	assertion := func(client, a string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {client}, "scope": {"https://vault.test/.default openid offline_access profile"},
			"client_assertion_type": {JWTBearer}, "client_assertion": {a}, "client_info": {"1"}}
	}
	secret := func(s string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {spClient}, "scope": {"https://vault.test/.default"}, "client_secret": {s}}
	}
	tests := []struct {
		name string
		path string
		form url.Values
		want answer
	}{
		{"federated", "/" + tenant + "/oauth2/v2.0/token", assertion(miClient, good), answer{Status: 200}},
		{"client secret", "/" + tenant + "/oauth2/v2.0/token", secret("right"), answer{Status: 200}},
		{"wrong client secret", "/" + tenant + "/oauth2/v2.0/token", secret("wrong"), answer{401, "invalid_client", []int{7000215}}},
		{"unknown tenant", "/22222222-2222-4222-8222-222222222222/oauth2/v2.0/token", secret("right"), answer{400, "invalid_request", []int{90002}}},
		{"unknown client (federation)", "/" + tenant + "/oauth2/v2.0/token", assertion("c0000000-0000-4000-8000-0000000000ff", good), answer{400, "unauthorized_client", []int{700016}}},
		{"expired assertion", "/" + tenant + "/oauth2/v2.0/token", assertion(miClient, old), answer{400, "invalid_client", []int{700024}}},
		{"assertion signed by another key", "/" + tenant + "/oauth2/v2.0/token", assertion(miClient, forged), answer{401, "invalid_client", []int{700027}}},
		{"issuer Entra cannot reach", "/" + tenant + "/oauth2/v2.0/token", assertion(miClient, unknownIss), answer{400, "invalid_request", []int{90061}}},
		{"malformed assertion", "/" + tenant + "/oauth2/v2.0/token", assertion(miClient, "x.y.z"), answer{400, "invalid_request", []int{50027}}},
		{"scope without /.default", "/" + tenant + "/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {spClient}, "scope": {"https://vault.test/read"}, "client_secret": {"right"}}, answer{400, "invalid_scope", []int{1002012}}},
		{"unsupported grant", "/" + tenant + "/oauth2/v2.0/token", url.Values{"grant_type": {"password"}}, answer{400, "unsupported_grant_type", []int{70003}}},
		{"unknown device code", "/" + tenant + "/oauth2/v2.0/token", url.Values{"grant_type": {"device_code"}, "client_id": {spClient}, "device_code": {"nope"}}, answer{400, "invalid_grant", []int{70000}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, body := f.post(t, tc.path, tc.form)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\n%v", diff, body)
			}
			if tc.want.Status == 200 && (body["access_token"] == nil || body["token_type"] != "Bearer") {
				t.Errorf("success body = %v", body)
			}
		})
	}
}

// TestAssertionTimeMessage: AADSTS700024 names the three times as Entra
// does (UTC round-trip format).
func TestAssertionTimeMessage(t *testing.T) {
	f := newFixture(t)
	old, _ := (&oidc.Issuer{URL: clusterIs, Keys: f.issuer.Keys, Now: func() time.Time { return now.Add(-3 * time.Hour) }}).Token(oidc.Request{Namespace: "ns", ServiceAccount: "sa"})
	_, body := f.post(t, "/"+tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {miClient},
		"scope": {"https://vault.test/.default"}, "client_assertion_type": {JWTBearer}, "client_assertion": {old}})
	want := "AADSTS700024: Client assertion is not within its valid time range. Current time: 2026-11-28T12:00:00.0000000Z, assertion valid from 2026-11-28T09:00:00.0000000Z, expiry time of assertion 2026-11-28T10:00:00.0000000Z."
	if d, _ := body["error_description"].(string); !strings.HasPrefix(d, want) {
		t.Errorf("error_description = %q, want prefix %q", d, want)
	}
}

// TestDeviceCodePending: polling before approval answers
// authorization_pending (which MSAL keeps polling on), after it a token.
func TestDeviceCodePending(t *testing.T) {
	f := newFixture(t)
	_, dc := f.post(t, "/"+tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "scope": {"https://vault.test/.default offline_access"}})
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {"04b07795-8ddb-461a-bbee-02f9e1bf7b46"}, "device_code": {dc["device_code"].(string)}}
	got, _ := f.post(t, "/"+tenant+"/oauth2/v2.0/token", poll)
	if diff := cmp.Diff(answer{400, "authorization_pending", []int{70016}}, got); diff != "" {
		t.Errorf("before approval (-want +got):\n%s", diff)
	}
	// A service principal cannot sign in at the device login page.
	resp, _ := http.PostForm(f.srv.URL+"/devicelogin", url.Values{"code": {dc["user_code"].(string)}, "user": {"sp"}})
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("approval as a service principal: status %d, want 400", resp.StatusCode)
	}
}

// TestDiscovery: the issuer shares the authority's scheme and host (MSAL
// rejects it otherwise) and names the tenant's endpoints.
func TestDiscovery(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest("GET", f.srv.URL+"/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
	req.Host = "localhost:8443"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&d)
	got := []any{d["issuer"], d["token_endpoint"], d["device_authorization_endpoint"], d["jwks_uri"]}
	want := []any{"https://localhost:8443/" + tenant + "/v2.0", "https://localhost:8443/" + tenant + "/oauth2/v2.0/token",
		"https://localhost:8443/" + tenant + "/oauth2/v2.0/devicecode", "https://localhost:8443/" + tenant + "/discovery/v2.0/keys"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
}
