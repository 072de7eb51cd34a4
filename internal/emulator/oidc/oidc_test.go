package oidc

import (
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/emulator/token"
)

// TestIssuer: discovery names the issuer exactly and the JWKS under it, as
// kube-apiserver and AKS publish them; a token has the kubelet's claims
// (aud always an array) and validates against the served JWKS.
func TestIssuer(t *testing.T) {
	keys, err := token.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	is := &Issuer{URL: "https://eastus.oic.prod-aks.azure.com/t/u/", Keys: keys, Now: func() time.Time { return now }}
	srv := httptest.NewServer(is.Handler())
	defer srv.Close()

	var d Discovery
	resp, err := srv.Client().Get(srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	want := Discovery{Issuer: is.URL, JWKSURI: is.URL + "openid/v1/jwks", ResponseTypes: []string{"id_token"},
		SubjectTypes: []string{"public"}, SigningAlgs: []string{"RS256"}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("discovery (-want +got):\n%s", diff)
	}
	var set jose.JSONWebKeySet
	resp, err = srv.Client().Get(srv.URL + "/openid/v1/jwks")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()

	tok, err := is.Token(Request{Namespace: "default", ServiceAccount: "myapp-sa", Pod: "myapp"})
	if err != nil {
		t.Fatal(err)
	}
	v := token.Validator{Keys: func() jose.JSONWebKeySet { return set }, Issuers: []string{is.URL},
		Audiences: []string{DefaultAudience}, Now: func() time.Time { return now }}
	if _, err := v.Validate(tok); err != nil {
		t.Fatalf("token does not validate against the served JWKS: %v", err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	var c map[string]any
	_ = json.Unmarshal(raw, &c)
	got := []any{c["sub"], c["aud"], c["exp"].(float64) - c["iat"].(float64), c["kubernetes.io"].(map[string]any)["pod"].(map[string]any)["name"]}
	if diff := cmp.Diff([]any{"system:serviceaccount:default:myapp-sa", []any{DefaultAudience}, 3600.0, "myapp"}, got); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
}
