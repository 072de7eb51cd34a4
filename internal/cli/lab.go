package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/lab"
)

type labParams struct {
	g   *globalOptions
	dir string
}

// labDir is --dir, else $AKSSEC_LAB_DIR, else .akssec-lab.
func (p *labParams) labDir() string {
	if p.dir != "" {
		return p.dir
	}
	if v := os.Getenv("AKSSEC_LAB_DIR"); v != "" {
		return v
	}
	return ".akssec-lab"
}

func newLabCommand(g *globalOptions) *cobra.Command {
	p := &labParams{g: g}
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Local Entra ID and Key Vault emulators for the snapshot (up, down, token, approve)",
		Long: `lab runs, on loopback HTTPS with its own CA, the snapshot's Entra tenant (OIDC
discovery, JWKS, token endpoint with client secrets, federated client assertions
and the device code flow), the cluster's service-account issuer and every Key
Vault with its secret names (example values). Federation is decided by the
workload identity engine and Key Vault access by the secrets engine, so a
workload fails in the lab exactly where it would in Azure, with the same error.

The real Azure SDK talks to it with AZURE_AUTHORITY_HOST, SSL_CERT_FILE and
HTTPS_PROXY (which lets clients reach <vault>.vault.localhost) as printed by
lab up, and instance discovery disabled.`,
	}
	cmd.PersistentFlags().StringVar(&p.dir, "dir", "", "lab directory: CA, keys, client secrets, Key Vault state (default $AKSSEC_LAB_DIR, else .akssec-lab)")
	cmd.AddCommand(newLabUpCommand(p), newLabDownCommand(p), newLabTokenCommand(p), newLabApproveCommand(p))
	return cmd
}

type labUpParams struct {
	*labParams
	addr, proxyAddr string
	detach          bool
	rotate          time.Duration
}

func newLabUpCommand(lp *labParams) *cobra.Command {
	p := &labUpParams{labParams: lp}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the emulators and print the environment to export; runs until SIGINT/SIGTERM (or detached)",
		Example: `  akssec lab up -e examples/contoso-bank
  eval "$(akssec lab up -e examples/contoso-bank --detach)"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if p.detach {
				return p.runDetached(cmd.Context())
			}
			return p.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&p.addr, "addr", lab.DefaultAddr, "HTTPS listener (loopback only)")
	cmd.Flags().StringVar(&p.proxyAddr, "proxy-addr", "127.0.0.1:0", `CONNECT proxy for the vault host names (loopback only; "-" for none)`)
	cmd.Flags().DurationVar(&p.rotate, "rotate-keys", 0, "roll the Entra signing key at this interval (e.g. 1h; 0 = never)")
	cmd.Flags().BoolVar(&p.detach, "detach", false, "start the lab in the background (logs in LABDIR/lab.log) and return once it serves")
	return cmd
}

func (p *labUpParams) run(ctx context.Context) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(p.g.streams.Err, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l, err := lab.Start(ctx, e, lab.Options{Dir: p.labDir(), Addr: p.addr, ProxyAddr: p.proxyAddr, Logger: log, KeyRotation: p.rotate})
	if err != nil {
		return usageErrorf("%v", err)
	}
	writeLabEnv(p.g.streams.Out, l.State)
	fmt.Fprintln(p.g.streams.Err, "lab running; stop with Ctrl-C or akssec lab down")
	return l.Wait(ctx)
}

func (p *labUpParams) runDetached(ctx context.Context) error {
	dir, err := filepath.Abs(p.labDir())
	if err != nil {
		return err
	}
	if st, err := lab.ReadState(dir); err == nil {
		return usageErrorf("a lab (pid %d) already runs in %s; stop it with akssec lab down --dir %s", st.PID, dir, dir)
	}
	envDir, err := filepath.Abs(p.g.dir())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	args := []string{"lab", "up", "-e", envDir, "--dir", dir, "--addr", p.addr, "--proxy-addr", p.proxyAddr}
	if p.g.keepGoing {
		args = append(args, "--keep-going")
	}
	if p.rotate > 0 {
		args = append(args, "--rotate-keys", p.rotate.String())
	}
	logPath := filepath.Join(dir, "lab.log")
	if err := startDetached(args, logPath); err != nil {
		return fmt.Errorf("starting the lab: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := lab.WaitState(wctx, dir, true); err != nil {
		return fmt.Errorf("the lab did not start (see %s): %w", logPath, err)
	}
	st, err := lab.ReadState(dir)
	if err != nil {
		return err
	}
	writeLabEnv(p.g.streams.Out, *st)
	return nil
}

// writeLabEnv prints the environment as shell exports, with the endpoints
// as comments, so eval "$(akssec lab up --detach)" works.
func writeLabEnv(w io.Writer, st lab.State) {
	fmt.Fprintf(w, "# akssec lab (pid %d) on %s\n", st.PID, st.Addr)
	fmt.Fprintf(w, "# Entra ID tenant %s: %s\n", st.TenantID, st.AuthorityHost)
	if st.Issuer != "" {
		fmt.Fprintf(w, "# cluster issuer %s mirrored at %s\n", st.Issuer, st.IssuerMirror)
	}
	names := make([]string, 0, len(st.Vaults))
	for n := range st.Vaults {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "# Key Vault %s: %s\n", n, st.Vaults[n])
	}
	fmt.Fprintln(w, "# clients: disable instance discovery; the token audience for Key Vault is "+st.Resource)
	for _, v := range st.Env() {
		fmt.Fprintf(w, "export %s=%s\n", v.Name, shellQuote(v.Value))
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func newLabDownCommand(lp *labParams) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop the lab running in the lab directory",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if err := lab.Down(ctx, lp.labDir()); err != nil {
				return usageErrorf("%v", err)
			}
			fmt.Fprintln(lp.g.streams.Out, "lab stopped")
			return nil
		},
	}
}

type labTokenParams struct {
	*labParams
	sa        string
	user      string
	audiences []string
}

func newLabTokenCommand(lp *labParams) *cobra.Command {
	p := &labTokenParams{labParams: lp}
	cmd := &cobra.Command{
		Use:   "token (--sa NAMESPACE/NAME | --user UPN)",
		Short: "Print a service-account token as the kubelet projects it, or a user's Entra access token for the API server",
		Long: `token issues a service-account token signed by the lab's cluster issuer, as
the kubelet projects it for the workload identity webhook: iss is the snapshot
cluster's OIDC issuer URL, sub system:serviceaccount:NAMESPACE:NAME. Write it to
the file AZURE_FEDERATED_TOKEN_FILE names.

With --user, it prints the access token the lab's Entra emulator gives that
user for the AKS server application, as kubelogin's sign-in would: use it with
kubectl --token against an API server authenticating through
akssec serve --entra-lab-dir.`,
		Example: `  akssec lab token --sa default/myapp-sa > /tmp/token
  kubectl --token "$(akssec lab token --user carol@contoso.com)" get pods`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (p.sa == "") == (p.user == "") {
				return usageErrorf("give exactly one of --sa and --user")
			}
			if p.user != "" {
				e, err := p.g.loadEnv(cmd.Context())
				if err != nil {
					return err
				}
				tok, err := lab.UserToken(p.labDir(), e, p.user)
				if err != nil {
					return usageErrorf("%v", err)
				}
				fmt.Fprintln(p.g.streams.Out, tok)
				return nil
			}
			ns, name, ok := strings.Cut(p.sa, "/")
			if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
				return usageErrorf("--sa must be NAMESPACE/NAME, got %q", p.sa)
			}
			e, err := p.g.loadEnv(cmd.Context())
			if err != nil {
				return err
			}
			tok, err := lab.ServiceAccountToken(p.labDir(), e, ns, name, p.audiences...)
			if err != nil {
				return usageErrorf("%v", err)
			}
			fmt.Fprintln(p.g.streams.Out, tok)
			return nil
		},
	}
	cmd.Flags().StringVar(&p.sa, "sa", "", "service account as NAMESPACE/NAME")
	cmd.Flags().StringVar(&p.user, "user", "", "Entra user (UPN, object ID or display name): an access token for the AKS server application")
	cmd.Flags().StringSliceVar(&p.audiences, "audience", nil, "service-account token audience (default api://AzureADTokenExchange)")
	return cmd
}

type labApproveParams struct {
	*labParams
	user string
}

func newLabApproveCommand(lp *labParams) *cobra.Command {
	p := &labApproveParams{labParams: lp}
	cmd := &cobra.Command{
		Use:     "approve CODE --user UPN",
		Short:   "Approve a pending device code sign-in as a user of the snapshot (no browser)",
		Example: `  akssec lab approve GQB5NSVTX --user alice@contoso.com`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if p.user == "" {
				return usageErrorf("--user is required")
			}
			if err := lab.Approve(cmd.Context(), p.labDir(), args[0], p.user); err != nil {
				return usageErrorf("%v", err)
			}
			fmt.Fprintf(p.g.streams.Out, "signed in %s\n", p.user)
			return nil
		},
	}
	cmd.Flags().StringVar(&p.user, "user", "", "the user signing in (UPN, object ID or display name)")
	return cmd
}
