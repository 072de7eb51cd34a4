package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/workloadid"
)

// childEnv marks the test binary re-executed as the workload process.
const childEnv = "AKSSEC_LAB2_WORKLOAD"

// TestMain runs the workload process when re-executed by TestLab2: an
// unmodified Azure SDK program that knows only its environment (what the
// webhook injects, the lab's CA bundle and proxy) and asks the vault for a
// secret. It prints the SHA-256 of the value, never the value.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "" {
		os.Exit(m.Run())
	}
	os.Exit(workload())
}

func workload() int {
	cred, err := azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{DisableInstanceDiscovery: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := azsecrets.NewClient(os.Getenv("VAULT_URL"), cred, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := c.GetSecret(context.Background(), os.Getenv("SECRET_NAME"), "", nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sum := sha256.Sum256([]byte(*s.Value))
	fmt.Println(hex.EncodeToString(sum[:]))
	return 0
}

// podEnv is the environment the workload identity webhook injects into the
// pod's first container (internal/workloadid.Mutate), with the authority
// host pointed at the lab as a pre-set env var would be.
func podEnv(t *testing.T, e *env.Environment, l *Lab, namespace, name string) map[string]string {
	t.Helper()
	var pod *env.Pod
	for _, p := range e.PodsIn(namespace) {
		if p.Name == name || (p.Workload != nil && p.Workload.Name == name) {
			pod = p
		}
	}
	if pod == nil {
		t.Fatalf("no pod %s/%s in the snapshot", namespace, name)
	}
	var sa *corev1.ServiceAccount
	if it := e.ServiceAccount(namespace, pod.Spec.ServiceAccountName); it != nil {
		sa = it.Obj
	}
	mutated, _, err := workloadid.Mutate(pod.Pod, sa, workloadid.WebhookConfig{TenantID: l.TenantID, AuthorityHost: l.AuthorityHost})
	if err != nil {
		t.Fatalf("webhook: %v", err)
	}
	out := map[string]string{}
	for _, v := range mutated.Spec.Containers[0].Env {
		out[v.Name] = v.Value
	}
	out["SERVICE_ACCOUNT"] = pod.Spec.ServiceAccountName
	return out
}

// TestLab2 is the seed's Lab 2 end to end: a separate process holding the
// pod's projected token and the webhook's env reads db-password from myKV;
// with the planted fault (trading-identity's federated credential issuer
// lacks the trailing slash) the same program fails with Entra's error.
func TestLab2(t *testing.T) {
	e := contoso(t)
	l := startLab(t, t.TempDir(), nil)
	tests := []struct {
		name, namespace, pod, secret string
		wantErr                      string // "" = success
	}{
		{"myapp reads db-password", "default", "myapp", "db-password", ""},
		{"trading-engine: issuer without trailing slash", "trading", "trading-engine", "trading-api-key", "AADSTS700211: No matching federated identity record found for presented assertion issuer 'https://eastus.oic.prod-aks.azure.com/5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			penv := podEnv(t, e, l, tc.namespace, tc.pod)
			for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST"} {
				if penv[k] == "" {
					t.Fatalf("webhook injected no %s", k)
				}
			}
			// The kubelet projects the token at the webhook's path; the
			// process here reads it from a file in the test's directory.
			tok, err := l.ServiceAccountToken(tc.namespace, penv["SERVICE_ACCOUNT"])
			if err != nil {
				t.Fatal(err)
			}
			tokenFile := filepath.Join(t.TempDir(), filepath.Base(penv["AZURE_FEDERATED_TOKEN_FILE"]))
			if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = []string{
				childEnv + "=1",
				"AZURE_CLIENT_ID=" + penv["AZURE_CLIENT_ID"],
				"AZURE_TENANT_ID=" + penv["AZURE_TENANT_ID"],
				"AZURE_FEDERATED_TOKEN_FILE=" + tokenFile,
				"AZURE_AUTHORITY_HOST=" + penv["AZURE_AUTHORITY_HOST"],
				"SSL_CERT_FILE=" + l.CAFile,
				"HTTPS_PROXY=http://" + l.ProxyAddr,
				"VAULT_URL=" + l.VaultURL("myKV"),
				"SECRET_NAME=" + tc.secret,
			}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("workload failed: %v\n%s", err, stderr.String())
				}
				sum := sha256.Sum256([]byte(storedValue(t, l, "myKV", tc.secret)))
				if got, want := strings.TrimSpace(stdout.String()), hex.EncodeToString(sum[:]); got != want {
					t.Errorf("workload read a value with SHA-256 %s, the vault holds %s", got, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("workload succeeded, want %s", tc.wantErr)
			}
			if !strings.Contains(stderr.String(), tc.wantErr) || !strings.Contains(stderr.String(), "WorkloadIdentityCredential authentication failed") {
				t.Errorf("workload error does not contain %q:\n%s", tc.wantErr, stderr.String())
			}
		})
	}
}
