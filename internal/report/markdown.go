package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/akssec/akssec/internal/scan"
)

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", "<br>")
}

func writeMarkdown(w io.Writer, r *Report) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# akssec scan: %s\n\nSnapshot `%s`. %d findings (%s).\n\n", r.Cluster, r.Snapshot, len(r.Findings), countLine(counts(r.Findings)))
	fmt.Fprintln(b, "## Defense in depth\n\n| layer | status | findings | evidence |\n|---|---|---|---|")
	icon := map[scan.Status]string{scan.Pass: "✅ pass", scan.Warn: "⚠️ warn", scan.Fail: "❌ fail", scan.NotChecked: "➖ not checked"}
	for _, s := range r.Result.Scorecard {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", s.Title, icon[s.Status], countLine(s.Counts), mdEscape(strings.Join(s.Evidence, "\n")))
	}
	if len(r.Result.Paths) > 0 {
		fmt.Fprintln(b, "\n## Attack paths")
		for _, p := range r.Result.Paths {
			fmt.Fprintf(b, "\n**%s → %s** (%s)\n\n", p.Via, strings.Join(p.Targets, ", "), mdEscape(sourceList(p)))
			for i, e := range p.Path.Edges {
				fmt.Fprintf(b, "%d. %s — *%s* → %s (`%s`)\n", i+1, p.Path.Nodes[i].Label, e.Action, p.Path.Nodes[i+1].Label, e.Layer)
			}
		}
	}
	fmt.Fprintln(b, "\n## Findings\n\n| severity | rule | object | location | reason | fix |\n|---|---|---|---|---|---|")
	for _, f := range r.Findings {
		fmt.Fprintf(b, "| %s | %s | %s | `%s` | %s | %s |\n", f.Severity, f.RuleID, mdEscape(f.Object.String()), f.Loc, mdEscape(f.Reason), mdEscape(f.Fix))
	}
	for _, n := range r.Result.Notes {
		fmt.Fprintf(b, "\n> note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
