package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/netpol"
)

type explainUnreachableParams struct {
	g     *globalOptions
	proto string
}

func newExplainUnreachableCommand(g *globalOptions) *cobra.Command {
	p := &explainUnreachableParams{g: g}
	cmd := &cobra.Command{
		Use:   "unreachable SRC DST:PORT[/PROTO]",
		Short: "Explain why SRC cannot reach DST: the isolating policy, the missing allow, and a minimal NetworkPolicy that allows exactly this flow",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			return p.run(cmd.Context(), args[0], args[1])
		},
	}
	cmd.Flags().StringVar(&p.proto, "protocol", "", "protocol when DST has no /PROTO (TCP, UDP, SCTP)")
	return cmd
}

func (p *explainUnreachableParams) run(ctx context.Context, src, dstSpec string) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	dst, port, proto := netpol.SplitPort(dstSpec)
	if proto == "" {
		proto = p.proto
	}
	x, err := netpol.New(e).ExplainUnreachable(netpol.Query{From: src, To: dst, Port: port, Protocol: proto, Namespace: p.g.namespace})
	if err != nil {
		return usageErrorf("%v", err)
	}
	out := p.g.streams.Out
	if p.g.output == "json" {
		return writeJSON(out, struct {
			Reachable bool             `json:"reachable"`
			Answer    reachLine        `json:"answer"`
			Steps     []string         `json:"steps"`
			Isolating []netpol.RuleRef `json:"isolating"`
			Missing   []string         `json:"missing"`
			Fix       string           `json:"fix,omitempty"`
		}{x.Reachable, reachJSON(x.Answer), x.Steps, x.Isolating, x.Missing, x.Fix})
	}
	if x.Reachable {
		fmt.Fprintf(out, "%s → %s is reachable; nothing to explain.\n", src, dstSpec)
	} else {
		fmt.Fprintf(out, "%s → %s is unreachable.\n", src, dstSpec)
	}
	for i, s := range x.Steps {
		fmt.Fprintf(out, "%d. %s\n", i+1, s)
	}
	if len(x.Isolating) > 0 {
		fmt.Fprintln(out, "Isolating / denying policies:")
		for _, r := range x.Isolating {
			fmt.Fprintf(out, "  - %s\n", r)
		}
	}
	if len(x.Missing) > 0 {
		fmt.Fprintln(out, "Missing:")
		for _, m := range x.Missing {
			fmt.Fprintf(out, "  - %s\n", m)
		}
	}
	if x.Fix != "" {
		fmt.Fprintln(out, "Minimal policy that allows exactly this flow:")
		fmt.Fprint(out, x.Fix)
	}
	return nil
}
