package lab

import (
	"fmt"
	"os"
	"path/filepath"

	entraemu "github.com/akssec/akssec/internal/emulator/entra"
	"github.com/akssec/akssec/internal/emulator/token"
	"github.com/akssec/akssec/internal/env"
)

// EntraTokenValidator validates the access tokens the lab's Entra emulator
// issues for the AKS server application, as AKS's authentication webhook
// validates Entra tokens: RS256 with the emulator's keys, the tenant's v1
// issuer, audience the AKS server application, unexpired.
func EntraTokenValidator(dir string, e *env.Environment) (*token.Validator, error) {
	keysDir := filepath.Join(dir, entraKeysDir)
	if _, err := os.Stat(keysDir); err != nil {
		return nil, fmt.Errorf("no Entra emulator keys in %s (run akssec lab up first): %w", dir, err)
	}
	keys, err := token.LoadKeySet(keysDir)
	if err != nil {
		return nil, err
	}
	return &token.Validator{Keys: keys.JWKS, Issuers: []string{entraemu.AccessTokenIssuer(TenantID(e))}, Audiences: []string{AKSServerAppID}}, nil
}

// UserToken is the access token the lab's Entra emulator gives user for the
// AKS server application (as kubelogin's device code sign-in would), to
// use with kubectl --token against an API server whose authentication
// webhook is akssec serve --entra-lab-dir.
func UserToken(dir string, e *env.Environment, user string) (string, error) {
	keys, err := token.LoadKeySet(filepath.Join(dir, entraKeysDir))
	if err != nil {
		return "", err
	}
	srv, err := entraemu.New(entraemu.Config{TenantID: TenantID(e), Directory: e.Directory, Keys: keys})
	if err != nil {
		return "", err
	}
	return srv.UserAccessToken(user, entraemu.KubeloginClientID, AKSServerAppID)
}
