package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/secretsstore"
)

type explainMountParams struct {
	g   *globalOptions
	pod string
}

func newExplainMountCommand(g *globalOptions) *cobra.Command {
	p := &explainMountParams{g: g}
	return &cobra.Command{
		Use:     "mount POD -n NS",
		Short:   "Walk the six debugging steps of a failed Key Vault secret mount, with the real error and the fix",
		Example: "  akssec explain mount trading-engine -n trading",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			p.pod = args[0]
			return p.run(cmd.Context())
		},
	}
}

func (p *explainMountParams) run(ctx context.Context) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	pod, err := findPodForMount(e, p.g.namespace, p.pod)
	if err != nil {
		return err
	}
	r := secretsstore.New(e)
	m := r.Resolve(pod)
	ex := r.Explain(m)
	if p.g.output == "json" {
		if err := writeJSON(p.g.streams.Out, ex); err != nil {
			return err
		}
	} else {
		writeExplainMount(p.g.streams.Out, m.Ref, ex)
	}
	if m.Status == secretsstore.StatusFailed {
		return errDenied
	}
	return nil
}

func writeExplainMount(w io.Writer, ref string, ex []secretsstore.Explanation) {
	if len(ex) == 0 {
		fmt.Fprintf(w, "pod %s has no secrets-store volume\n", ref)
		return
	}
	for _, x := range ex {
		fmt.Fprintf(w, "pod %s, volume %q (SecretProviderClass %q)\n", x.Pod, x.Volume, x.Class)
		for _, s := range x.Steps {
			fmt.Fprintf(w, "\n%d. %s [%s]\n   $ %s\n", s.N, s.Title, s.Status, s.Command)
			for _, f := range s.Found {
				fmt.Fprintf(w, "   - %s\n", mountIndent(f, "     "))
			}
			if s.Error != "" {
				fmt.Fprintf(w, "   error: %s\n", mountIndent(s.Error, "          "))
			}
			if s.Fix != "" {
				fmt.Fprintf(w, "   fix: %s\n", s.Fix)
			}
		}
		if x.Cause != "" {
			fmt.Fprintf(w, "\ncause: %s\n", x.Cause)
		} else {
			fmt.Fprintln(w, "\nno step fails: the mount succeeds")
		}
	}
}
