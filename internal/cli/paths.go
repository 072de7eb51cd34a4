package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/graph"
	"github.com/akssec/akssec/internal/scan"
)

type pathsParams struct {
	g       *globalOptions
	from    string
	to      string
	maxHops int
	all     bool
}

func newPathsCommand(g *globalOptions) *cobra.Command {
	p := &pathsParams{g: g}
	cmd := &cobra.Command{
		Use:   "paths [--from PRINCIPAL] [--to TARGET]",
		Short: "Cross-layer attack paths: Entra → RBAC → pods → workload identity → Key Vault",
		Long: `paths searches the cross-layer graph. Without flags it lists the attack paths
the scan reports (principals outside the admin groups who can read a Key Vault
secret through the cluster). --from takes an Entra principal (UPN, object ID,
display name); --to takes keyvault/VAULT/SECRET (or VAULT/SECRET) or
serviceaccount/NS/NAME. With both, the shortest path (or --all simple paths);
with --to alone, the shortest path from every principal that can reach it:
who can read this secret, across every layer. Exit 1 when --from/--to are
given and no path exists.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			return p.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&p.from, "from", "", "start: an Entra principal")
	cmd.Flags().StringVar(&p.to, "to", "", "target: keyvault/VAULT/SECRET or serviceaccount/NS/NAME")
	cmd.Flags().IntVar(&p.maxHops, "max-hops", 12, "longest path considered")
	cmd.Flags().BoolVar(&p.all, "all", false, "all simple paths, not only the shortest")
	return cmd
}

func (p *pathsParams) run(ctx context.Context) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	gr, err := graph.Build(ctx, e)
	if err != nil {
		return err
	}
	var paths []graph.Path
	switch {
	case p.from == "" && p.to == "":
		for _, ap := range scan.AttackPaths(e, gr) {
			paths = append(paths, *ap.Path)
		}
	default:
		var srcs, dsts []string
		if p.from != "" {
			if srcs, err = gr.Resolve(e.Directory, p.from); err != nil {
				return usageErrorf("--from: %v", err)
			}
		} else {
			srcs = gr.Sources()
		}
		if p.to != "" {
			if dsts, err = gr.Resolve(e.Directory, p.to); err != nil {
				return usageErrorf("--to: %v", err)
			}
		} else {
			dsts = gr.Targets()
		}
		for _, dst := range dsts {
			next := gr.Toward(dst, p.maxHops)
			for _, src := range srcs {
				if src == dst {
					continue
				}
				if p.all {
					paths = append(paths, gr.AllSimple(src, dst, p.maxHops)...)
				} else if pa := gr.Follow(next, src); pa != nil {
					paths = append(paths, *pa)
				}
			}
		}
	}
	if p.g.output == "json" {
		type step struct {
			From, To, Action, Layer string
		}
		type doc struct {
			From  string `json:"from"`
			To    string `json:"to"`
			Hops  int    `json:"hops"`
			Steps []step `json:"steps"`
		}
		out := []doc{}
		for _, pa := range paths {
			d := doc{From: pa.Source().Label, To: pa.Target().Label, Hops: len(pa.Edges)}
			for i, e := range pa.Edges {
				d.Steps = append(d.Steps, step{pa.Nodes[i].Label, pa.Nodes[i+1].Label, e.Action, string(e.Layer)})
			}
			out = append(out, d)
		}
		if err := writeJSON(p.g.streams.Out, out); err != nil {
			return err
		}
	} else {
		w := p.g.streams.Out
		if len(paths) == 0 {
			fmt.Fprintln(w, "no path")
		}
		for _, pa := range paths {
			fmt.Fprintf(w, "%s ⇒ %s (%d hops)\n", pa.Source().Label, pa.Target().Label, len(pa.Edges))
			for i, e := range pa.Edges {
				fmt.Fprintf(w, "  %d. %s —%s→ %s  [%s]\n", i+1, pa.Nodes[i].Label, e.Action, pa.Nodes[i+1].Label, e.Layer)
				for _, ev := range e.Evidence {
					fmt.Fprintf(w, "       %s  %s\n", ev.Loc, ev.Text)
				}
			}
		}
	}
	if (p.from != "" || p.to != "") && len(paths) == 0 {
		return errDenied
	}
	return nil
}
