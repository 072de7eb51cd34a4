package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/secretsstore"
)

type mountParams struct {
	g   *globalOptions
	pod string
}

func newMountCommand(g *globalOptions) *cobra.Command {
	p := &mountParams{g: g}
	return &cobra.Command{
		Use:   "mount POD",
		Short: "Resolve a pod's secrets-store volumes: pod → ServiceAccount → identity → federated credential → token exchange → vault → objects",
		Long: `mount decides, offline, what the Secrets Store CSI driver with the Azure Key Vault
provider does when the pod starts: every step of the chain with the real error
text where it fails (AADSTS codes, Key Vault 403s, SecretNotFound, the mount event
kubectl describe pod shows) and the fix; on success, the files that appear
(names, paths, modes; never values). POD is a pod name or the name of the
workload whose template makes it. Exit 1 when a mount fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			p.pod = args[0]
			return p.run(cmd.Context())
		},
	}
}

func (p *mountParams) run(ctx context.Context) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	pod, err := findPodForMount(e, p.g.namespace, p.pod)
	if err != nil {
		return err
	}
	m := secretsstore.New(e).Resolve(pod)
	if p.g.output == "json" {
		if err := writeJSON(p.g.streams.Out, m); err != nil {
			return err
		}
	} else {
		writeMount(p.g.streams.Out, m)
	}
	if m.Status == secretsstore.StatusFailed {
		return errDenied
	}
	return nil
}

// findPodForMount finds a pod by name in a namespace ("default" when -n is
// not given): a pod of the snapshot, else the pod a workload's template
// makes (by workload name, or kind/name).
func findPodForMount(e *env.Environment, ns, name string) (*env.Pod, error) {
	if ns == "" {
		ns = "default"
	}
	kind := ""
	if k, n, ok := strings.Cut(name, "/"); ok {
		kind, name = strings.ToLower(k), n
	}
	var byWorkload *env.Pod
	for _, p := range e.PodsIn(ns) {
		if kind == "" && !p.Synthesized && p.Name == name {
			return p, nil
		}
		if p.Workload != nil && p.Workload.Name == name && (kind == "" || strings.ToLower(p.Workload.Kind) == kind) && byWorkload == nil {
			byWorkload = p
		}
	}
	if byWorkload != nil {
		return byWorkload, nil
	}
	return nil, usageErrorf("no pod or workload %q in namespace %s of the snapshot", name, ns)
}

func stepMark(s secretsstore.Status) string {
	switch s {
	case secretsstore.StatusOK:
		return "ok  "
	case secretsstore.StatusFailed:
		return "FAIL"
	case secretsstore.StatusUnknown:
		return "??  "
	}
	return "--  "
}

func writeMount(w io.Writer, m secretsstore.Mount) {
	if len(m.Volumes) == 0 {
		fmt.Fprintf(w, "pod %s has no secrets-store volume (csi driver %s)\n", m.Ref, secretsstore.Driver)
		return
	}
	for i, v := range m.Volumes {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "pod %s, volume %q, SecretProviderClass %q\n", m.Ref, v.Name, v.Class)
		for _, s := range v.Steps {
			fmt.Fprintf(w, "  %s %-22s", stepMark(s.Status), s.Name)
			if s.Detail != "" {
				fmt.Fprintf(w, " %s", s.Detail)
			}
			fmt.Fprintln(w)
			for _, ev := range s.Evidence {
				fmt.Fprintf(w, "         %-22s at %s\n", "", ev)
			}
			if s.Error != "" {
				fmt.Fprintf(w, "       error: %s\n", mountIndent(s.Error, "         "))
			}
			if s.Fix != "" {
				fmt.Fprintf(w, "       fix:   %s\n", s.Fix)
			}
		}
		switch v.Status {
		case secretsstore.StatusFailed:
			fmt.Fprintf(w, "mount FAILS; kubectl describe pod shows:\n  Warning  FailedMount  kubelet  %s\n", mountIndent(v.Event, "  "))
		case secretsstore.StatusUnknown:
			fmt.Fprintln(w, "mount not fully decided (steps marked ?? lack data in the snapshot)")
		default:
			fmt.Fprintln(w, "mount ok")
		}
		if v.Status != secretsstore.StatusFailed {
			if len(v.Files) > 0 {
				fmt.Fprintln(w, "files:")
				for _, f := range v.Files {
					fmt.Fprintf(w, "  %-12s %s  %s  (%s %s)\n", f.Container, f.Mode, f.Path, f.Type, f.Object)
				}
			}
			for _, s := range v.Synced {
				fmt.Fprintf(w, "synced Secret %s (type %s, keys %s), exists while a pod mounts the class\n", s.Name, s.Type, strings.Join(s.Keys, ", "))
				if s.Error != "" {
					fmt.Fprintf(w, "  error: %s\n", s.Error)
				}
			}
		}
	}
}

func mountIndent(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}
