package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/secretsstore"
	"github.com/akssec/akssec/internal/workloadid"
)

type whoCanReadParams struct {
	g             *globalOptions
	vault, secret string
}

func newWhoCanReadCommand(g *globalOptions) *cobra.Command {
	p := &whoCanReadParams{g: g}
	return &cobra.Command{
		Use:   "who-can-read VAULT/SECRET",
		Short: "List the identities Key Vault lets read a secret, then the ServiceAccounts and pods that become them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			v, s, ok := strings.Cut(args[0], "/")
			if !ok || v == "" || s == "" {
				return usageErrorf("expected VAULT/SECRET, got %q", args[0])
			}
			p.vault, p.secret = v, s
			return p.run(cmd.Context())
		},
	}
}

// secretReader is one reader in who-can-read's output.
type secretReader struct {
	Principal       string              `json:"principal"`
	PrincipalID     string              `json:"principalId"`
	Kind            string              `json:"kind"`
	Via             string              `json:"via"`
	Evidence        []string            `json:"evidence"`
	ServiceAccounts []federatedAccount  `json:"serviceAccounts,omitempty"`
	Unbound         []unboundCredential `json:"unboundCredentials,omitempty"`
	Mounts          []secretReaderMount `json:"mounts,omitempty"`
}

type federatedAccount struct {
	ServiceAccount string   `json:"serviceAccount"`
	Credential     string   `json:"federatedCredential"`
	Location       string   `json:"location"`
	Pods           []string `json:"pods,omitempty"`
}

type unboundCredential struct {
	Credential string `json:"federatedCredential"`
	Subject    string `json:"subject"`
	Error      string `json:"error"`
	Location   string `json:"location"`
}

type secretReaderMount struct {
	Pod    string `json:"pod"`
	Class  string `json:"secretProviderClass"`
	Mode   string `json:"identityMode"`
	Status string `json:"status"`
}

func (p *whoCanReadParams) run(ctx context.Context) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	r := secretsstore.New(e)
	v := r.Vault(p.vault)
	if v == nil {
		return usageErrorf("no Key Vault %q in the snapshot (azure/keyvaults/)", p.vault)
	}
	readers := r.Readers(p.vault, p.secret)
	bindings := r.Federation().Bindings()
	consumers := r.Consumers()
	var out []secretReader
	for _, rd := range readers {
		sr := secretReader{Principal: rd.Name(), PrincipalID: rd.PrincipalID, Via: rd.Via}
		switch {
		case rd.Identity != nil:
			sr.Kind = "ManagedIdentity"
		case rd.Principal != nil:
			sr.Kind = string(rd.Principal.Kind)
		}
		for _, l := range rd.Evidence {
			sr.Evidence = append(sr.Evidence, l.String())
		}
		if rd.Identity != nil {
			for _, b := range bindings {
				if b.Identity != rd.Identity {
					continue
				}
				fa := federatedAccount{ServiceAccount: b.Namespace + "/" + b.ServiceAccount, Credential: b.Credential.Name, Location: b.Credential.Src.String()}
				fa.Pods = podsWithServiceAccount(e, b.Namespace, b.ServiceAccount)
				sr.ServiceAccounts = append(sr.ServiceAccounts, fa)
			}
			for _, u := range r.Federation().Unbound(rd.Identity) {
				sr.Unbound = append(sr.Unbound, unboundCredential{Credential: u.Credential.Name, Subject: u.Credential.Subject, Error: u.Error.Description(), Location: u.Credential.Src.String()})
			}
			for _, c := range consumers {
				if c.Identity == rd.Identity {
					sr.Mounts = append(sr.Mounts, secretReaderMount{Pod: c.PodRef, Class: c.Class, Mode: string(c.Mode), Status: string(c.Status)})
				}
			}
		}
		out = append(out, sr)
	}
	if p.g.output == "json" {
		return writeJSON(p.g.streams.Out, struct {
			Vault   string         `json:"vault"`
			Secret  string         `json:"secret"`
			Model   string         `json:"model"`
			Readers []secretReader `json:"readers"`
		}{v.Name, p.secret, vaultModel(v.RBAC()), out})
	}
	writeReaders(p.g.streams.Out, v.Name, p.secret, vaultModel(v.RBAC()), out)
	if listed, item := r.SecretListed(v.Name, p.secret); listed && item == nil {
		fmt.Fprintf(p.g.streams.Out, "note: %s is not in %s's secret list in the snapshot\n", p.secret, v.Name)
	}
	return nil
}

func vaultModel(rbac bool) string {
	if rbac {
		return "rbac"
	}
	return "access policy"
}

func podsWithServiceAccount(e *env.Environment, ns, sa string) []string {
	var out []string
	for _, p := range e.PodsIn(ns) {
		name := p.Spec.ServiceAccountName
		if name == "" {
			name = "default"
		}
		if name == sa {
			out = append(out, p.Ref())
		}
	}
	return out
}

func writeReaders(w io.Writer, vault, secret, model string, rs []secretReader) {
	fmt.Fprintf(w, "Key Vault %s (%s), secret %s: %d principal(s) can get its value\n", vault, model, secret, len(rs))
	for _, r := range rs {
		fmt.Fprintf(w, "  %s (%s)\n    via %s\n", r.Principal, r.PrincipalID, r.Via)
		for _, ev := range r.Evidence {
			fmt.Fprintf(w, "      at %s\n", ev)
		}
		for _, sa := range r.ServiceAccounts {
			fmt.Fprintf(w, "    becomes it: ServiceAccount %s (federated credential %s at %s; subject %s)\n", sa.ServiceAccount, sa.Credential, sa.Location, strings.Replace(workloadid.Subject("NS", "SA"), "NS:SA", strings.Replace(sa.ServiceAccount, "/", ":", 1), 1))
			if len(sa.Pods) == 0 {
				fmt.Fprintln(w, "      no pod runs as it yet; anyone who may create pods (or the ServiceAccount) in that namespace can")
			}
			for _, p := range sa.Pods {
				fmt.Fprintf(w, "      pod %s\n", p)
			}
		}
		for _, u := range r.Unbound {
			fmt.Fprintf(w, "    does not bind: federated credential %s (subject %s, at %s) fails the exchange: %s\n", u.Credential, u.Subject, u.Location, u.Error)
		}
		for _, m := range r.Mounts {
			fmt.Fprintf(w, "    mounted by pod %s through SecretProviderClass %s (%s, mount %s)\n", m.Pod, m.Class, m.Mode, m.Status)
		}
	}
}
