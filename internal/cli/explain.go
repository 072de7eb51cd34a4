package cli

import "github.com/spf13/cobra"

// newExplainCommand groups the troubleshooting scenarios; each layer adds
// its subcommand on its own line.
func newExplainCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain forbidden|unreachable|denied|mount",
		Short: "Explain a 403, an unreachable service, a denied object or a failed secret mount, with the fix",
	}
	// explain forbidden (identity and RBAC)
	cmd.AddCommand(newExplainForbiddenCommand(g))
	// explain denied (admission)
	cmd.AddCommand(newExplainDeniedCommand(g))
	// explain unreachable (network)
	cmd.AddCommand(newExplainUnreachableCommand(g))
	// explain mount (workload identity and secrets)
	cmd.AddCommand(newExplainMountCommand(g))
	return cmd
}
