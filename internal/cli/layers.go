package cli

import "github.com/spf13/cobra"

// layerCommands are the commands of the layer engines. Each layer adds its
// own line in its own block so that work on different layers does not touch
// the same lines.
func layerCommands(g *globalOptions) []*cobra.Command {
	var cmds []*cobra.Command
	// identity and RBAC (can-i, who-can, access-matrix)
	cmds = append(cmds, newCanICommand(g), newWhoCanCommand(g), newAccessMatrixCommand(g))
	// admission (admit)
	cmds = append(cmds, newVerifyCommand(g))
	cmds = append(cmds, newAdmitCommand(g))
	// network (reach, netpol)
	cmds = append(cmds, newReachCommand(g), newNetpolCommand(g))
	// workload identity and secrets (mount, who-can-read)
	cmds = append(cmds, newMountCommand(g), newWhoCanReadCommand(g))
	cmds = append(cmds, newExplainCommand(g))
	// scan, paths, test
	cmds = append(cmds, newScanCommand(g), newPathsCommand(g), newTestCommand(g))
	// live (collect, serve)
	cmds = append(cmds, newCollectCommand(g), newServeCommand(g))
	// emulators (lab)
	cmds = append(cmds, newLabCommand(g))
	return cmds
}
