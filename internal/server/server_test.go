package server

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/akssec/akssec/internal/emulator/token"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

var (
	contosoOnce sync.Once
	contoso     *Engines
	contosoErr  error
)

// contosoEngines prepares the bundled example once for every test.
func contosoEngines(t testing.TB) *Engines {
	t.Helper()
	contosoOnce.Do(func() {
		s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
		if err != nil {
			contosoErr = err
			return
		}
		contoso, contosoErr = Prepare(context.Background(), env.New(s))
	})
	if contosoErr != nil {
		t.Fatalf("preparing the contoso-bank example: %v", contosoErr)
	}
	return contoso
}

func newTestServer(t testing.TB, opts Options) *Server {
	t.Helper()
	e := contosoEngines(t)
	s, err := New(context.Background(), func(context.Context) (*Engines, error) { return e, nil }, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type podTweak func(*corev1.Pod)

func makePod(ns, name string, tweaks ...podTweak) *corev1.Pod {
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/app:1"}}},
	}
	for _, f := range tweaks {
		f(p)
	}
	return p
}

func withImage(img string) podTweak { return func(p *corev1.Pod) { p.Spec.Containers[0].Image = img } }

func withPrivileged(p *corev1.Pod) {
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
}

func admissionBody(t testing.TB, uid string, p *corev1.Pod) []byte {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	r := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID(uid), Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"}, Namespace: p.Namespace, Name: p.Name,
			Operation: admissionv1.Create, Object: runtime.RawExtension{Raw: raw},
		},
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func post(t testing.TB, h http.Handler, path, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func decodeAdmission(t testing.TB, w *httptest.ResponseRecorder) *admissionv1.AdmissionReview {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil {
		t.Fatalf("decoding the answer: %v\n%s", err, w.Body)
	}
	if r.Response == nil {
		t.Fatalf("the answer has no response: %s", w.Body)
	}
	return &r
}

func TestValidate(t *testing.T) {
	s := newTestServer(t, Options{})
	h := s.Handler()
	tests := []struct {
		name        string
		pod         *corev1.Pod
		allowed     bool
		wantInMsg   []string
		notInMessge []string
	}{
		{name: "approved image", pod: makePod("team-alpha", "ok"), allowed: true},
		{name: "unapproved image names the policy and the fix", pod: makePod("team-alpha", "nginx", withImage("docker.io/library/nginx:1.27")),
			wantInMsg: []string{"[azurepolicy-k8sazurev2containerallowedimag-", "Container image docker.io/library/nginx:1.27 for container app has not been allowed.",
				`(Azure Policy "Kubernetes cluster containers should only use allowed images")`, "fix: "}},
		{name: "privileged denied by Azure Policy", pod: makePod("team-alpha", "priv", withPrivileged),
			wantInMsg: []string{"Privileged container is not allowed: app", `Azure Policy "Kubernetes cluster should not allow privileged containers"`}},
		// PSA is the API server's to enforce: without --pod-security, a
		// root pod in a restricted namespace is not denied here.
		{name: "PSA alone does not deny", pod: makePod("production", "root", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}
		}), allowed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			uid := "uid-" + strings.ReplaceAll(tt.name, " ", "-")
			r := decodeAdmission(t, post(t, h, "/validate", "application/json", admissionBody(t, uid, tt.pod)))
			if got := string(r.Response.UID); got != uid {
				t.Errorf("uid = %q, want the request's %q", got, uid)
			}
			if r.APIVersion != "admission.k8s.io/v1" || r.Kind != "AdmissionReview" {
				t.Errorf("answer is %s %s", r.APIVersion, r.Kind)
			}
			if r.Response.Allowed != tt.allowed {
				t.Fatalf("allowed = %v, want %v (%+v)", r.Response.Allowed, tt.allowed, r.Response.Result)
			}
			if tt.allowed {
				return
			}
			if r.Response.Result == nil || r.Response.Result.Code != http.StatusForbidden {
				t.Fatalf("result = %+v, want a 403", r.Response.Result)
			}
			for _, s := range tt.wantInMsg {
				if !strings.Contains(r.Response.Result.Message, s) {
					t.Errorf("message %q lacks %q", r.Response.Result.Message, s)
				}
			}
		})
	}
}

func TestValidatePodSecurity(t *testing.T) {
	s := newTestServer(t, Options{PodSecurity: true})
	pod := makePod("production", "root", func(p *corev1.Pod) {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}
	})
	r := decodeAdmission(t, post(t, s.Handler(), "/validate", "application/json", admissionBody(t, "u1", pod)))
	if r.Response.Allowed {
		t.Fatal("a root pod in a restricted namespace was admitted with --pod-security")
	}
	if want := `pods "root" is forbidden: violates PodSecurity "restricted:latest": `; !strings.HasPrefix(r.Response.Result.Message, want) {
		t.Errorf("message = %q, want PSA's, starting %q", r.Response.Result.Message, want)
	}
}

func TestRefusals(t *testing.T) {
	s := newTestServer(t, Options{MaxBodyBytes: 4096})
	h := s.Handler()
	good := admissionBody(t, "u", makePod("team-alpha", "ok"))
	tests := []struct {
		name        string
		method      string
		contentType string
		body        []byte
		code        int
	}{
		{"GET", http.MethodGet, "application/json", nil, http.StatusMethodNotAllowed},
		{"no content type", http.MethodPost, "", good, http.StatusUnsupportedMediaType},
		{"yaml", http.MethodPost, "application/yaml", good, http.StatusUnsupportedMediaType},
		{"charset is fine", http.MethodPost, "application/json; charset=utf-8", good, http.StatusOK},
		{"too large", http.MethodPost, "application/json", append(good[:len(good)-1], []byte(`,"pad":"`+strings.Repeat("x", 5000)+`"}`)...), http.StatusRequestEntityTooLarge},
		{"not JSON", http.MethodPost, "application/json", []byte("{"), http.StatusBadRequest},
		{"wrong kind", http.MethodPost, "application/json", []byte(`{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","request":{"uid":"x"}}`), http.StatusBadRequest},
		{"no request", http.MethodPost, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), http.StatusBadRequest},
		{"no uid", http.MethodPost, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{}}`), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/validate", bytes.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.code {
				t.Errorf("status = %d, want %d (%s)", w.Code, tt.code, w.Body)
			}
		})
	}
}

func TestPanicIsAnswered(t *testing.T) {
	s := newTestServer(t, Options{})
	s.panicHook = func(string) { panic("boom") }
	r := decodeAdmission(t, post(t, s.Handler(), "/validate", "application/json", admissionBody(t, "panic-uid", makePod("team-alpha", "ok"))))
	if r.Response.UID != "panic-uid" || r.Response.Allowed || r.Response.Result == nil || r.Response.Result.Code != http.StatusInternalServerError {
		t.Errorf("answer to a panic = %+v, want a 500 review with the request's uid", r.Response)
	}
	w := post(t, s.Handler(), "/authorize", "application/json", sarBody(t, "authorization.k8s.io/v1", "alice", nil, "get", "pods", "default"))
	var sar authzv1.SubjectAccessReview
	if err := json.Unmarshal(w.Body.Bytes(), &sar); err != nil || sar.Status.Allowed || !strings.Contains(sar.Status.EvaluationError, "boom") {
		t.Errorf("SubjectAccessReview answer to a panic = %s, want no opinion with the error", w.Body)
	}
	m := httptest.NewRecorder()
	s.Handler().ServeHTTP(m, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if !strings.Contains(m.Body.String(), `akssec_webhook_panics_total{path="/validate"} 1`) {
		t.Errorf("metrics do not count the panic:\n%s", m.Body)
	}
}

func TestTimeoutIsAnswered(t *testing.T) {
	s := newTestServer(t, Options{Timeout: 50 * time.Millisecond})
	release := make(chan struct{})
	defer close(release)
	s.panicHook = func(string) { <-release }
	start := time.Now()
	r := decodeAdmission(t, post(t, s.Handler(), "/validate", "application/json", admissionBody(t, "slow", makePod("team-alpha", "ok"))))
	if r.Response.Allowed || r.Response.UID != "slow" || !strings.Contains(r.Response.Result.Message, "no decision within") {
		t.Errorf("answer to a slow decision = %+v", r.Response)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the answer took %s: the timeout did not bound it", d)
	}
}

func sarBody(t testing.TB, version, user string, groups []string, verb, resource, ns string) []byte {
	t.Helper()
	spec := map[string]any{"user": user, "resourceAttributes": map[string]any{"verb": verb, "resource": resource, "namespace": ns}}
	if version == "authorization.k8s.io/v1beta1" {
		spec["group"] = groups
	} else {
		spec["groups"] = groups
	}
	b, err := json.Marshal(map[string]any{"apiVersion": version, "kind": "SubjectAccessReview", "spec": spec})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthorize(t *testing.T) {
	full := newTestServer(t, Options{Chain: ChainFull}).Handler()
	azure := newTestServer(t, Options{}).Handler()
	// aks-viewers (by object ID) is bound to view; carol is in it.
	e := contosoEngines(t)
	viewers, err := e.Env.Directory.Resolve("aks-viewers")
	if err != nil {
		t.Fatalf("aks-viewers is not in the example's directory: %v", err)
	}
	tests := []struct {
		name    string
		h       http.Handler
		version string
		groups  []string
		verb    string
		allowed bool
		reason  string
	}{
		{"viewer lists pods", full, "authorization.k8s.io/v1", []string{viewers.ID}, "list", true, "RBAC: allowed by ClusterRoleBinding"},
		{"viewer lists pods (v1beta1 group field)", full, "authorization.k8s.io/v1beta1", []string{viewers.ID}, "list", true, "RBAC: allowed by ClusterRoleBinding"},
		{"viewer may not delete", full, "authorization.k8s.io/v1", []string{viewers.ID}, "delete", false, ""},
		{"azure chain: Azure RBAC is off in the example", azure, "authorization.k8s.io/v1", []string{viewers.ID}, "list", false, "Azure RBAC for Kubernetes is not enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := post(t, tt.h, "/authorize", "application/json", sarBody(t, tt.version, "carol@contoso.com", tt.groups, tt.verb, "pods", "default"))
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var got authzv1.SubjectAccessReview
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.version, got.APIVersion); diff != "" {
				t.Errorf("apiVersion (-want +got):\n%s", diff)
			}
			if got.Status.Allowed != tt.allowed {
				t.Errorf("allowed = %v, want %v (reason %q)", got.Status.Allowed, tt.allowed, got.Status.Reason)
			}
			if !strings.Contains(got.Status.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to contain %q", got.Status.Reason, tt.reason)
			}
		})
	}
}

func TestHealthAndReload(t *testing.T) {
	e := contosoEngines(t)
	fail := false
	s, err := New(context.Background(), func(context.Context) (*Engines, error) {
		if fail {
			return nil, io.ErrUnexpectedEOF
		}
		return e, nil
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		if w.Code != http.StatusOK {
			t.Errorf("%s = %d", p, w.Code)
		}
	}
	fail = true
	if err := s.Reload(context.Background()); err == nil {
		t.Fatal("a failing reload returned nil")
	}
	if s.engines.Load() != e {
		t.Error("a failed reload dropped the engines being served")
	}
}

func FuzzValidate(f *testing.F) {
	s := newTestServer(f, Options{})
	h := s.Handler()
	f.Add(admissionBody(f, "u", makePod("team-alpha", "ok")))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","object":{"spec":{"containers":[{}]}}}}`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","kind":{"kind":"Pod","version":"v1"},"operation":"CREATE","object":null}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w := post(t, h, "/validate", "application/json", body)
		if w.Code == http.StatusOK {
			var r admissionv1.AdmissionReview
			if err := json.Unmarshal(w.Body.Bytes(), &r); err != nil || r.Response == nil || r.Response.UID == "" {
				t.Fatalf("a 200 without a well-formed review: %s", w.Body)
			}
		}
		if m := httptest.NewRecorder(); true {
			s.Handler().ServeHTTP(m, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if strings.Contains(m.Body.String(), "akssec_webhook_panics_total{") {
				t.Fatalf("the body made a decision panic: %q", body)
			}
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	s := newTestServer(b, Options{})
	h := s.Handler()
	body := admissionBody(b, "u", makePod("team-alpha", "nginx", withImage("docker.io/library/nginx:1.27"), withPrivileged))
	benchmarkEndpoint(b, h, "/validate", body)
}

// benchmarkEndpoint posts body to path in process, once per iteration.
func benchmarkEndpoint(b *testing.B, h http.Handler, path string, body []byte) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if w := post(b, h, path, "application/json", body); w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkAuthorize(b *testing.B) {
	s := newTestServer(b, Options{Chain: ChainFull})
	h := s.Handler()
	body := sarBody(b, "authorization.k8s.io/v1", "carol@contoso.com", []string{"2b222222-0000-4000-8000-000000000002"}, "list", "pods", "default")
	benchmarkEndpoint(b, h, "/authorize", body)
}

// TestGracefulShutdown cancels Serve while a decision is in flight: the
// request is still answered, then Serve returns.
func TestGracefulShutdown(t *testing.T) {
	s := newTestServer(t, Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	s.panicHook = func(string) { close(entered); <-release }
	addr, pool, cancel, served := serveTLS(t, s, 10*time.Second)

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	type reply struct {
		code int
		body []byte
		err  error
	}
	got := make(chan reply, 1)
	go func() {
		resp, err := client.Post("https://"+addr+"/validate", "application/json", bytes.NewReader(admissionBody(t, "in-flight", makePod("team-alpha", "ok"))))
		if err != nil {
			got <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- reply{resp.StatusCode, b, err}
	}()
	<-entered
	cancel() // SIGTERM
	select {
	case err := <-served:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	r := <-got
	if r.err != nil || r.code != http.StatusOK || !strings.Contains(string(r.body), `"uid":"in-flight"`) {
		t.Fatalf("the in-flight request got %d %s (%v), want its answer", r.code, r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v after a graceful shutdown", err)
	}
}

// serveTLS starts s on a loopback TLS listener and returns its address,
// the pool that trusts its certificate, the context whose cancellation is
// SIGTERM, and the channel Serve's result arrives on.
func serveTLS(tb testing.TB, s *Server, grace time.Duration) (addr string, pool *x509.CertPool, cancel context.CancelFunc, served <-chan error) {
	tb.Helper()
	certFile, keyFile, pool := selfSigned(tb, tb.TempDir())
	certs, err := NewCertReloader(certFile, keyFile)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln, certs, grace) }()
	return ln.Addr().String(), pool, cancel, done
}

func selfSigned(t testing.TB, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "akssec"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := selfSigned(t, dir)
	r, err := NewCertReloader(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := r.GetCertificate(nil)
	// A rotation: new files, newer modification time.
	selfSigned(t, dir)
	later := time.Now().Add(time.Minute)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, later, later); err != nil {
			t.Fatal(err)
		}
	}
	second, err := r.GetCertificate(nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(first.Certificate[0], second.Certificate[0]) {
		t.Error("the rotated certificate was not picked up")
	}
	// A half-written rotation keeps the old pair.
	if err := os.WriteFile(keyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	evenLater := later.Add(time.Minute)
	_ = os.Chtimes(keyFile, evenLater, evenLater)
	third, err := r.GetCertificate(nil)
	if err != nil || !bytes.Equal(third.Certificate[0], second.Certificate[0]) {
		t.Errorf("a bad pair replaced the serving certificate (err %v)", err)
	}
}

func TestMutateWorkloadIdentity(t *testing.T) {
	s := newTestServer(t, Options{})
	h := s.Handler()
	labelled := makePod("default", "wi", func(p *corev1.Pod) {
		p.Labels = map[string]string{"azure.workload.identity/use": "true"}
		p.Spec.ServiceAccountName = "myapp-sa"
	})
	r := decodeAdmission(t, post(t, h, "/mutate/workload-identity", "application/json", admissionBody(t, "wi-1", labelled)))
	if r.Response.UID != "wi-1" || !r.Response.Allowed || r.Response.PatchType == nil {
		t.Fatalf("response = %+v", r.Response)
	}
	var ops []struct {
		Op, Path string
		Value    corev1.PodSpec
	}
	if err := json.Unmarshal(r.Response.Patch, &ops); err != nil || len(ops) != 1 || ops[0].Path != "/spec" {
		t.Fatalf("patch = %s (%v)", r.Response.Patch, err)
	}
	env := map[string]string{}
	for _, e := range ops[0].Value.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["AZURE_CLIENT_ID"] != "c1000000-0000-4000-8000-000000000001" || env["AZURE_TENANT_ID"] != "5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60" {
		t.Errorf("injected env = %v", env)
	}
	// The webhook refuses a host-network pod that asks for the proxy.
	hostNet := labelled.DeepCopy()
	hostNet.Annotations = map[string]string{"azure.workload.identity/inject-proxy-sidecar": "true"}
	hostNet.Spec.HostNetwork = true
	r = decodeAdmission(t, post(t, h, "/mutate/workload-identity", "application/json", admissionBody(t, "wi-2", hostNet)))
	if r.Response.Allowed || !strings.Contains(r.Response.Result.Message, "hostNetwork is set to true, cannot inject proxy sidecar") {
		t.Errorf("host-network proxy pod: %+v", r.Response)
	}
	// An unlabelled pod passes unpatched.
	r = decodeAdmission(t, post(t, h, "/mutate/workload-identity", "application/json", admissionBody(t, "wi-3", makePod("default", "plain"))))
	if !r.Response.Allowed || r.Response.Patch != nil {
		t.Errorf("unlabelled pod: %+v", r.Response)
	}
}

func TestAuthenticate(t *testing.T) {
	keys, err := token.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	const tenant = "5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60"
	iss := "https://sts.windows.net/" + tenant + "/"
	s := newTestServer(t, Options{Tokens: &token.Validator{Keys: keys.JWKS, Issuers: []string{iss}, Audiences: []string{"6dae42f8-4368-4678-94ff-3960e28e3630"}}})
	h := s.Handler()
	sign := func(claims map[string]any) string {
		now := time.Now()
		base := map[string]any{"iss": iss, "aud": "6dae42f8-4368-4678-94ff-3960e28e3630", "tid": tenant, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range claims {
			base[k] = v
		}
		raw, err := keys.Sign(base)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	review := func(tok string) authnv1.TokenReviewStatus {
		body, _ := json.Marshal(authnv1.TokenReview{TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "TokenReview"}, Spec: authnv1.TokenReviewSpec{Token: tok}})
		w := post(t, h, "/authenticate", "application/json", body)
		var r authnv1.TokenReview
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &r) != nil {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		return r.Status
	}
	carol := review(sign(map[string]any{"upn": "carol@contoso.com", "oid": "1a111111-0000-4000-8000-000000000003", "groups": []string{"2b222222-0000-4000-8000-000000000002"}}))
	want := authnv1.UserInfo{Username: "carol@contoso.com", Groups: []string{"2b222222-0000-4000-8000-000000000002"}, Extra: map[string]authnv1.ExtraValue{"oid": {"1a111111-0000-4000-8000-000000000003"}}}
	if diff := cmp.Diff(want, carol.User); !carol.Authenticated || diff != "" {
		t.Errorf("carol (-want +got):\n%s", diff)
	}
	// A guest's token has no upn: the username is the object ID.
	if g := review(sign(map[string]any{"oid": "1a111111-0000-4000-8000-000000000007"})); g.User.Username != "1a111111-0000-4000-8000-000000000007" {
		t.Errorf("guest username = %q", g.User.Username)
	}
	// Overage: a user's groups come from the directory (dave: nested groups).
	dave := review(sign(map[string]any{"upn": "dave@contoso.com", "oid": "1a111111-0000-4000-8000-000000000004", "_claim_names": map[string]string{"groups": "src1"}}))
	if diff := cmp.Diff([]string{"2b222222-0000-4000-8000-000000000002", "2b222222-0000-4000-8000-000000000005"}, dave.User.Groups); diff != "" {
		t.Errorf("overage groups (-want +got):\n%s", diff)
	}
	if app := review(sign(map[string]any{"oid": "d1000000-0000-4000-8000-000000000001", "idtyp": "app", "_claim_names": map[string]string{"groups": "src1"}})); app.Authenticated ||
		app.Error != "service principal with group membership exceeding 200 is not supported" {
		t.Errorf("app with overage: %+v", app)
	}
	// Wrong audience, expired, forged: refused.
	other, _ := token.NewKeySet()
	forged, _ := other.Sign(map[string]any{"iss": iss, "aud": "6dae42f8-4368-4678-94ff-3960e28e3630", "oid": "x", "exp": time.Now().Add(time.Hour).Unix()})
	for name, tok := range map[string]string{
		"audience": sign(map[string]any{"oid": "x", "aud": "api://other"}),
		"expired":  sign(map[string]any{"oid": "x", "exp": time.Now().Add(-time.Hour).Unix()}),
		"forged":   forged,
	} {
		if st := review(tok); st.Authenticated || !strings.HasPrefix(st.Error, "invalid token") {
			t.Errorf("%s token: %+v", name, st)
		}
	}
}

// TestShutdownUnderLoad: SIGTERM (ctx cancelled) while 64 clients keep
// sending: every request the server accepted gets its full answer, with
// its own UID; requests after the listener closed fail to connect, which
// clients retry against another replica.
func TestShutdownUnderLoad(t *testing.T) {
	addr, pool, cancel, served := serveTLS(t, newTestServer(t, Options{}), 20*time.Second)
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 64}}
	const workers = 64
	var (
		mu                sync.Mutex
		answered, refused int
		closing           bool // set just before the shutdown starts
		broken            []string
		wg                sync.WaitGroup
		stop              = make(chan struct{})
		loaded            = make(chan struct{}) // closed once every worker has had an answer
		perWorker         [workers]int
		ready             int
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				uid := strconv.Itoa(w) + "-" + strconv.Itoa(i)
				resp, err := client.Post("https://"+addr+"/validate", "application/json", bytes.NewReader(admissionBody(t, uid, makePod("team-alpha", "ok"))))
				mu.Lock()
				if err != nil {
					if closing {
						refused++ // not accepted: the listener is closed
					} else {
						broken = append(broken, fmt.Sprintf("%s before shutdown: %v", uid, err))
					}
					mu.Unlock()
					continue
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rerr != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"uid":"`+uid+`"`) {
					broken = append(broken, fmt.Sprintf("%s: %d %v %.80s", uid, resp.StatusCode, rerr, body))
				} else {
					answered++
					if perWorker[w]++; perWorker[w] == 1 {
						if ready++; ready == workers {
							close(loaded)
						}
					}
				}
				mu.Unlock()
			}
		}(w)
	}
	// Shut down only once all 64 clients are connected and sending, however slow the
	// machine (TLS handshakes under -race on a loaded CI runner can take seconds).
	select {
	case <-loaded:
	case <-time.After(60 * time.Second):
		t.Error("the 64 clients did not all get an answer within 60s")
	}
	mu.Lock()
	closing = true
	mu.Unlock()
	cancel() // SIGTERM under load
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
	close(stop)
	wg.Wait()
	if len(broken) > 0 {
		t.Errorf("%d accepted requests lost or broken, e.g. %s", len(broken), broken[0])
	}
	if answered == 0 {
		t.Error("no request was answered before the shutdown")
	}
	t.Logf("answered %d, refused after close %d", answered, refused)
}
