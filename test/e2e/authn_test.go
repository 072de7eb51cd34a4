package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akssec/akssec/test/e2e/harness"
)

// webhookKubeconfig writes the kubeconfig kube-apiserver uses to call one
// of akssec serve's endpoints.
func webhookKubeconfig(t *testing.T, dir, name string, w *webhook, path string) string {
	t.Helper()
	caFile := filepath.Join(dir, name+"-ca.crt")
	if err := os.WriteFile(caFile, w.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".kubeconfig")
	if err := os.WriteFile(p, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: akssec
  cluster:
    server: https://%s%s
    certificate-authority: %s
users:
- name: apiserver
  user: {}
contexts:
- name: webhook
  context: {cluster: akssec, user: apiserver}
current-context: webhook
`, w.addr, path, caFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAuthenticationWebhook is Lab 1 end to end through akssec's
// authentication: carol's Entra access token (issued by the lab's Entra
// emulator for the AKS server application) is presented by kubectl, the
// API server asks akssec serve /authenticate (TokenReview, mapped as AKS's
// Guard maps it: username from upn, groups from the token), and RBAC plus
// the authorization webhook decide: she lists pods and may not delete them.
func TestAuthenticationWebhook(t *testing.T) {
	requireCluster(t)
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatal("kubectl is not installed; the end-to-end suite needs the real client")
	}
	ctx := context.Background()
	dir := t.TempDir()
	labDir := filepath.Join(dir, "lab")
	tok, stderr, code := akssec(t, nil, "lab", "token", "--dir", labDir, "-e", contosoDir, "--user", "carol@contoso.com")
	if code != 0 {
		t.Fatalf("akssec lab token --user: exit %d: %s", code, stderr)
	}
	jwt := strings.TrimSpace(string(tok))
	w := startServe(t, "-e", contosoDir, "--chain", "full", "--entra-lab-dir", labDir)
	authn := webhookKubeconfig(t, dir, "authn", w, "/authenticate")
	authz := webhookKubeconfig(t, dir, "authz", w, "/authorize")
	bins, err := harness.FindBinaries()
	if err != nil {
		t.Skip(err)
	}
	c, err := harness.Start(ctx, bins, harness.Options{
		AuthorizationModes: []string{"RBAC", "Webhook"},
		ExtraArgs: []string{
			"--authentication-token-webhook-config-file=" + authn, "--authentication-token-webhook-version=v1",
			"--authentication-token-webhook-cache-ttl=0s",
			"--authorization-webhook-config-file=" + authz, "--authorization-webhook-version=v1",
			"--authorization-webhook-cache-authorized-ttl=0s", "--authorization-webhook-cache-unauthorized-ttl=0s",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	rc := c.RestConfig()
	kc := filepath.Join(dir, "carol.kubeconfig")
	if err := os.WriteFile(kc, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster: {server: %s, certificate-authority-data: %s}
users:
- name: carol
  user: {token: %s}
contexts:
- name: carol
  context: {cluster: e2e, user: carol, namespace: default}
current-context: carol
`, rc.Host, base64.StdEncoding.EncodeToString(rc.TLSClientConfig.CAData), jwt)), 0o600); err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) (string, error) {
		out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kc}, args...)...).CombinedOutput()
		return string(out), err
	}
	who, err := kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username} {.status.userInfo.groups}")
	if err != nil || !strings.Contains(who, "carol@contoso.com") || !strings.Contains(who, "2b222222-0000-4000-8000-000000000002") {
		t.Errorf("kubectl auth whoami as carol: %v\n%s", err, who)
	}
	if out, err := kubectl("get", "pods", "-A"); err != nil {
		t.Errorf("kubectl get pods -A as carol: %v\n%s", err, out)
	}
	out, err := kubectl("delete", "pod", "myapp")
	if want := `pods "myapp" is forbidden: User "carol@contoso.com" cannot delete resource "pods" in API group "" in the namespace "default"`; err == nil || !strings.Contains(out, want) {
		t.Errorf("kubectl delete pod as carol: %v\n%s\nwant %q", err, out, want)
	}
	// A token the emulator did not sign is refused by the webhook: 401.
	bad := jwt[:strings.LastIndex(jwt, ".")+1] + "AAAA"
	forged, err := exec.Command("kubectl", "--kubeconfig", kc, "--token", bad, "get", "pods").CombinedOutput()
	if err == nil || !strings.Contains(string(forged), "Unauthorized") {
		t.Errorf("kubectl with a forged token: %v\n%s", err, forged)
	}
}
