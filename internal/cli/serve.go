package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/lab"
	"github.com/akssec/akssec/internal/server"
)

type serveParams struct {
	g           *globalOptions
	listen      string
	certFile    string
	keyFile     string
	chain       string
	podSecurity bool
	maxBody     int64
	timeout     time.Duration
	grace       time.Duration
	reloadEvery time.Duration
	labDir      string
}

func newServeCommand(g *globalOptions) *cobra.Command {
	p := &serveParams{g: g}
	cmd := &cobra.Command{
		Use:   "serve --tls-cert-file FILE --tls-private-key-file FILE",
		Short: "Serve the snapshot's engines as admission and authorization webhooks",
		Long: `serve answers, over TLS:

  /validate   AdmissionReview: Gatekeeper and Azure Policy (as the Azure Policy
              add-on enforces them) on pods; with --pod-security also Pod
              Security Admission, for dry-run comparison with the API server
  /authenticate
              TokenReview: Entra access tokens (of the lab's Entra emulator,
              --entra-lab-dir) mapped to user info as AKS's Guard maps them
  /mutate/workload-identity
              AdmissionReview: the Azure Workload Identity webhook's mutation
              (env, projected token, proxy containers) as a JSON patch
  /authorize  SubjectAccessReview: Azure RBAC for Kubernetes as AKS's
              authorization webhook decides (--chain azure), or the whole
              chain: system:masters, RBAC, Azure RBAC (--chain full)
  /healthz, /readyz, /metrics (Prometheus)

The certificate files are read again when they change; SIGHUP (or
--reload-interval) reloads the snapshot without a restart; SIGTERM drains
requests in flight before exiting. Logs are JSON on stderr.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := p.validate(); err != nil {
				return err
			}
			return p.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.listen, "listen", ":8443", "address to listen on")
	f.StringVar(&p.certFile, "tls-cert-file", "", "serving certificate (PEM), reloaded when it changes")
	f.StringVar(&p.keyFile, "tls-private-key-file", "", "serving key (PEM)")
	f.StringVar(&p.chain, "chain", server.ChainAzure, "authorization answered by /authorize: azure or full")
	f.BoolVar(&p.podSecurity, "pod-security", false, "/validate also enforces Pod Security Admission")
	f.Int64Var(&p.maxBody, "max-request-bytes", server.DefaultMaxBodyBytes, "largest request body accepted")
	f.DurationVar(&p.timeout, "timeout", server.DefaultTimeout, "longest a decision may take")
	f.DurationVar(&p.grace, "shutdown-grace", 25*time.Second, "how long requests in flight may finish after SIGTERM")
	f.DurationVar(&p.reloadEvery, "reload-interval", 0, "reload the snapshot this often (0: only on SIGHUP)")
	f.StringVar(&p.labDir, "entra-lab-dir", "", "lab directory of akssec lab up: /authenticate validates tokens of its Entra emulator")
	return cmd
}

func (p *serveParams) validate() error {
	if p.certFile == "" || p.keyFile == "" {
		return usageErrorf("serve needs --tls-cert-file and --tls-private-key-file: the API server calls webhooks over TLS only")
	}
	if p.chain != server.ChainAzure && p.chain != server.ChainFull {
		return usageErrorf("--chain %q: expected azure or full", p.chain)
	}
	if p.maxBody <= 0 || p.timeout <= 0 || p.grace < 0 || p.reloadEvery < 0 {
		return usageErrorf("--max-request-bytes and --timeout must be positive, --shutdown-grace and --reload-interval not negative")
	}
	return nil
}

func (p *serveParams) run(ctx context.Context) error {
	log := slog.New(slog.NewJSONHandler(p.g.streams.Err, nil))
	load := func(ctx context.Context) (*server.Engines, error) {
		e, err := p.g.loadEnv(ctx)
		if err != nil {
			return nil, err
		}
		return server.Prepare(ctx, e)
	}
	certs, err := server.NewCertReloader(p.certFile, p.keyFile)
	if err != nil {
		return usageErrorf("%v", err)
	}
	opts := server.Options{MaxBodyBytes: p.maxBody, Timeout: p.timeout, Chain: p.chain, PodSecurity: p.podSecurity, Logger: log}
	if p.labDir != "" {
		e, err := p.g.loadEnv(ctx)
		if err != nil {
			return err
		}
		v, err := lab.EntraTokenValidator(p.labDir, e)
		if err != nil {
			return usageErrorf("--entra-lab-dir: %v", err)
		}
		opts.Tokens = v
	}
	srv, err := server.New(ctx, load, opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", p.listen)
	if err != nil {
		return usageErrorf("listening on %s: %v", p.listen, err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "snapshot", p.g.dir(), "chain", p.chain, "podSecurity", p.podSecurity)
	// Ready to accept: a line on stdout that scripts can wait for.
	fmt.Fprintf(p.g.streams.Out, "serving on %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	var tick <-chan time.Time
	if p.reloadEvery > 0 {
		t := time.NewTicker(p.reloadEvery)
		defer t.Stop()
		tick = t.C
	}
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			case <-tick:
			}
			if err := srv.Reload(ctx); err != nil {
				log.Error("reloading the snapshot; the previous one keeps serving", "err", err)
			} else {
				log.Info("snapshot reloaded")
			}
		}
	}()
	return srv.Serve(ctx, ln, certs, p.grace)
}
