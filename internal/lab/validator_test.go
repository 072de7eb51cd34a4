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
