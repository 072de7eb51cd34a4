package cli

import (
	"context"

	"github.com/spf13/cobra"
)

type whoCanReadParams struct {
	g      *globalOptions
	target string
}

func newWhoCanReadCommand(g *globalOptions) *cobra.Command {
	p := &whoCanReadParams{g: g}
	return &cobra.Command{
		Use:   "who-can-read VAULT/SECRET",
		Short: "List the identities that can read a Key Vault secret, then the pods and ServiceAccounts that become them",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			p.target = args[0]
			return p.run(cmd.Context())
		},
	}
}

func (p *whoCanReadParams) run(ctx context.Context) error {
	return usageErrorf("who-can-read: not implemented yet")
}
