// Package harness starts a real etcd and kube-apiserver on loopback for
// akssec's end-to-end tests, built from the Go module proxy by
// test/e2e/build.sh into a per-machine cache. There is no kubelet and no
// controller manager: pods stay Pending and controllers do not run (no
// ServiceAccount "default" is made for a namespace, no aggregated
// ClusterRole is filled), but authentication, authorization, admission
// (Pod Security Admission is built in) and webhooks run for real.
package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Versions of the binaries test/e2e/build.sh builds.
const (
	KubeAPIServerVersion = "v1.37.2"
	EtcdVersion          = "v3.6.16"
)

// CacheDir is where build.sh puts the binaries: $AKSSEC_E2E_CACHE, else
// ~/.cache/akssec-e2e.
func CacheDir() string {
	if d := os.Getenv("AKSSEC_E2E_CACHE"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "akssec-e2e")
	}
	return filepath.Join(home, ".cache", "akssec-e2e")
}

// Binaries are the paths of the cached etcd and kube-apiserver.
type Binaries struct {
	Etcd, KubeAPIServer string
}

// ErrNoBinaries says the cached binaries are missing: run test/e2e/build.sh.
var ErrNoBinaries = errors.New("the cached etcd and kube-apiserver binaries are missing; run test/e2e/build.sh (the first build takes 10-16 minutes)")

// FindBinaries returns the cached binaries, or ErrNoBinaries.
func FindBinaries() (Binaries, error) {
	dir := CacheDir()
	b := Binaries{
		Etcd:          filepath.Join(dir, "etcd-"+EtcdVersion),
		KubeAPIServer: filepath.Join(dir, "kube-apiserver-"+KubeAPIServerVersion),
	}
	for _, p := range []string{b.Etcd, b.KubeAPIServer} {
		if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
			return b, fmt.Errorf("%s: %w", p, ErrNoBinaries)
		}
	}
	return b, nil
}

// Options tune a cluster.
type Options struct {
	// AuthorizationModes for --authorization-mode; default RBAC.
	AuthorizationModes []string
	// ExtraArgs are appended to kube-apiserver's flags (for example
	// --authorization-webhook-config-file).
	ExtraArgs []string
	// ReadyTimeout bounds the wait for /readyz; default 3 minutes (the
	// machines are shared).
	ReadyTimeout time.Duration
	// Users are more static token users, beside the admin.
	Users []TokenUser
}

// TokenUser is a line of the API server's static token file.
type TokenUser struct {
	Token, Name string
	Groups      []string
}

// AdminToken is the bootstrap token of the admin user (group
// system:masters) in the static token file.
const AdminToken = "akssec-e2e-admin-token"

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	// URL is the API server's address, https://127.0.0.1:PORT.
	URL string
	// Dir holds certificates, keys, logs and the kubeconfig.
	Dir string
	// CAFile is the CA of the serving certificate.
	CAFile string
	// Kubeconfig is a kubeconfig for the admin user (context "e2e").
	Kubeconfig string
	// ServiceAccountKey signs service account tokens.
	ServiceAccountKey *rsa.PrivateKey

	etcd, apiserver *exec.Cmd
	etcdDone        chan error
	apiserverDone   chan error
	caPEM           []byte
}

// Start starts etcd and kube-apiserver in a new directory and waits until
// the API server's /readyz answers ok. Call Stop to tear both down.
func Start(ctx context.Context, bins Binaries, opts Options) (c *Cluster, err error) {
	if len(opts.AuthorizationModes) == 0 {
		opts.AuthorizationModes = []string{"RBAC"}
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 3 * time.Minute
	}
	dir, err := os.MkdirTemp("", "akssec-e2e-")
	if err != nil {
		return nil, err
	}
	c = &Cluster{Dir: dir}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w%s", err, c.logTails())
			c.Stop()
		}
	}()
	ports, err := freePorts(3)
	if err != nil {
		return c, err
	}
	etcdClient := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	etcdPeer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	c.URL = "https://127.0.0.1:" + strconv.Itoa(ports[2])

	c.etcd, c.etcdDone, err = startProcess(bins.Etcd, filepath.Join(dir, "etcd.log"),
		"--name=e2e",
		"--data-dir="+filepath.Join(dir, "etcd-data"),
		"--listen-client-urls="+etcdClient,
		"--advertise-client-urls="+etcdClient,
		"--listen-peer-urls="+etcdPeer,
		"--initial-advertise-peer-urls="+etcdPeer,
		"--initial-cluster=e2e="+etcdPeer,
		"--unsafe-no-fsync", // a throw-away store: no need to wait for the disk
		"--log-level=warn",
	)
	if err != nil {
		return c, fmt.Errorf("starting etcd: %w", err)
	}
	if err := waitHTTP(ctx, http.DefaultClient, etcdClient+"/health", "", 30*time.Second, c.etcdDone); err != nil {
		return c, fmt.Errorf("etcd: %w", err)
	}

	if err := c.writeCredentials(opts.Users); err != nil {
		return c, err
	}
	args := []string{
		"--etcd-servers=" + etcdClient,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(ports[2]),
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--tls-cert-file=" + filepath.Join(dir, "serving.crt"),
		"--tls-private-key-file=" + filepath.Join(dir, "serving.key"),
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=" + strings.Join(opts.AuthorizationModes, ","),
		"--service-account-key-file=" + filepath.Join(dir, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(dir, "sa.key"),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true", // as AKS: privileged pods are PSA's and policy's to deny
		"--profiling=false",
		"--v=1",
	}
	args = append(args, opts.ExtraArgs...)
	c.apiserver, c.apiserverDone, err = startProcess(bins.KubeAPIServer, filepath.Join(dir, "kube-apiserver.log"), args...)
	if err != nil {
		return c, fmt.Errorf("starting kube-apiserver: %w", err)
	}
	hc, err := c.httpClient()
	if err != nil {
		return c, err
	}
	if err := waitHTTP(ctx, hc, c.URL+"/readyz", AdminToken, opts.ReadyTimeout, c.apiserverDone); err != nil {
		return c, fmt.Errorf("kube-apiserver: %w", err)
	}
	return c, c.writeKubeconfig()
}

// RestConfig is a client-go config for the admin user, with a rate limit
// high enough for thousands of requests.
func (c *Cluster) RestConfig() *rest.Config {
	return &rest.Config{
		Host:            c.URL,
		BearerToken:     AdminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.caPEM},
		QPS:             500,
		Burst:           1000,
		Timeout:         30 * time.Second,
	}
}

// KubeconfigFor writes a kubeconfig for a token user and returns its path.
func (c *Cluster) KubeconfigFor(u TokenUser) (string, error) {
	p := filepath.Join(c.Dir, "kubeconfig-"+u.Token)
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: u
  user:
    token: %s
contexts:
- name: e2e
  context:
    cluster: e2e
    user: u
    namespace: default
current-context: e2e
`, c.URL, c.CAFile, u.Token)
	return p, os.WriteFile(p, []byte(kc), 0o600)
}

// Client is a typed client for the admin user.
func (c *Cluster) Client() (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(c.RestConfig())
}

// Stop stops kube-apiserver, then etcd (SIGTERM, then SIGKILL after 15 s),
// and removes the directory unless keep is set by AKSSEC_E2E_KEEP=1.
func (c *Cluster) Stop() {
	stop(c.apiserver, c.apiserverDone)
	stop(c.etcd, c.etcdDone)
	if os.Getenv("AKSSEC_E2E_KEEP") == "" && c.Dir != "" {
		os.RemoveAll(c.Dir)
	}
}

// Logs returns the tail of both logs, for a failing test's message.
func (c *Cluster) Logs() string { return c.logTails() }

func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, name := range []string{"etcd.log", "kube-apiserver.log"} {
		data, err := os.ReadFile(filepath.Join(c.Dir, name))
		if err != nil || len(data) == 0 {
			continue
		}
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "\n--- last lines of %s ---\n%s", name, data)
	}
	return b.String()
}

func stop(cmd *exec.Cmd, done chan error) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func startProcess(bin, logFile string, args ...string) (*exec.Cmd, chan error, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	// Killed with the test process, so a crashed test leaves nothing
	// listening.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, nil, err
	}
	done := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		log.Close()
		done <- err
		close(done)
	}()
	return cmd, done, nil
}

// waitHTTP polls url until it answers 200, the process exits or the
// timeout passes.
func waitHTTP(ctx context.Context, hc *http.Client, url, token string, timeout time.Duration, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := "no answer"
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err == nil {
			body := make([]byte, 512)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %d %s", url, resp.StatusCode, bytes.TrimSpace(body[:n]))
		} else {
			last = err.Error()
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before it was ready: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %s", timeout, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func (c *Cluster) httpClient() (*http.Client, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(c.caPEM) {
		return nil, errors.New("bad CA")
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}, nil
}

// writeCredentials writes the CA and serving certificate (for 127.0.0.1
// and localhost), the service account key and the static token file.
func (c *Cluster) writeCredentials(users []TokenUser) error {
	caPEM, _, _, err := WriteServingCert(c.Dir, "serving")
	if err != nil {
		return err
	}
	c.caPEM = caPEM
	c.CAFile = filepath.Join(c.Dir, "ca.crt")
	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	c.ServiceAccountKey = saKey
	files := map[string][]byte{
		"ca.crt":     c.caPEM,
		"sa.key":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(saKey)}),
		"tokens.csv": []byte(AdminToken + `,admin,admin-uid,"system:masters"` + "\n"),
	}
	for i, u := range users {
		files["tokens.csv"] = fmt.Appendf(files["tokens.csv"], "%s,%s,uid-%d,%q\n", u.Token, u.Name, i, strings.Join(u.Groups, ","))
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(c.Dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// WriteServingCert makes a new CA and a serving certificate for 127.0.0.1
// and localhost signed by it, writes dir/NAME.crt and dir/NAME.key, and
// returns the CA in PEM and the two paths.
func WriteServingCert(dir, name string) (caPEM []byte, certFile, keyFile string, err error) {
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "akssec-e2e-ca-" + name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, "", "", err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, "", "", err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost", "kubernetes.default.svc"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, "", "", err
	}
	caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, "", "", err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		return nil, "", "", err
	}
	return caPEM, certFile, keyFile, nil
}

func (c *Cluster) writeKubeconfig() error {
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: e2e
  context:
    cluster: e2e
    user: admin
current-context: e2e
`, c.URL, c.CAFile, AdminToken)
	return os.WriteFile(c.Kubeconfig, []byte(kc), 0o600)
}
