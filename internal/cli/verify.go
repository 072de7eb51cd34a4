package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/gkverify"
)

type verifyParams struct {
	g       *globalOptions
	paths   []string
	run     string
	verbose bool
}

func newVerifyCommand(g *globalOptions) *cobra.Command {
	p := &verifyParams{g: g}
	cmd := &cobra.Command{
		Use:   "verify PATH...",
		Short: "Run Gatekeeper test Suites (gator verify suite.yaml) on akssec's Gatekeeper engine",
		Long: `verify runs the Suites that gator verify runs (kind Suite, apiVersion
test.gatekeeper.sh/v1alpha1), unchanged: each test's ConstraintTemplate (Rego or
K8sNativeValidation CEL) and Constraint, each case's object (or AdmissionReview)
and data.inventory, and its assertions, decided as gator v3.23.1 decides them.

PATH is a Suite file, a directory (its YAML files), or DIR/... (the whole tree).
Output is gator's: ok/FAIL per Suite, --- FAIL lines with the reason.
Tests with an expansion (ExpansionTemplate) fail: akssec does not expand.

Exit status 1 when a test or case fails, 2 when a Suite cannot be read.`,
		Example: `  akssec verify suite.yaml
  akssec verify policies/... --run 'forbid-labels//'
  akssec verify policies/... --run '//^nginx-deployment$' -v`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			p.paths = args
			return p.exec(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&p.run, "run", "r", "", `regular expression selecting tests and cases by name ("TEST//CASE" for both)`)
	cmd.Flags().BoolVarP(&p.verbose, "verbose", "v", false, "print every test and case, passed and skipped")
	return cmd
}

func (p *verifyParams) exec(ctx context.Context) error {
	results, err := gkverify.Verify(ctx, p.paths, p.run)
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return usageErrorf("%v", err)
	}
	out := p.g.streams.Out
	if p.g.output == "json" {
		err = gkverify.WriteJSON(out, results)
	} else {
		err = gkverify.WriteText(out, results, p.verbose)
		if err == nil {
			_, err = fmt.Fprintln(out)
		}
	}
	if err != nil {
		return errors.Join(errors.New("writing results"), err)
	}
	if gkverify.Failed(results) {
		return errDenied
	}
	return nil
}
