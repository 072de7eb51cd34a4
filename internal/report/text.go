package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/scan"
)

const (
	ansiReset  = "\033[0m"
	ansiBold   = "\033[1m"
	ansiRed    = "\033[31m"
	ansiYellow = "\033[33m"
	ansiGreen  = "\033[32m"
	ansiGrey   = "\033[90m"
)

func writeText(w io.Writer, r *Report) error {
	c := func(code, s string) string {
		if !r.Color {
			return s
		}
		return code + s + ansiReset
	}
	b := &strings.Builder{}
	fmt.Fprintf(b, "%s %s — %s\n\n", c(ansiBold, "akssec scan"), r.Snapshot, r.Cluster)
	fmt.Fprintln(b, c(ansiBold, "Defense in depth"))
	for _, s := range r.Result.Scorecard {
		mark := map[scan.Status]string{scan.Pass: c(ansiGreen, "PASS"), scan.Warn: c(ansiYellow, "WARN"), scan.Fail: c(ansiRed, "FAIL"), scan.NotChecked: c(ansiGrey, "N/A ")}[s.Status]
		fmt.Fprintf(b, "  %s  %-26s %s\n", mark, s.Title, countLine(s.Counts))
		for _, ev := range s.Evidence {
			fmt.Fprintf(b, "        %s\n", c(ansiGrey, truncate(ev, 150)))
		}
	}
	fmt.Fprintln(b)
	if len(r.Result.Paths) > 0 {
		fmt.Fprintln(b, c(ansiBold, "Attack paths"))
		for _, p := range r.Result.Paths {
			fmt.Fprintf(b, "  %s → %s (%d principals: %s)\n", p.Via, strings.Join(p.Targets, ", "), p.SourceCount, sourceList(p))
			for i, e := range p.Path.Edges {
				fmt.Fprintf(b, "    %d. %s %s %s  [%s]\n", i+1, p.Path.Nodes[i].Label, c(ansiGrey, "—"+e.Action+"→"), p.Path.Nodes[i+1].Label, e.Layer)
			}
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintf(b, "%s (%s)\n", c(ansiBold, fmt.Sprintf("Findings: %d", len(r.Findings))), countLine(counts(r.Findings)))
	for _, f := range r.Findings {
		sev := strings.ToUpper(f.Severity.String())
		switch {
		case f.Severity >= finding.High:
			sev = c(ansiRed, sev)
		case f.Severity >= finding.Medium:
			sev = c(ansiYellow, sev)
		}
		fmt.Fprintf(b, "\n%s %s %s  %s\n", sev, c(ansiBold, f.RuleID), f.Object, c(ansiGrey, f.Loc.String()))
		fmt.Fprintf(b, "  %s\n", f.Reason)
		for _, ev := range f.Evidence {
			fmt.Fprintf(b, "  - %s: %s\n", ev.Loc, ev.Text)
		}
		if f.Fix != "" {
			fmt.Fprintf(b, "  fix: %s\n", indent(f.Fix, "       "))
		}
	}
	if len(r.Suppressed) > 0 {
		fmt.Fprintf(b, "\nSuppressed: %d\n", len(r.Suppressed))
		for _, s := range r.Suppressed {
			fmt.Fprintf(b, "  %s %s: %s\n", s.Finding.RuleID, s.Finding.Object, s.Reason)
		}
	}
	for _, x := range r.Expired {
		fmt.Fprintf(b, "\nwarning: the suppression of %s on %s expired on %s; its findings count again\n", x.Rule, x.Object, x.Expires)
	}
	for _, n := range r.Result.Notes {
		fmt.Fprintf(b, "\nnote: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func countLine(m map[string]int) string {
	var parts []string
	for _, s := range severities() {
		if n := m[s.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "no findings"
	}
	return strings.Join(parts, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func indent(s, pad string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+pad)
}

// sourceList names a path's principals, saying how many more there are
// than the listed ones.
func sourceList(p scan.AttackPath) string {
	s := strings.Join(p.Sources, ", ")
	if more := p.SourceCount - len(p.Sources); more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
