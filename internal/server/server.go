// Package server serves akssec's engines as the webhooks of a live cluster:
// a validating admission webhook (/validate: Gatekeeper and Azure Policy as
// the Azure Policy add-on enforces them, and Pod Security Admission when
// asked, for dry-run comparison) and an authorization webhook (/authorize:
// SubjectAccessReview answered by Azure RBAC for Kubernetes as AKS's
// authorization webhook decides, or by the whole authorizer chain).
//
// It is hardened as the Kubernetes Pod Security webhook is: POST only, a
// JSON content type, a body cap, the review's kind and version checked, the
// request UID echoed, a panic answered with a proper review (and counted)
// rather than a dropped connection, a per-request timeout, /healthz,
// /readyz and Prometheus /metrics, slog logs, and graceful shutdown.
//
// The engines are prepared once from a snapshot and swapped atomically on
// Reload, so a request always sees one consistent snapshot.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/akssec/akssec/internal/admission"
	"github.com/akssec/akssec/internal/azurerbac"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/graph"
	"github.com/akssec/akssec/internal/rbac"
)

// Engines are the prepared decision engines of one snapshot.
type Engines struct {
	Env        *env.Environment
	Admitter   *admission.Admitter
	Authorizer *rbac.Authorizer
	Azure      *azurerbac.Authorizer
}

// Prepare builds the engines of an Environment.
func Prepare(ctx context.Context, e *env.Environment) (*Engines, error) {
	a, err := graph.Admitter(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("preparing admission: %w", err)
	}
	return &Engines{Env: e, Admitter: a, Authorizer: rbac.New(e), Azure: azurerbac.New(e)}, nil
}

// LoadFunc loads a snapshot and prepares its engines.
type LoadFunc func(ctx context.Context) (*Engines, error)

// Authorization chains /authorize can answer with.
const (
	// ChainAzure answers as AKS's authorization webhook: Azure RBAC for
	// Kubernetes only (the API server has already run RBAC in process).
	ChainAzure = "azure"
	// ChainFull answers with the whole chain (system:masters, Kubernetes
	// RBAC, Azure RBAC), for an API server authorizing with the webhook
	// alone, or for comparison.
	ChainFull = "full"
)

// Defaults of Options.
const (
	// DefaultMaxBodyBytes is the Pod Security webhook's cap (3 MiB), above
	// the API server's largest object (etcd's 1.5 MiB request limit).
	DefaultMaxBodyBytes = 3 << 20
	// DefaultTimeout bounds one decision; the API server's webhook timeout
	// is 10 s by default and at most 30 s.
	DefaultTimeout = 8 * time.Second
)

// Options tune a Server.
type Options struct {
	MaxBodyBytes int64
	Timeout      time.Duration
	// Chain is ChainAzure (default) or ChainFull.
	Chain string
	// PodSecurity makes /validate also enforce Pod Security Admission (the
	// API server already does; this is for dry-run comparison).
	PodSecurity bool
	// Tokens validates Entra access tokens for /authenticate (nil: the
	// endpoint refuses every token, saying why).
	Tokens TokenValidator
	Logger *slog.Logger
}

// Server answers webhook requests with the current engines.
type Server struct {
	opts    Options
	load    LoadFunc
	engines atomic.Pointer[Engines]
	metrics *metrics
	reg     *prometheus.Registry
	log     *slog.Logger
	// panicHook, when set, runs inside every decision (tests use it to
	// prove that a panic is answered).
	panicHook func(path string)
}

// New loads the engines once and returns a Server.
func New(ctx context.Context, load LoadFunc, opts Options) (*Server, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	switch opts.Chain {
	case "":
		opts.Chain = ChainAzure
	case ChainAzure, ChainFull:
	default:
		return nil, fmt.Errorf("authorization chain %q: expected %s or %s", opts.Chain, ChainAzure, ChainFull)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, load: load, log: opts.Logger, reg: prometheus.NewRegistry()}
	s.metrics = newMetrics(s.reg)
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload loads the snapshot again and swaps the engines in; on error the
// old engines keep serving.
func (s *Server) Reload(ctx context.Context) error {
	e, err := s.load(ctx)
	if err != nil {
		s.metrics.reloads.WithLabelValues("error").Inc()
		return err
	}
	s.engines.Store(e)
	s.metrics.reloads.WithLabelValues("ok").Inc()
	s.metrics.loadedAt.SetToCurrentTime()
	return nil
}

// Handler routes the webhook and health endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/validate", s.review("/validate", s.validate))
	mux.Handle("/authorize", s.review("/authorize", s.authorize))
	mux.Handle("/authenticate", s.review("/authenticate", s.authenticate))
	mux.Handle("/mutate/workload-identity", s.review("/mutate/workload-identity", s.mutateWorkloadIdentity))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.engines.Load() == nil {
			http.Error(w, "no snapshot loaded", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return mux
}

// CertReloader serves the certificate in certFile/keyFile, reading them
// again when either file changes (as cert-manager rotates them).
type CertReloader struct {
	certFile, keyFile string
	mu                sync.Mutex
	cert              *tls.Certificate
	mod               time.Time
}

// NewCertReloader loads the pair once, failing on a bad pair.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile}
	if _, err := r.GetCertificate(nil); err != nil {
		return nil, err
	}
	return r, nil
}

// GetCertificate is tls.Config's hook.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mod := latestMod(r.certFile, r.keyFile)
	if r.cert != nil && !mod.After(r.mod) {
		return r.cert, nil
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		if r.cert != nil {
			return r.cert, nil // half-written rotation: keep the old pair
		}
		return nil, fmt.Errorf("loading the serving certificate: %w", err)
	}
	r.cert, r.mod = &c, mod
	return r.cert, nil
}

func latestMod(files ...string) time.Time {
	var t time.Time
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

// Serve serves TLS on ln until ctx is done, then shuts down gracefully:
// requests in flight are answered (for up to grace) before it returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener, certs *CertReloader, grace time.Duration) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       s.opts.Timeout + 5*time.Second,
		WriteTimeout:      s.opts.Timeout + 5*time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
