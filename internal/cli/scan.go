package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/report"
	"github.com/akssec/akssec/internal/scan"
)

type scanParams struct {
	g            *globalOptions
	failOn       string
	failOnSev    finding.Severity
	failEnabled  bool
	baseline     string
	suppressions string
	outFile      string
}

func newScanCommand(g *globalOptions) *cobra.Command {
	p := &scanParams{g: g}
	cmd := &cobra.Command{
		Use:   "scan [ENV]",
		Short: "Scan every layer: findings, cross-layer attack paths and the defense-in-depth scorecard",
		Long: `scan runs every layer engine on the snapshot and joins them: the findings of
each layer, the attack paths from Entra principals to Key Vault secrets through
the cluster, and a scorecard with one row per layer.

As a CI gate: --fail-on high exits 1 when a finding of that severity or higher
stands; --baseline FILE (an earlier scan -o json) counts only new findings;
suppressions in a file (--suppressions, default ENV/akssec-suppressions.yaml)
silence a rule on an object for a reason, until an optional expiry date.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if g.envDir != "" && g.envDir != args[0] {
					return usageErrorf("the snapshot is given twice: -e %s and %s", g.envDir, args[0])
				}
				g.envDir = args[0]
			}
			if err := p.validate(); err != nil {
				return err
			}
			return p.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&p.failOn, "fail-on", "none", "exit 1 when a finding at or above this severity stands: critical, high, medium, low, info, none")
	cmd.Flags().StringVar(&p.baseline, "baseline", "", "earlier scan -o json output; only findings not in it count for --fail-on")
	cmd.Flags().StringVar(&p.suppressions, "suppressions", "", "suppressions file (default ENV/akssec-suppressions.yaml when present)")
	cmd.Flags().StringVar(&p.outFile, "output-file", "", "write the report to this file instead of stdout")
	return cmd
}

func (p *scanParams) validate() error {
	if err := p.g.checkOutput(report.Formats...); err != nil {
		return err
	}
	if p.failOn != "none" {
		s, err := finding.ParseSeverity(p.failOn)
		if err != nil {
			return usageErrorf("--fail-on: %v", err)
		}
		p.failOnSev, p.failEnabled = s, true
	}
	return nil
}

func (p *scanParams) run(ctx context.Context) error {
	g := p.g
	e, err := g.loadEnv(ctx)
	if err != nil {
		return err
	}
	var sup *scan.Suppressions
	supFile := p.suppressions
	if supFile == "" {
		if def := filepath.Join(g.dir(), "akssec-suppressions.yaml"); fileExists(def) {
			supFile = def
		}
	}
	if supFile != "" {
		if sup, err = scan.LoadSuppressions(supFile); err != nil {
			return usageErrorf("%v", err)
		}
	}
	var base scan.Baseline
	if p.baseline != "" {
		if base, err = scan.LoadBaseline(p.baseline); err != nil {
			return usageErrorf("--baseline: %v", err)
		}
	}
	opts := scan.Options{}
	if isTerminal(g.streams.Err) {
		opts.Progress = func(s scan.Stage) { fmt.Fprintf(g.streams.Err, "\r\033[K%s…", s) }
	}
	res, err := scan.Run(ctx, e, opts)
	if opts.Progress != nil {
		fmt.Fprint(g.streams.Err, "\r\033[K")
	}
	if err != nil {
		return err
	}
	kept, suppressed, expired := sup.Apply(res.Findings, time.Now())
	cluster := "(no cluster in snapshot)"
	if e.Cluster != nil {
		cluster = e.Cluster.Name
	}
	ver, _ := buildVersion()
	r := &report.Report{Tool: "akssec", Version: ver, Snapshot: g.dir(), Cluster: cluster, Result: res,
		Findings: kept, Suppressed: suppressed, Expired: expired, Rules: scan.Rules()}
	res.Scorecard = scan.Score(e, kept)
	out := g.streams.Out
	if p.outFile != "" {
		f, err := os.Create(p.outFile)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	} else {
		r.Color = g.output == "text" && isTerminal(out)
	}
	if err := report.Write(out, g.output, r); err != nil {
		return err
	}
	for _, x := range expired {
		fmt.Fprintf(g.streams.Err, "warning: suppression of %s on %s expired on %s\n", x.Rule, x.Object, x.Expires)
	}
	if p.failEnabled {
		counted := base.New(kept)
		if n := scan.AtOrAbove(counted, p.failOnSev); n > 0 {
			fmt.Fprintf(g.streams.Err, "%d finding(s) at or above %s\n", n, p.failOnSev)
			return errDenied
		}
	}
	return nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
