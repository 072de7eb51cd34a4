package lab

import (
	"errors"
	"strings"

	"github.com/akssec/akssec/internal/azure"
	entraemu "github.com/akssec/akssec/internal/emulator/entra"
	kvemu "github.com/akssec/akssec/internal/emulator/keyvault"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/keyvault"
	"github.com/akssec/akssec/internal/workloadid"
)

// federation decides client assertions with the workload identity engine.
func federation(e *env.Environment) entraemu.Federation {
	f := workloadid.NewFederation(e)
	return entraemu.FederationFunc(func(clientID, issuer, subject string, audiences []string) error {
		_, err := f.Exchange(clientID, issuer, subject, audiences)
		var ae *workloadid.AADSTSError
		if errors.As(err, &ae) {
			se := entraemu.NewSTSError(ae.Code, ae.Message)
			if ae.HTTPStatus != 0 {
				se.Status = ae.HTTPStatus
			}
			if ae.OAuthError != "" {
				se.OAuthError = ae.OAuthError
			}
			return se
		}
		return err
	})
}

// authorizer decides Key Vault operations with the secrets layer's engine.
// An attribute update needs the access-policy permission "set" but its own
// RBAC data action (secrets/update/action).
func authorizer(e *env.Environment) kvemu.Authorizer {
	engine := keyvault.New(e)
	vaults := map[string]*azure.Vault{}
	for _, v := range e.Azure.Vaults {
		vaults[strings.ToLower(v.Name)] = v
	}
	return kvemu.AuthorizerFunc(func(vault string, c kvemu.Caller, a kvemu.Action, update bool, secret string) kvemu.Decision {
		v := vaults[strings.ToLower(vault)]
		if v == nil {
			return kvemu.Decision{Code: "Forbidden", Message: "The vault " + vault + " is not in the snapshot."}
		}
		perm := string(a)
		if update && v.RBAC() {
			perm = "update"
		}
		d := engine.AuthorizeObject(v, keyvault.Caller{ObjectID: c.ObjectID, TenantID: c.TenantID, ApplicationID: c.ApplicationID},
			keyvault.TypeSecret, perm, secret)
		return kvemu.Decision{Allowed: d.Allowed, Status: d.Status, Code: d.Code, InnerCode: d.InnerCode, Message: d.Message}
	})
}
