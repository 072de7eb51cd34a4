package lab

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/go-cmp/cmp"
)

// aliceCredential signs alice in with the real DeviceCodeCredential; the
// prompt callback approves the code as the person at the browser would.
func aliceCredential(t testing.TB, l *Lab) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions: clientOptions(l), TenantID: l.TenantID, DisableInstanceDiscovery: true,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			return l.Entra.ApproveDeviceCode(m.UserCode, "alice@contoso.com")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func deployerCredential(t testing.TB, l *Lab, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(l.TenantID, deployerApp, secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions(l), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// TestSecretLifecycle drives every secret operation with azsecrets as alice
// (Key Vault Administrator on myKV, signed in by device code).
func TestSecretLifecycle(t *testing.T) {
	l := startLab(t, t.TempDir(), nil)
	ctx := context.Background()
	c := secretsClient(t, l, "myKV", aliceCredential(t, l))

	set, err := c.SetSecret(ctx, "new-secret", azsecrets.SetSecretParameters{Value: to.Ptr("v1"), ContentType: to.Ptr("text/plain")}, nil)
	if err != nil {
		t.Fatalf("SetSecret: %v", err)
	}
	v1 := set.ID.Version()
	// As az keyvault secret list shows for myKV (soft delete 90 days, purge
	// protection) in the snapshot.
	if got := []any{*set.Attributes.RecoveryLevel, *set.Attributes.RecoverableDays}; !cmp.Equal(got, []any{"Recoverable", int32(90)}) {
		t.Errorf("recovery attributes = %v, want [Recoverable 90]", got)
	}
	if _, err := c.SetSecret(ctx, "new-secret", azsecrets.SetSecretParameters{Value: to.Ptr("v2")}, nil); err != nil {
		t.Fatalf("SetSecret v2: %v", err)
	}
	latest, err := c.GetSecret(ctx, "new-secret", "", nil)
	if err != nil {
		t.Fatalf("GetSecret: %v", err)
	}
	old, err := c.GetSecret(ctx, "new-secret", v1, nil)
	if err != nil {
		t.Fatalf("GetSecret v1: %v", err)
	}
	if diff := cmp.Diff([]string{"v2", "v1", "text/plain"}, []string{*latest.Value, *old.Value, *old.ContentType}); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if got, want := *set.ID, azsecrets.ID(l.VaultURL("myKV")+"secrets/new-secret/"+v1); got != want {
		t.Errorf("secret ID = %s, want %s", got, want)
	}

	var names []string
	for p := c.NewListSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		for _, s := range page.Value {
			names = append(names, s.ID.Name())
		}
	}
	if diff := cmp.Diff([]string{"api-key", "db-password", "new-secret", "trading-api-key"}, names); diff != "" {
		t.Errorf("listed secrets (-want +got):\n%s", diff)
	}
	var versions int
	for p := c.NewListSecretPropertiesVersionsPager("new-secret", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list versions: %v", err)
		}
		versions += len(page.Value)
	}
	if versions != 2 {
		t.Errorf("versions = %d, want 2", versions)
	}

	if _, err := c.UpdateSecretProperties(ctx, "new-secret", v1, azsecrets.UpdateSecretPropertiesParameters{
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
		t.Fatalf("UpdateSecretProperties: %v", err)
	}
	_, err = c.GetSecret(ctx, "new-secret", v1, nil)
	if st, code := responseStatus(err); st != 403 || code != "Forbidden" {
		t.Errorf("get of a disabled version: %d %s, want 403 Forbidden (%v)", st, code, err)
	}

	del, err := c.DeleteSecret(ctx, "new-secret", nil)
	if err != nil {
		t.Fatalf("DeleteSecret: %v", err)
	}
	if del.RecoveryID == nil || !strings.HasSuffix(*del.RecoveryID, "/deletedsecrets/new-secret") {
		t.Errorf("recoveryId = %v", del.RecoveryID)
	}
	_, err = c.GetSecret(ctx, "new-secret", "", nil)
	if st, code := responseStatus(err); st != 404 || code != "SecretNotFound" {
		t.Errorf("get after delete: %d %s, want 404 SecretNotFound", st, code)
	}
	_, err = c.SetSecret(ctx, "new-secret", azsecrets.SetSecretParameters{Value: to.Ptr("v3")}, nil)
	if st, code := responseStatus(err); st != 409 || code != "Conflict" {
		t.Errorf("set while deleted: %d %s, want 409 Conflict", st, code)
	}
	if _, err := c.GetDeletedSecret(ctx, "new-secret", nil); err != nil {
		t.Errorf("GetDeletedSecret: %v", err)
	}
	if _, err := c.RecoverDeletedSecret(ctx, "new-secret", nil); err != nil {
		t.Fatalf("RecoverDeletedSecret: %v", err)
	}
	got, err := c.GetSecret(ctx, "new-secret", "", nil)
	if err != nil || *got.Value != "v2" {
		t.Fatalf("get after recover: %v", err)
	}
	// myKV has purge protection: a purge is refused.
	if _, err := c.DeleteSecret(ctx, "new-secret", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.PurgeDeletedSecret(ctx, "new-secret", nil)
	if st, _ := responseStatus(err); st != 403 {
		t.Errorf("purge with purge protection: status %d, want 403 (%v)", st, err)
	}
}

// TestAuthorization checks Key Vault's 403s for identities the snapshot
// does not grant, decided by the secrets layer's engine.
func TestAuthorization(t *testing.T) {
	l := startLab(t, t.TempDir(), nil)
	ctx := context.Background()
	myappTok, _ := l.ServiceAccountToken("default", "myapp-sa")
	myapp := workloadCredential(t, l, myappClient, myappTok)
	deployer := deployerCredential(t, l, l.ClientSecrets[deployerApp])
	tests := []struct {
		name      string
		vault     string
		cred      azcore.TokenCredential
		op        func(*azsecrets.Client) error
		wantCode  string
		wantInner string
	}{
		{"myapp reads db-password", "myKV", myapp, func(c *azsecrets.Client) error {
			_, err := c.GetSecret(ctx, "db-password", "", nil)
			return err
		}, "", ""},
		{"Key Vault Secrets User may not set", "myKV", myapp, func(c *azsecrets.Client) error {
			_, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
			return err
		}, "Forbidden", "ForbiddenByRbac"},
		{"a service principal without a role", "myKV", deployer, func(c *azsecrets.Client) error {
			_, err := c.GetSecret(ctx, "db-password", "", nil)
			return err
		}, "Forbidden", "ForbiddenByRbac"},
		{"access policy without get", "complianceKV", nil, func(c *azsecrets.Client) error {
			_, err := c.GetSecret(ctx, "reports-db-connection", "", nil)
			return err
		}, "Forbidden", "AccessDenied"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cred := tc.cred
			if cred == nil {
				reports, err := l.ServiceAccountToken("compliance", "reports-sa")
				if err != nil {
					t.Fatal(err)
				}
				cred = workloadCredential(t, l, reportsClient, reports)
			}
			err := tc.op(secretsClient(t, l, tc.vault, cred))
			st, code := responseStatus(err)
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if st != 403 || code != tc.wantCode || !strings.Contains(err.Error(), `"code": "`+tc.wantInner+`"`) {
				t.Errorf("got %d %s, want 403 %s/%s:\n%v", st, code, tc.wantCode, tc.wantInner, err)
			}
		})
	}
}

// TestPersistence restarts the lab on the same directory: secrets written
// before the restart are there after it, with the same client secrets.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	l := startLab(t, dir, nil)
	seeded := storedValue(t, l, "myKV", "db-password")
	secret := l.ClientSecrets[deployerApp]
	if _, err := secretsClient(t, l, "myKV", aliceCredential(t, l)).SetSecret(ctx, "kept", azsecrets.SetSecretParameters{Value: to.Ptr("survives")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := startLab(t, dir, nil)
	got, err := secretsClient(t, l2, "myKV", aliceCredential(t, l2)).GetSecret(ctx, "kept", "", nil)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if diff := cmp.Diff([]string{"survives", seeded, secret}, []string{*got.Value, storedValue(t, l2, "myKV", "db-password"), l2.ClientSecrets[deployerApp]}); diff != "" {
		t.Errorf("after restart (-want +got):\n%s", diff)
	}
}

// TestClientSecret: the lab-generated secret works, a wrong one gets
// AADSTS7000215.
func TestClientSecret(t *testing.T) {
	l := startLab(t, t.TempDir(), nil)
	ctx := context.Background()
	scope := []string{l.Resource + "/.default"}
	if _, err := deployerCredential(t, l, l.ClientSecrets[deployerApp]).GetToken(ctx, tokenOpts(scope)); err != nil {
		t.Fatalf("right secret: %v", err)
	}
	_, err := deployerCredential(t, l, "wrong").GetToken(ctx, tokenOpts(scope))
	if got := aadstsCode(err); got != "AADSTS7000215" {
		t.Errorf("wrong secret: code %q, want AADSTS7000215 (%v)", got, err)
	}
}

// TestListPaging: listings come in pages of 25 with a nextLink the SDK
// pager follows.
func TestListPaging(t *testing.T) {
	l := startLab(t, t.TempDir(), nil)
	ctx := context.Background()
	c := secretsClient(t, l, "myKV", aliceCredential(t, l))
	for i := range 30 {
		if _, err := c.SetSecret(ctx, fmt.Sprintf("page-%02d", i), azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var sizes []int
	for p := c.NewListSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		sizes = append(sizes, len(page.Value))
	}
	// 30 new secrets and the 3 the snapshot lists.
	if diff := cmp.Diff([]int{25, 8}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
}
