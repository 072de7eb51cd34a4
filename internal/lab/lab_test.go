package lab

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// The contoso-bank example's identities and principals.
const (
	tenant        = "5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60"
	myappClient   = "c1000000-0000-4000-8000-000000000001"
	tradingClient = "c1000000-0000-4000-8000-000000000002"
	reportsClient = "c1000000-0000-4000-8000-000000000003"
	deployerApp   = "e5000000-0000-4000-8000-000000000001"
)

var (
	contosoOnce sync.Once
	contosoEnv  *env.Environment
	contosoErr  error
)

func contoso(t testing.TB) *env.Environment {
	t.Helper()
	contosoOnce.Do(func() {
		s, err := snapshot.Load(context.Background(), filepath.Join("..", "..", "examples", "contoso-bank"), snapshot.Options{})
		if err != nil {
			contosoErr = err
			return
		}
		contosoEnv = env.New(s)
	})
	if contosoErr != nil {
		t.Fatalf("loading contoso-bank: %v", contosoErr)
	}
	return contosoEnv
}

// syncBuffer is a log sink safe for the server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startLab(t testing.TB, dir string, logs *syncBuffer) *Lab {
	t.Helper()
	opts := Options{Dir: dir, Addr: "127.0.0.1:0"}
	if logs != nil {
		opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	l, err := Start(context.Background(), contoso(t), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func clientOptions(l *Lab) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: l.AuthorityHost},
		Transport: l.HTTPClient(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func workloadCredential(t testing.TB, l *Lab, clientID, assertion string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientAssertionCredential(l.TenantID, clientID,
		func(context.Context) (string, error) { return assertion, nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOptions(l), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func secretsClient(t testing.TB, l *Lab, vault string, cred azcore.TokenCredential) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(l.VaultURL(vault), cred, &azsecrets.ClientOptions{ClientOptions: clientOptions(l)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func storedValue(t testing.TB, l *Lab, vault, name string) string {
	t.Helper()
	_, v, err := l.Store.Get(vault, name, "", nowFunc())
	if err != nil {
		t.Fatalf("store get %s/%s: %v", vault, name, err)
	}
	return v.Value
}

func aadstsCode(err error) string {
	var ae *azidentity.AuthenticationFailedError
	if !errors.As(err, &ae) || ae.RawResponse == nil {
		return ""
	}
	s := err.Error()
	i := strings.Index(s, "AADSTS")
	if i < 0 {
		return ""
	}
	j := i + len("AADSTS")
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	return s[i:j]
}

func responseStatus(err error) (int, string) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode, re.ErrorCode
	}
	return 0, ""
}

var _ = os.Getenv
var _ = http.StatusOK
