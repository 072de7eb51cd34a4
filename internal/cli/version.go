package cli

import (
	"encoding/json"
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time: -ldflags "-X github.com/akssec/akssec/internal/cli.version=v1.2.3".
var version = ""

func buildVersion() (ver, commit string) {
	ver = version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if ver == "" {
			ver = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	if ver == "" || ver == "(devel)" {
		ver = "devel"
	}
	return ver, commit
}

func newVersionCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the akssec version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			ver, commit := buildVersion()
			if g.output == "json" {
				return json.NewEncoder(g.streams.Out).Encode(map[string]string{"version": ver, "commit": commit})
			}
			if commit != "" {
				ver += " (" + commit + ")"
			}
			_, err := fmt.Fprintln(g.streams.Out, "akssec", ver)
			return err
		},
	}
}
