package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/akssec/akssec/test/e2e/harness"
)

// contosoDir is the bundled example, the snapshot the webhooks serve.
const contosoDir = "../../examples/contoso-bank"

// webhook is a running `akssec serve`.
type webhook struct {
	addr  string
	caPEM []byte
	cmd   *exec.Cmd
	done  chan error
}

// startServe starts `akssec serve` on a loopback port with a new serving
// certificate and waits for its "serving on" line.
func startServe(t *testing.T, args ...string) *webhook {
	t.Helper()
	dir := t.TempDir()
	caPEM, certFile, keyFile, err := harness.WriteServingCert(dir, "akssec-webhook")
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	full := append([]string{"serve", "--listen", "127.0.0.1:0", "--tls-cert-file", certFile, "--tls-private-key-file", keyFile}, args...)
	cmd := exec.Command(suite.akssec, full...)
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &webhook{caPEM: caPEM, cmd: cmd, done: make(chan error, 1)}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() { w.done <- cmd.Wait(); logFile.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			if b, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("akssec serve log:\n%s", tail(b, 4000))
			}
		}
	})
	select {
	case l := <-lines:
		w.addr = strings.TrimPrefix(l, "serving on ")
	case err := <-w.done:
		b, _ := os.ReadFile(logFile.Name())
		t.Fatalf("akssec serve exited: %v\n%s", err, b)
	case <-time.After(2 * time.Minute):
		t.Fatal("akssec serve did not start")
	}
	return w
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// TestAdmissionWebhook registers `akssec serve` as a validating webhook for
// pods and creates pods through the real API server: an unapproved image
// and a privileged container are denied with the Azure Policy's display
// name, an approved image is admitted.
func TestAdmissionWebhook(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	w := startServe(t, "-e", contosoDir)
	const ns = "team-alpha" // no PSA labels here: the webhook alone decides
	makeNamespace(t, ns, nil)
	name := "akssec-validate.e2e.akssec.io"
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "akssec-e2e"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: name,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{
				URL: ptr.To("https://" + w.addr + "/validate"), CABundle: w.caPEM,
			},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr.To[int32](10),
		}},
	}
	if _, err := suite.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = suite.client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(context.Background(), cfg.Name, metav1.DeleteOptions{})
	})

	create := func(p *corev1.Pod) error {
		_, err := suite.client.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	// The API server picks the configuration up through an informer: wait
	// until the webhook answers.
	bad := makePod(ns, "nginx", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "docker.io/library/nginx:1.27" })
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		lastErr = create(bad)
		return lastErr != nil, nil
	})
	if err != nil {
		t.Fatalf("the webhook never denied an unapproved image: %v", err)
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		wantErr []string
	}{
		{"unapproved image", bad, []string{
			`admission webhook "` + name + `" denied the request: [azurepolicy-k8sazurev2containerallowedimag-`,
			"Container image docker.io/library/nginx:1.27 for container app has not been allowed.",
			`Azure Policy "Kubernetes cluster containers should only use allowed images"`,
		}},
		{"privileged container", makePod(ns, "priv", privileged), []string{
			`admission webhook "` + name + `" denied the request: `,
			"Privileged container is not allowed: app",
			`Azure Policy "Kubernetes cluster should not allow privileged containers"`,
		}},
		{"approved image", makePod(ns, "ok"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := create(tt.pod)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("denied: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("admitted")
			}
			if !apierrors.IsForbidden(err) {
				t.Errorf("error %v is not a 403", err)
			}
			for _, s := range tt.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

// TestAuthorizationWebhook starts a second API server that authorizes with
// RBAC, then `akssec serve --chain full` as its authorization webhook, and
// asks it what the seed's Lab 1 asks: carol (through aks-viewers, bound to
// view in the snapshot but not on this cluster) may list pods, not delete
// them.
func TestAuthorizationWebhook(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	w := startServe(t, "-e", contosoDir, "--chain", "full")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "webhook-ca.crt")
	if err := os.WriteFile(caFile, w.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(dir, "authz-webhook.kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: akssec
  cluster:
    server: https://%s/authorize
    certificate-authority: %s
users:
- name: apiserver
  user: {}
contexts:
- name: webhook
  context: {cluster: akssec, user: apiserver}
current-context: webhook
`, w.addr, caFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	bins, err := harness.FindBinaries()
	if err != nil {
		t.Skip(err)
	}
	// aks-viewers' object ID, from the example's groups.json.
	const viewers = "2b222222-0000-4000-8000-000000000002"
	carol := harness.TokenUser{Token: "carol-token", Name: "carol@contoso.com", Groups: []string{viewers}}
	c, err := harness.Start(ctx, bins, harness.Options{
		Users:              []harness.TokenUser{carol},
		AuthorizationModes: []string{"RBAC", "Webhook"},
		ExtraArgs: []string{"--authorization-webhook-config-file=" + kubeconfig, "--authorization-webhook-version=v1",
			"--authorization-webhook-cache-authorized-ttl=0s", "--authorization-webhook-cache-unauthorized-ttl=0s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		verb    string
		allowed bool
	}{
		{"list", true},
		{"get", true},
		{"delete", false},
		{"create", false},
	}
	for _, tt := range tests {
		t.Run(tt.verb, func(t *testing.T) {
			r, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
				User: "carol@contoso.com", Groups: []string{viewers, "system:authenticated"},
				ResourceAttributes: &authzv1.ResourceAttributes{Verb: tt.verb, Resource: "pods", Namespace: "default"},
			}}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status.Allowed != tt.allowed {
				t.Errorf("%s pods: allowed = %v, want %v (reason %q, error %q)", tt.verb, r.Status.Allowed, tt.allowed, r.Status.Reason, r.Status.EvaluationError)
			}
			if tt.allowed && !strings.Contains(r.Status.Reason, "ClusterRoleBinding") {
				t.Errorf("reason %q does not name the snapshot's binding", r.Status.Reason)
			}
		})
	}

	// Lab 1 with kubectl, the real client, as carol: the viewer lists
	// pods; deleting one is forbidden with the API server's message.
	kc, err := c.KubeconfigFor(carol)
	if err != nil {
		t.Fatal(err)
	}
	kubectl := func(args ...string) (string, error) {
		out, err := exec.Command("kubectl", append([]string{"--kubeconfig", kc}, args...)...).CombinedOutput()
		return string(out), err
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Skip("kubectl is not installed")
	}
	if out, err := kubectl("get", "pods"); err != nil {
		t.Errorf("kubectl get pods as carol: %v\n%s", err, out)
	}
	out, err := kubectl("delete", "pod", "myapp")
	if want := `pods "myapp" is forbidden: User "carol@contoso.com" cannot delete resource "pods" in API group "" in the namespace "default"`; err == nil || !strings.Contains(out, want) {
		t.Errorf("kubectl delete pod as carol: %v\n%s\nwant %q", err, out, want)
	}
	if out, _ := kubectl("auth", "can-i", "delete", "pods"); strings.TrimSpace(out) != "no" {
		t.Errorf("kubectl auth can-i delete pods as carol = %q, want no", out)
	}
}
