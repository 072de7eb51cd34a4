package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func claims(tweak func(map[string]any)) map[string]any {
	c := map[string]any{"iss": "https://issuer/", "aud": "https://resource", "sub": "s",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	if tweak != nil {
		tweak(c)
	}
	return c
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestValidate covers what a validator must refuse (alg none, HMAC with the
// public key, another key under our kid, an unknown kid, expiry, a missing
// exp, not-yet-valid, issuer, audience) and what it accepts.
func TestValidate(t *testing.T) {
	ks, err := NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	kid := ks.SigningKeyID()
	sign := func(c map[string]any) string {
		s, err := ks.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Another key signing with our kid in the header.
	forged := func() string {
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: other.keys[0].priv},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		payload, _ := json.Marshal(claims(nil))
		jws, err := signer.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := jws.CompactSerialize()
		return out
	}
	none := b64(map[string]string{"alg": "none", "kid": kid, "typ": "JWT"}) + "." + b64(claims(nil)) + "."
	pubDER := x509.MarshalPKCS1PublicKey(&ks.keys[0].priv.PublicKey)
	hsInput := b64(map[string]string{"alg": "HS256", "kid": kid, "typ": "JWT"}) + "." + b64(claims(nil))
	mac := hmac.New(sha256.New, pubDER)
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	v := &Validator{Keys: ks.JWKS, Issuers: []string{"https://issuer/"}, Audiences: []string{"https://resource"}, Now: func() time.Time { return now }}
	tests := []struct {
		name  string
		token string
		want  error // nil = valid
	}{
		{"valid", sign(claims(nil)), nil},
		{"alg none", none, ErrMalformed},
		{"HS256 keyed with the public key", hs256, ErrMalformed},
		{"another key under our kid", forged(), ErrKey},
		{"unknown kid", func() string { s, _ := other.Sign(claims(nil)); return s }(), ErrKey},
		{"expired", sign(claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), ErrExpired},
		{"no exp", sign(claims(func(c map[string]any) { delete(c, "exp") })), ErrExpired},
		{"not yet valid", sign(claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), ErrExpired},
		{"issuer differs by a trailing slash", sign(claims(func(c map[string]any) { c["iss"] = "https://issuer" })), ErrIssuer},
		{"wrong audience", sign(claims(func(c map[string]any) { c["aud"] = "https://other" })), ErrAudience},
		{"audience list with ours", sign(claims(func(c map[string]any) { c["aud"] = []string{"x", "https://resource"} })), nil},
		{"garbage", "not.a.jwt", ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Validate(tc.token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Validate: %v, want %v", err, tc.want)
			}
		})
	}
}

// TestPersistedRotation: keys survive a reload in order, the newest signs,
// retired keys are gone from the JWKS and the directory.
func TestPersistedRotation(t *testing.T) {
	dir := t.TempDir()
	ks, err := LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	first := ks.SigningKeyID()
	if err := ks.Rotate(); err != nil {
		t.Fatal(err)
	}
	second := ks.SigningKeyID()
	again, err := LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.SigningKeyID(); got != second || second == first {
		t.Errorf("after reload the signing key is %s, want %s (first %s)", got, second, first)
	}
	if n := len(again.JWKS().Keys); n != 2 {
		t.Errorf("JWKS has %d keys, want 2", n)
	}
	if err := again.Retire(1); err != nil {
		t.Fatal(err)
	}
	third, err := LoadKeySet(dir)
	if err != nil {
		t.Fatal(err)
	}
	set := third.JWKS()
	if len(set.Keys) != 1 || len(set.Key(first)) != 0 {
		t.Errorf("after retiring, JWKS = %d keys, first still present: %v", len(set.Keys), len(set.Key(first)) != 0)
	}
}

func BenchmarkSign(b *testing.B) {
	ks, _ := NewKeySet()
	c := claims(nil)
	for b.Loop() {
		if _, err := ks.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	ks, _ := NewKeySet()
	tok, _ := ks.Sign(claims(nil))
	v := &Validator{Keys: ks.JWKS, Issuers: []string{"https://issuer/"}, Audiences: []string{"https://resource"}, Now: func() time.Time { return now }}
	for b.Loop() {
		if _, err := v.Validate(tok); err != nil {
			b.Fatal(err)
		}
	}
}
