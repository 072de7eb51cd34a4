package lab_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/lab"
	"github.com/akssec/akssec/internal/snapshot"
)

// Example starts the lab for the bank snapshot and reads db-password as the
// myapp pod does: its projected service-account token exchanged for a Key
// Vault token by the real azidentity, the secret read by the real azsecrets.
func Example() {
	ctx := context.Background()
	s, err := snapshot.Load(ctx, "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "lab")
	defer os.RemoveAll(dir)
	l, err := lab.Start(ctx, env.New(s), lab.Options{Dir: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()

	opts := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: l.AuthorityHost}, Transport: l.HTTPClient()}
	token, _ := l.ServiceAccountToken("default", "myapp-sa")
	cred, _ := azidentity.NewClientAssertionCredential(l.TenantID, "c1000000-0000-4000-8000-000000000001",
		func(context.Context) (string, error) { return token, nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	client, _ := azsecrets.NewClient(l.VaultURL("myKV"), cred, &azsecrets.ClientOptions{ClientOptions: opts})
	secret, err := client.GetSecret(ctx, "db-password", "", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(secret.ID.Name(), "read, content type", *secret.ContentType)

	// myapp-identity has Key Vault Secrets User: reading is all it may do.
	_, err = client.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: new(string)}, nil)
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		fmt.Println("set:", re.StatusCode, re.ErrorCode)
	}
	// Output:
	// db-password read, content type text/plain
	// set: 403 Forbidden
}
