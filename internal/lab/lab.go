// Package lab runs the local Entra ID and Key Vault emulators for a
// snapshot, on loopback HTTPS with the lab's own CA: the tenant's Entra
// endpoints (its directory is the snapshot's Entra objects), the cluster's
// service-account issuer (discovery and JWKS mirrored locally), and every
// vault of the snapshot with its secret names seeded with example values.
// Federated exchanges are decided by internal/workloadid and Key Vault
// authorization by internal/keyvault, the same engines the offline layers
// use, so the lab fails exactly where the real cluster would.
//
// State lives in a lab directory: the CA (ca.pem is the bundle clients
// trust), the signing keys, the service principals' client secrets, the
// Key Vault state (keyvault.db, bbolt) and lab.json describing the running
// lab. Host names: Entra and the issuer at localhost, vault V at
// v.vault.localhost, all on one listener; a CONNECT proxy on a second
// loopback port lets unmodified clients reach the vault host names through
// HTTPS_PROXY where *.localhost does not resolve.
package lab

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/akssec/akssec/internal/azure"
	entraemu "github.com/akssec/akssec/internal/emulator/entra"
	kvemu "github.com/akssec/akssec/internal/emulator/keyvault"
	"github.com/akssec/akssec/internal/emulator/oidc"
	"github.com/akssec/akssec/internal/emulator/tlsca"
	"github.com/akssec/akssec/internal/emulator/token"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/env"
)

// Files and directories inside the lab directory.
const (
	StateFile         = "lab.json"
	EnvFile           = "env.sh"
	ClientSecretsFile = "client-secrets.json"
	KeyVaultFile      = "keyvault.db"
	entraKeysDir      = "entra-keys"
	issuerKeysDir     = "issuer-keys"
)

// Host names.
const (
	AuthorityHost  = "localhost"
	VaultDNSSuffix = "vault.localhost"
	// IssuerPath is where the cluster issuer is mirrored on the authority
	// host.
	IssuerPath = "/issuer"
	// DefaultAddr is the listener address when none is given.
	DefaultAddr = "127.0.0.1:8443"
)

// AKSServerAppID is the AKS Entra server application (the audience of
// kubelogin tokens).
const AKSServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// Options configure a lab.
type Options struct {
	// Dir is the lab directory (created if missing).
	Dir string
	// Addr is the HTTPS listener (loopback only); ProxyAddr the CONNECT
	// proxy ("" = an ephemeral loopback port, "-" = none).
	Addr, ProxyAddr string
	Logger          *slog.Logger
	Now             func() time.Time
	TokenLifetime   time.Duration
	// KeyRotation, when positive, rotates the Entra signing key at that
	// interval; the previous key stays published (tokens it signed stay
	// valid) and older ones are retired, as Entra rolls its keys.
	KeyRotation time.Duration
}

// State describes a running lab (lab.json).
type State struct {
	PID           int               `json:"pid"`
	Addr          string            `json:"addr"`
	ProxyAddr     string            `json:"proxyAddr,omitempty"`
	AuthorityHost string            `json:"authorityHost"`
	TenantID      string            `json:"tenantId"`
	CAFile        string            `json:"caFile"`
	Resource      string            `json:"keyVaultResource"`
	Issuer        string            `json:"clusterIssuer,omitempty"`
	IssuerMirror  string            `json:"clusterIssuerMirror,omitempty"`
	Vaults        map[string]string `json:"vaults"`
}

// Lab is a running lab.
type Lab struct {
	State
	Dir      string
	CA       *tlsca.CA
	Entra    *entraemu.Server
	KeyVault *kvemu.Server
	Issuer   *oidc.Issuer // nil when the snapshot's cluster has no OIDC issuer
	Store    *kvemu.Store
	// ClientSecrets are the lab-generated secrets of the snapshot's service
	// principals (client ID → secret).
	ClientSecrets map[string]string

	env     *env.Environment
	stop    chan struct{}
	srv     *http.Server
	ln      net.Listener
	proxyLn net.Listener
	wg      sync.WaitGroup
	closed  bool
}

func isLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listener address %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("listener address %q is not a loopback address: the lab serves 127.0.0.1 only", addr)
}

// Start starts the emulators for the snapshot and returns once they accept
// connections. Close stops them.
func Start(ctx context.Context, e *env.Environment, opts Options) (l *Lab, err error) {
	if opts.Dir == "" {
		return nil, errors.New("the lab needs a directory")
	}
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if err := isLoopback(opts.Addr); err != nil {
		return nil, err
	}
	if opts.ProxyAddr == "" {
		opts.ProxyAddr = "127.0.0.1:0"
	}
	if opts.ProxyAddr != "-" {
		if err := isLoopback(opts.ProxyAddr); err != nil {
			return nil, err
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tenant := TenantID(e)
	if tenant == "" {
		return nil, errors.New("the snapshot names no tenant (azure/aks.json aadProfile.tenantId or an identity's tenantId)")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating lab directory: %w", err)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	l = &Lab{Dir: dir, env: e}
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	if l.CA, err = tlsca.LoadOrCreate(dir); err != nil {
		return nil, err
	}
	entraKeys, err := token.LoadKeySet(filepath.Join(dir, entraKeysDir))
	if err != nil {
		return nil, err
	}
	if issuer := IssuerURL(e); issuer != "" {
		keys, err := token.LoadKeySet(filepath.Join(dir, issuerKeysDir))
		if err != nil {
			return nil, err
		}
		l.Issuer = &oidc.Issuer{URL: issuer, Keys: keys, Now: opts.Now}
	}
	if l.ClientSecrets, err = clientSecrets(dir, e.Directory); err != nil {
		return nil, err
	}

	l.ln, err = net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", opts.Addr, err)
	}
	port := strconv.Itoa(l.ln.Addr().(*net.TCPAddr).Port)
	authority := "https://" + net.JoinHostPort(AuthorityHost, port)
	l.State = State{
		PID: os.Getpid(), Addr: l.ln.Addr().String(), AuthorityHost: authority + "/", TenantID: tenant,
		CAFile: filepath.Join(dir, tlsca.CertFile), Resource: "https://" + net.JoinHostPort(VaultDNSSuffix, port),
		Vaults: map[string]string{},
	}
	if l.Issuer != nil {
		l.State.Issuer = l.Issuer.URL
		l.State.IssuerMirror = authority + IssuerPath + "/"
	}

	l.Entra, err = entraemu.New(entraemu.Config{
		TenantID: tenant, Directory: e.Directory, Keys: entraKeys, ClientSecrets: l.ClientSecrets,
		Federation:    federation(e),
		AssertionKeys: l.assertionKeys,
		Resources:     []string{l.Resource, "https://vault.azure.net", AKSServerAppID, "https://management.azure.com", "https://graph.microsoft.com"},
		Logger:        log.With("emulator", "entra"), Now: opts.Now, TokenLifetime: opts.TokenLifetime,
	})
	if err != nil {
		return nil, err
	}

	if l.Store, err = kvemu.OpenStore(filepath.Join(dir, KeyVaultFile)); err != nil {
		return nil, err
	}
	var vaults []kvemu.Vault
	hosts := []string{AuthorityHost, "127.0.0.1", VaultDNSSuffix, "*." + VaultDNSSuffix}
	for _, v := range e.Azure.Vaults {
		vaults = append(vaults, emulatedVault(v, tenant))
		host := strings.ToLower(v.Name) + "." + VaultDNSSuffix
		hosts = append(hosts, host)
		l.Vaults[v.Name] = "https://" + net.JoinHostPort(host, port) + "/"
	}
	if err := seed(l.Store, e, opts.Now); err != nil {
		return nil, err
	}
	l.KeyVault, err = kvemu.New(kvemu.Config{
		Vaults: vaults, Store: l.Store, DNSSuffix: VaultDNSSuffix, Resource: l.Resource, Authority: authority,
		Keys: entraKeys.JWKS, Issuer: entraemu.AccessTokenIssuer, Authorizer: authorizer(e),
		Logger: log.With("emulator", "keyvault"), Now: opts.Now,
	})
	if err != nil {
		return nil, err
	}

	cert, err := l.CA.Issue(hosts)
	if err != nil {
		return nil, err
	}
	l.srv = &http.Server{
		Handler:           l.router(),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	tlsLn := tls.NewListener(l.ln, l.srv.TLSConfig)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		if err := l.srv.Serve(tlsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("lab listener stopped", "error", err)
		}
	}()
	if opts.ProxyAddr != "-" {
		if l.proxyLn, err = net.Listen("tcp", opts.ProxyAddr); err != nil {
			return nil, fmt.Errorf("listening on %s: %w", opts.ProxyAddr, err)
		}
		l.ProxyAddr = l.proxyLn.Addr().String()
		l.wg.Add(1)
		go func() { defer l.wg.Done(); l.serveProxy(log) }()
	}
	if err := l.writeState(); err != nil {
		return nil, err
	}
	l.stop = make(chan struct{})
	if opts.KeyRotation > 0 {
		l.wg.Add(1)
		go func() { defer l.wg.Done(); l.rotate(opts.KeyRotation, log) }()
	}
	log.Info("lab started", "addr", l.Addr, "tenant", tenant, "vaults", len(vaults))
	return l, nil
}

// TenantID is the snapshot's tenant.
func TenantID(e *env.Environment) string {
	if e.Directory != nil && e.Directory.TenantID != "" {
		return e.Directory.TenantID
	}
	for _, id := range e.Azure.Identities {
		if id.TenantID != "" {
			return id.TenantID
		}
	}
	for _, v := range e.Azure.Vaults {
		if v.Properties.TenantID != "" {
			return v.Properties.TenantID
		}
	}
	return ""
}

// IssuerURL is the cluster's service-account issuer, exactly as the
// snapshot's cluster publishes it ("" without an OIDC issuer).
func IssuerURL(e *env.Environment) string {
	if e.Cluster == nil {
		return ""
	}
	return e.Cluster.IssuerURL()
}

func emulatedVault(v *azure.Vault, tenant string) kvemu.Vault {
	kv := kvemu.Vault{Name: v.Name, TenantID: v.Properties.TenantID, Location: v.Location,
		PurgeProtection: v.Properties.EnablePurgeProtection != nil && *v.Properties.EnablePurgeProtection}
	if kv.TenantID == "" {
		kv.TenantID = tenant
	}
	// Soft delete is on unless the vault says otherwise; retention 90 days
	// by default.
	if v.Properties.EnableSoftDelete == nil || *v.Properties.EnableSoftDelete {
		kv.SoftDeleteDays = v.Properties.SoftDeleteRetentionInDays
		if kv.SoftDeleteDays == 0 {
			kv.SoftDeleteDays = 90
		}
	}
	return kv
}

// assertionKeys is what Entra fetches from an external issuer: only the
// snapshot's cluster issuer is reachable from the lab.
func (l *Lab) assertionKeys(issuer string) (jose.JSONWebKeySet, bool) {
	if l.Issuer == nil || issuer != l.Issuer.URL {
		return jose.JSONWebKeySet{}, false
	}
	return l.Issuer.Keys.JWKS(), true
}

// router sends each request to its emulator by host name.
func (l *Lab) router() http.Handler {
	entraH := l.Entra.Handler()
	kvH := l.KeyVault.Handler()
	var issuerH http.Handler = http.NotFoundHandler()
	if l.Issuer != nil {
		issuerH = http.StripPrefix(IssuerPath, l.Issuer.Handler())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.ToLower(host)
		switch {
		case host == AuthorityHost || host == "127.0.0.1":
			if strings.HasPrefix(r.URL.Path, IssuerPath+"/") {
				issuerH.ServeHTTP(w, r)
				return
			}
			entraH.ServeHTTP(w, r)
		case strings.HasSuffix(host, "."+VaultDNSSuffix):
			kvH.ServeHTTP(w, r)
		default:
			http.Error(w, "no emulator serves host "+r.Host, http.StatusMisdirectedRequest)
		}
	})
}

// serveProxy is a CONNECT proxy that tunnels to the lab listener for the
// lab's host names only.
func (l *Lab) serveProxy(log *slog.Logger) {
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if r.Method != http.MethodConnect || err != nil || !(host == AuthorityHost || strings.HasSuffix(strings.ToLower(host), "."+VaultDNSSuffix)) {
			http.Error(w, "the lab proxy tunnels CONNECT to lab hosts only", http.StatusForbidden)
			return
		}
		up, err := net.Dial("tcp", l.Addr)
		if err != nil {
			http.Error(w, "lab listener unreachable", http.StatusBadGateway)
			return
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			up.Close()
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := hj.Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() {
			if n := buf.Reader.Buffered(); n > 0 {
				b, _ := buf.Peek(n)
				_, _ = up.Write(b)
			}
			_, _ = io.Copy(up, conn)
			up.Close()
		}()
		_, _ = io.Copy(conn, up)
		conn.Close()
	})}
	if err := srv.Serve(l.proxyLn); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
		log.Error("lab proxy stopped", "error", err)
	}
}

// rotate rolls the Entra signing key every interval until the lab stops.
func (l *Lab) rotate(every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			keys := l.Entra.Keys()
			if err := keys.Rotate(); err != nil {
				log.Error("rotating the Entra signing key", "error", err)
				continue
			}
			if err := keys.Retire(2); err != nil {
				log.Error("retiring Entra signing keys", "error", err)
			}
			log.Info("Entra signing key rotated", "kid", keys.SigningKeyID())
		}
	}
}

// Close stops the emulators, closes the store and removes lab.json.
func (l *Lab) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	if l.stop != nil {
		close(l.stop)
	}
	var errs []error
	if l.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		errs = append(errs, l.srv.Shutdown(ctx))
		cancel()
	} else if l.ln != nil {
		errs = append(errs, l.ln.Close())
	}
	if l.proxyLn != nil {
		_ = l.proxyLn.Close()
	}
	l.wg.Wait()
	if l.Store != nil {
		errs = append(errs, l.Store.Close())
	}
	if l.Dir != "" && l.State.PID != 0 {
		_ = os.Remove(filepath.Join(l.Dir, StateFile))
	}
	return errors.Join(errs...)
}

// Wait blocks until ctx is done, then closes the lab.
func (l *Lab) Wait(ctx context.Context) error {
	<-ctx.Done()
	return l.Close()
}

func (l *Lab) writeState() error {
	b, err := json.MarshalIndent(l.State, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(l.Dir, StateFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("writing lab state: %w", err)
	}
	var sb strings.Builder
	for _, v := range l.Env() {
		fmt.Fprintf(&sb, "export %s=%q\n", v.Name, v.Value)
	}
	return os.WriteFile(filepath.Join(l.Dir, EnvFile), []byte(sb.String()), 0o600)
}

// Var is one environment variable to export.
type Var struct{ Name, Value string }

// Env is the environment a client exports to use the lab: the authority
// host, the tenant, the CA bundle, the proxy for the vault host names, and
// one AKSSEC_LAB_VAULT_<NAME> URL per vault.
func (l *Lab) Env() []Var { return l.State.Env() }

// Env is the environment of a lab state.
func (s State) Env() []Var {
	vars := []Var{
		{"AZURE_AUTHORITY_HOST", s.AuthorityHost},
		{"AZURE_TENANT_ID", s.TenantID},
		{"SSL_CERT_FILE", s.CAFile},
	}
	if s.ProxyAddr != "" {
		vars = append(vars, Var{"HTTPS_PROXY", "http://" + s.ProxyAddr})
	}
	names := make([]string, 0, len(s.Vaults))
	for n := range s.Vaults {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		vars = append(vars, Var{"AKSSEC_LAB_VAULT_" + envName(n), s.Vaults[n]})
	}
	return vars
}

func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			return r
		}
		return '_'
	}, s)
}

// VaultURL is the URL of a vault of the snapshot ("" if none has the name).
func (l *Lab) VaultURL(name string) string {
	for n, u := range l.Vaults {
		if strings.EqualFold(n, name) {
			return u
		}
	}
	return ""
}

// ReadState reads lab.json of a running lab.
func ReadState(dir string) (*State, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no lab is running in %s (no %s)", dir, StateFile)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", StateFile, err)
	}
	return &s, nil
}

// clientSecrets loads the lab's client secrets and generates one for each
// service principal (not managed identities: they have no secrets) that
// has none yet.
func clientSecrets(dir string, d *entra.Directory) (map[string]string, error) {
	path := filepath.Join(dir, ClientSecretsFile)
	secrets := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &secrets); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	changed := false
	for _, p := range d.Principals() {
		if p.Kind != entra.KindServicePrincipal || p.AppID == "" {
			continue
		}
		id := strings.ToLower(p.AppID)
		if _, ok := secrets[id]; !ok {
			secrets[id] = "lab~" + randomHex(20)
			changed = true
		}
	}
	if changed {
		b, _ := json.MarshalIndent(secrets, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
			return nil, fmt.Errorf("writing client secrets: %w", err)
		}
	}
	return secrets, nil
}

// seed writes an example value for every secret the snapshot lists that
// the store does not hold yet (in any state: a deleted secret stays
// deleted).
func seed(st *kvemu.Store, e *env.Environment, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	for _, s := range e.Azure.Secrets {
		name := s.SecretName()
		if name == "" || s.Vault == "" {
			continue
		}
		ok, err := st.Exists(s.Vault, name)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		v := kvemu.Version{Value: "lab-" + randomHex(16), ContentType: s.ContentType, Tags: s.Tags, Enabled: true}
		if s.Attributes.Enabled != nil {
			v.Enabled = *s.Attributes.Enabled
		}
		if _, _, err := st.Set(s.Vault, name, v, now()); err != nil {
			return fmt.Errorf("seeding %s/%s: %w", s.Vault, name, err)
		}
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
