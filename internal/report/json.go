package report

import (
	"encoding/json"
	"io"

	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/scan"
)

// JSONSchemaVersion is the version of the JSON document below; it changes
// only when a field changes meaning or goes away.
const JSONSchemaVersion = "akssec.io/scan/v1"

// Document is the JSON output of `akssec scan -o json`:
//
//	schema       "akssec.io/scan/v1"
//	tool         {name, version}
//	snapshot     the snapshot directory
//	cluster      the cluster name ("" without aks.json)
//	summary      {total, bySeverity{critical,high,medium,low,info}, suppressed}
//	scorecard    [{layer, title, status pass|warn|fail|not-checked, counts, evidence}]
//	findings     [{ruleID, severity, layer, object{kind,namespace,name}, location{file,line,doc}, reason, evidence[{location,text}], fix}]
//	paths        [{sources[], via, target, steps[{from, to, action, layer, evidence}]}]
//	suppressed   [{finding, reason}]
//	notes        [string]
type Document struct {
	Schema     string            `json:"schema"`
	Tool       Tool              `json:"tool"`
	Snapshot   string            `json:"snapshot"`
	Cluster    string            `json:"cluster"`
	Summary    Summary           `json:"summary"`
	Scorecard  []scan.LayerScore `json:"scorecard"`
	Findings   []finding.Finding `json:"findings"`
	Paths      []PathDoc         `json:"paths"`
	Suppressed []scan.Suppressed `json:"suppressed"`
	Notes      []string          `json:"notes"`
}

// Tool names akssec and its version.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Summary counts findings.
type Summary struct {
	Total      int            `json:"total"`
	BySeverity map[string]int `json:"bySeverity"`
	Suppressed int            `json:"suppressed"`
}

// PathDoc is an attack path for JSON.
type PathDoc struct {
	// Sources are the first scan.MaxListedSources principals;
	// SourceCount is how many there are.
	Sources     []string  `json:"sources"`
	SourceCount int       `json:"sourceCount"`
	Via         string    `json:"via"`
	Targets     []string  `json:"targets"`
	Steps       []StepDoc `json:"steps"`
}

// StepDoc is one edge of a path.
type StepDoc struct {
	From     string             `json:"from"`
	To       string             `json:"to"`
	Action   string             `json:"action"`
	Layer    finding.Layer      `json:"layer"`
	Evidence []finding.Evidence `json:"evidence,omitempty"`
}

func document(r *Report) Document {
	d := Document{Schema: JSONSchemaVersion, Tool: Tool{Name: r.Tool, Version: r.Version}, Snapshot: r.Snapshot, Cluster: r.Cluster,
		Summary:   Summary{Total: len(r.Findings), BySeverity: counts(r.Findings), Suppressed: len(r.Suppressed)},
		Scorecard: r.Result.Scorecard, Findings: r.Findings, Suppressed: r.Suppressed, Notes: r.Result.Notes, Paths: []PathDoc{}}
	for _, s := range severities() {
		if _, ok := d.Summary.BySeverity[s.String()]; !ok {
			d.Summary.BySeverity[s.String()] = 0
		}
	}
	if d.Findings == nil {
		d.Findings = []finding.Finding{}
	}
	if d.Suppressed == nil {
		d.Suppressed = []scan.Suppressed{}
	}
	if d.Notes == nil {
		d.Notes = []string{}
	}
	for _, p := range r.Result.Paths {
		pd := PathDoc{Sources: p.Sources, SourceCount: p.SourceCount, Via: p.Via, Targets: p.Targets}
		for i, e := range p.Path.Edges {
			pd.Steps = append(pd.Steps, StepDoc{From: p.Path.Nodes[i].Label, To: p.Path.Nodes[i+1].Label, Action: e.Action, Layer: e.Layer, Evidence: e.Evidence})
		}
		d.Paths = append(d.Paths, pd)
	}
	return d
}

func writeJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(document(r))
}
