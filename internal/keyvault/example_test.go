package keyvault_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/keyvault"
	"github.com/akssec/akssec/internal/snapshot"
)

// Key Vault's answer to reports-identity reading a secret of complianceKV,
// where its access policy grants only list.
func ExampleAuthorizer_Authorize() {
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		panic(err)
	}
	e := env.New(s)
	a := keyvault.New(e)
	var vault = e.Azure.Vaults[0]
	for _, v := range e.Azure.Vaults {
		if v.Name == "complianceKV" {
			vault = v
		}
	}
	c := keyvault.Caller{ObjectID: "d1000000-0000-4000-8000-000000000003", TenantID: "5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60", ApplicationID: "c1000000-0000-4000-8000-000000000003"}
	for _, act := range []keyvault.SecretAction{keyvault.SecretList, keyvault.SecretGet} {
		d := a.Authorize(vault, c, act, "reports-db-connection")
		fmt.Println(strings.TrimSpace(fmt.Sprintln(act, d.Allowed, d.Model, d.Status, d.Code, d.InnerCode)))
	}
	// Output:
	// list true access policy 200
	// get false access policy 403 Forbidden AccessDenied
}
