package lab

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	entraemu "github.com/akssec/akssec/internal/emulator/entra"
	"github.com/akssec/akssec/internal/emulator/token"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

func TestEntraTokenValidator(t *testing.T) {
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := env.New(s)
	dir := t.TempDir()
	if _, err := EntraTokenValidator(dir, e); err == nil {
		t.Fatal("a lab directory without keys was accepted")
	}
	keys, err := token.LoadKeySet(filepath.Join(dir, entraKeysDir))
	if err != nil {
		t.Fatal(err)
	}
	if keys.SigningKeyID() == "" {
		if err := keys.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	v, err := EntraTokenValidator(dir, e)
	if err != nil {
		t.Fatal(err)
	}
	tok := func(aud string) string {
		raw, err := keys.Sign(map[string]any{"iss": entraemu.AccessTokenIssuer(TenantID(e)), "aud": aud, "oid": "o", "exp": time.Now().Add(time.Hour).Unix()})
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	if _, err := v.Validate(tok(AKSServerAppID)); err != nil {
		t.Errorf("a token for the AKS server application: %v", err)
	}
	if _, err := v.Validate(tok("https://vault.azure.net")); err == nil {
		t.Error("a Key Vault token was accepted by the API server's validator")
	}
}

func TestUserTokenPassesTheValidator(t *testing.T) {
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := env.New(s)
	dir := t.TempDir()
	raw, err := UserToken(dir, e, "carol@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	v, err := EntraTokenValidator(dir, e)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		UPN    string   `json:"upn"`
		Groups []string `json:"groups"`
	}
	if _, err := v.Validate(raw, &c); err != nil {
		t.Fatal(err)
	}
	if c.UPN != "carol@contoso.com" || len(c.Groups) != 1 || c.Groups[0] != "2b222222-0000-4000-8000-000000000002" {
		t.Errorf("claims = %+v", c)
	}
	if _, err := UserToken(dir, e, "aks-viewers"); err == nil {
		t.Error("a token for a group")
	}
}
