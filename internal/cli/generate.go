package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/generate"
)

type generateParams struct {
	g     *globalOptions
	scale string
	seed  int64
	dir   string
}

func newGenerateCommand(g *globalOptions) *cobra.Command {
	p := &generateParams{g: g}
	cmd := &cobra.Command{
		Use:   "generate --scale small|medium|large [--seed N] DIR",
		Short: "Write a deterministic synthetic snapshot for benchmarks",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.dir = args[0]
			sc, ok := generate.Scales[p.scale]
			if !ok {
				return usageErrorf("--scale %q: expected small, medium or large", p.scale)
			}
			st, err := generate.Write(cmd.Context(), p.dir, sc, p.seed)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.streams.Out, "wrote %s snapshot (seed %d) to %s: %d files, %d Kubernetes objects, %d Azure objects\n",
				p.scale, p.seed, p.dir, st.Files, st.KubernetesObjects, st.AzureObjects)
			return err
		},
	}
	cmd.Flags().StringVar(&p.scale, "scale", "small", "small, medium or large (DESIGN.md \"Scale\")")
	cmd.Flags().Int64Var(&p.seed, "seed", 1, "random seed; the same seed writes the same snapshot")
	return cmd
}
