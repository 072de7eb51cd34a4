package lab

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/go-cmp/cmp"
)

type tokenClaims struct {
	Aud    string   `json:"aud"`
	Iss    string   `json:"iss"`
	Oid    string   `json:"oid"`
	Tid    string   `json:"tid"`
	Upn    string   `json:"upn,omitempty"`
	Groups []string `json:"groups,omitempty"`
	Idtyp  string   `json:"idtyp"`
	Appid  string   `json:"appid"`
	Ver    string   `json:"ver"`
}

func decodeClaims(t *testing.T, tok string) (tokenClaims, map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %d parts", len(parts))
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	var h map[string]any
	_ = json.Unmarshal(hdr, &h)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c tokenClaims
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c, h
}

// TestTokenClaims checks the claims AKS and Key Vault rely on, for a user
// (dave: compliance-auditors, nested in aks-viewers) signed in by device code
// for the AKS server application, and for a workload identity.
func TestTokenClaims(t *testing.T) {
	l := startLab(t, t.TempDir(), nil)
	ctx := context.Background()
	dave, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions: clientOptions(l), TenantID: l.TenantID, DisableInstanceDiscovery: true,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			if !strings.Contains(m.Message, m.UserCode) {
				t.Errorf("device code message %q does not name the code", m.Message)
			}
			return l.Entra.ApproveDeviceCode(m.UserCode, "dave@contoso.com")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	at, err := dave.GetToken(ctx, tokenOpts([]string{AKSServerAppID + "/.default"}))
	if err != nil {
		t.Fatalf("device code: %v", err)
	}
	got, hdr := decodeClaims(t, at.Token)
	want := tokenClaims{
		Aud: AKSServerAppID, Iss: "https://sts.windows.net/" + tenant + "/", Oid: "1a111111-0000-4000-8000-000000000004",
		Tid: tenant, Upn: "dave@contoso.com", Groups: []string{"2b222222-0000-4000-8000-000000000002", "2b222222-0000-4000-8000-000000000005"},
		Idtyp: "user", Appid: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", Ver: "1.0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("user token claims (-want +got):\n%s", diff)
	}
	if hdr["alg"] != "RS256" || hdr["kid"] != l.Entra.Keys().SigningKeyID() {
		t.Errorf("header = %v, want RS256 with the current kid", hdr)
	}

	sa, _ := l.ServiceAccountToken("default", "myapp-sa")
	at, err = workloadCredential(t, l, myappClient, sa).GetToken(ctx, tokenOpts([]string{l.Resource + "/.default"}))
	if err != nil {
		t.Fatal(err)
	}
	got, _ = decodeClaims(t, at.Token)
	want = tokenClaims{Aud: l.Resource, Iss: "https://sts.windows.net/" + tenant + "/", Oid: "d1000000-0000-4000-8000-000000000001",
		Tid: tenant, Idtyp: "app", Appid: myappClient, Ver: "1.0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("workload token claims (-want +got):\n%s", diff)
	}
}

// TestServiceAccountToken checks the projected token as the kubelet
// requests it: iss the cluster issuer exactly, sub, audience.
func TestServiceAccountToken(t *testing.T) {
	e := contoso(t)
	dir := t.TempDir()
	l := startLab(t, dir, nil)
	online, _ := l.ServiceAccountToken("default", "myapp-sa")
	offline, err := ServiceAccountToken(dir, e, "default", "myapp-sa")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{online, offline} {
		b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		var c struct {
			Iss string   `json:"iss"`
			Sub string   `json:"sub"`
			Aud []string `json:"aud"`
			K8s struct {
				Namespace      string `json:"namespace"`
				ServiceAccount struct {
					Name string `json:"name"`
				} `json:"serviceaccount"`
			} `json:"kubernetes.io"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		got := []string{c.Iss, c.Sub, strings.Join(c.Aud, ","), c.K8s.Namespace, c.K8s.ServiceAccount.Name}
		want := []string{"https://eastus.oic.prod-aks.azure.com/5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/",
			"system:serviceaccount:default:myapp-sa", "api://AzureADTokenExchange", "default", "myapp-sa"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("service-account token (-want +got):\n%s", diff)
		}
	}
	// The offline token (lab token --sa) is accepted by the running lab.
	if _, err := workloadCredential(t, l, myappClient, offline).GetToken(context.Background(), tokenOpts([]string{l.Resource + "/.default"})); err != nil {
		t.Errorf("offline token refused: %v", err)
	}
	// The issuer mirror serves discovery and JWKS.
	resp, err := l.HTTPClient().Get(l.IssuerMirror + ".well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&d)
	if d.Issuer != l.State.Issuer || d.JWKSURI != l.State.Issuer+"openid/v1/jwks" {
		t.Errorf("discovery = %+v", d)
	}
}

// TestKeyRotation: after a rotation new tokens carry the new kid and tokens
// signed with the previous key are still accepted by Key Vault; once the old
// key is retired they are refused with 401.
func TestKeyRotation(t *testing.T) {
	l := startLab(t, t.TempDir(), nil)
	ctx := context.Background()
	sa, _ := l.ServiceAccountToken("default", "myapp-sa")
	before, err := workloadCredential(t, l, myappClient, sa).GetToken(ctx, tokenOpts([]string{l.Resource + "/.default"}))
	if err != nil {
		t.Fatal(err)
	}
	oldKid := l.Entra.Keys().SigningKeyID()
	if err := l.Entra.Keys().Rotate(); err != nil {
		t.Fatal(err)
	}
	after, err := workloadCredential(t, l, myappClient, sa).GetToken(ctx, tokenOpts([]string{l.Resource + "/.default"}))
	if err != nil {
		t.Fatal(err)
	}
	_, h := decodeClaims(t, after.Token)
	if h["kid"] == oldKid {
		t.Errorf("token after rotation still signed with %s", oldKid)
	}
	get := func(tok string) int {
		req, _ := newRequest(l, "GET", l.VaultURL("myKV")+"secrets/db-password?api-version=7.6", tok)
		resp, err := l.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if diff := cmp.Diff([]int{200, 200}, []int{get(before.Token), get(after.Token)}); diff != "" {
		t.Errorf("status before retiring (-want +got):\n%s", diff)
	}
	if err := l.Entra.Keys().Retire(1); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{401, 200}, []int{get(before.Token), get(after.Token)}); diff != "" {
		t.Errorf("status after retiring (-want +got):\n%s", diff)
	}
}

// TestNoSecretInLogs captures the emulators' slog output at debug level
// through a session that writes, reads, lists and deletes secrets, and fails
// on any secret value, client secret or token found in it.
func TestNoSecretInLogs(t *testing.T) {
	logs := &syncBuffer{}
	l := startLab(t, t.TempDir(), logs)
	ctx := context.Background()
	c := secretsClient(t, l, "myKV", aliceCredential(t, l))
	const value = "s3cr3t-value-that-must-not-leak"
	if _, err := c.SetSecret(ctx, "leak-check", azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecret(ctx, "leak-check", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecret(ctx, "db-password", "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecret(ctx, "leak-check", nil); err != nil {
		t.Fatal(err)
	}
	_, _ = deployerCredential(t, l, "wrong-secret-guess").GetToken(ctx, tokenOpts([]string{l.Resource + "/.default"}))
	tok, _ := deployerCredential(t, l, l.ClientSecrets[deployerApp]).GetToken(ctx, tokenOpts([]string{l.Resource + "/.default"}))
	sa, _ := l.ServiceAccountToken("default", "myapp-sa")
	_, _ = workloadCredential(t, l, myappClient, sa).GetToken(ctx, tokenOpts([]string{l.Resource + "/.default"}))

	out := logs.String()
	if !strings.Contains(out, "leak-check") || !strings.Contains(out, "token issued") {
		t.Fatalf("the logs do not record the session, the check would be vacuous:\n%s", out)
	}
	forbidden := map[string]string{
		"set value": value, "seeded value": storedValue(t, l, "myKV", "db-password"),
		"client secret": l.ClientSecrets[deployerApp], "wrong client secret": "wrong-secret-guess",
		"access token": tok.Token, "service-account token": sa,
	}
	for what, s := range forbidden {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("the logs contain the %s", what)
		}
	}
}

// TestScheduledRotation: with KeyRotation set the lab rolls the Entra key
// by itself and keeps two keys published.
func TestScheduledRotation(t *testing.T) {
	l, err := Start(context.Background(), contoso(t), Options{Dir: t.TempDir(), Addr: "127.0.0.1:0", KeyRotation: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	first := l.Entra.Keys().SigningKeyID()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && (l.Entra.Keys().SigningKeyID() == first || len(l.Entra.Keys().JWKS().Keys) < 2) {
		time.Sleep(10 * time.Millisecond)
	}
	if l.Entra.Keys().SigningKeyID() == first {
		t.Fatal("the signing key was never rotated")
	}
	// Let several more rotations happen: never more than two keys.
	time.Sleep(200 * time.Millisecond)
	if n := len(l.Entra.Keys().JWKS().Keys); n != 2 {
		t.Errorf("%d keys published, want 2 (current and previous)", n)
	}
}
