// Package report renders a scan: text for terminals, JSON with a documented
// schema, SARIF 2.1.0 for code-scanning tools, Markdown for pull requests,
// and one self-contained HTML file (no network) with the scorecard, the
// findings and an SVG picture of the attack paths. Writers only render;
// they decide nothing.
package report

import (
	"fmt"
	"io"
	"sort"

	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/scan"
)

// Report is what the writers render.
type Report struct {
	Tool       string
	Version    string
	Snapshot   string
	Cluster    string
	Result     *scan.Result
	Findings   []finding.Finding // after suppressions
	Suppressed []scan.Suppressed
	Expired    []scan.Suppression
	Rules      []finding.Rule
	// Color enables ANSI colours in text output (only on a terminal).
	Color bool
}

// Formats lists the output formats.
var Formats = []string{"text", "json", "sarif", "html", "markdown"}

// Write renders r in format to w.
func Write(w io.Writer, format string, r *Report) error {
	switch format {
	case "text":
		return writeText(w, r)
	case "json":
		return writeJSON(w, r)
	case "sarif":
		return writeSARIF(w, r)
	case "html":
		return writeHTML(w, r)
	case "markdown":
		return writeMarkdown(w, r)
	}
	return fmt.Errorf("unknown format %q", format)
}

// counts returns findings per severity name.
func counts(fs []finding.Finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Severity.String()]++
	}
	return m
}

func severities() []finding.Severity {
	return []finding.Severity{finding.Critical, finding.High, finding.Medium, finding.Low, finding.Info}
}

func ruleIndex(rules []finding.Rule) map[string]finding.Rule {
	m := make(map[string]finding.Rule, len(rules))
	for _, r := range rules {
		m[r.ID] = r
	}
	return m
}

// usedRules are the rules that produced findings, sorted by ID.
func usedRules(r *Report) []finding.Rule {
	idx := ruleIndex(r.Rules)
	seen := map[string]bool{}
	var out []finding.Rule
	for _, f := range r.Findings {
		if seen[f.RuleID] {
			continue
		}
		seen[f.RuleID] = true
		rule, ok := idx[f.RuleID]
		if !ok {
			rule = finding.Rule{ID: f.RuleID, Layer: f.Layer, Severity: f.Severity, Title: f.RuleID}
		}
		out = append(out, rule)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
