package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/graph"
	"github.com/akssec/akssec/internal/scan"
)

// The HTML report is one file: inline CSS, inline SVG, no script, no
// network. It opens anywhere, including air-gapped review machines.
var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"sev":    func(s finding.Severity) string { return s.String() },
	"counts": countLine,
	"status": func(s scan.Status) string { return string(s) },
	"more":   func(p scan.AttackPath) int { return p.SourceCount - len(p.Sources) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>akssec scan — {{.Cluster}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em;color:#1b1f24;max-width:1400px}
h1{font-size:1.6em;margin:0 0 .2em} h2{margin-top:1.8em;border-bottom:1px solid #d0d7de;padding-bottom:.2em}
table{border-collapse:collapse;width:100%} th,td{border:1px solid #d0d7de;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f6f8fa} code{font-size:.92em}
.pass{background:#dafbe1}.warn{background:#fff8c5}.fail{background:#ffebe9}.not-checked{background:#eaeef2}
.critical,.high{color:#cf222e;font-weight:600}.medium{color:#9a6700;font-weight:600}.low,.info{color:#57606a}
.muted{color:#57606a} svg{max-width:100%;height:auto} svg text{font:12px system-ui,sans-serif}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:.85em}
</style></head><body>
<h1>akssec scan — {{.Cluster}}</h1>
<p class="muted">Snapshot <code>{{.Snapshot}}</code> · akssec {{.Version}} · {{len .Findings}} findings ({{counts .Counts}})</p>
<h2 id="scorecard">Defense-in-depth scorecard</h2>
<table><tr><th>Layer</th><th>Status</th><th>Findings</th><th>Evidence</th></tr>
{{range .Scorecard}}<tr class="{{status .Status}}"><td>{{.Title}}</td><td>{{status .Status}}</td><td>{{counts .Counts}}</td><td>{{range .Evidence}}<div>{{.}}</div>{{end}}</td></tr>
{{end}}</table>
<h2 id="paths">Attack paths</h2>
{{if .Paths}}{{.SVG}}
{{range .Paths}}<p><b>{{.Via}}</b> → {{range $i, $t := .Targets}}{{if $i}}, {{end}}{{$t}}{{end}}: {{range $i, $s := .Sources}}{{if $i}}, {{end}}{{$s}}{{end}}{{with more .}} and {{.}} more{{end}}</p>
<ol>{{range $i, $e := .Path.Edges}}<li>{{(index $.Nodes $e.From).Label}} — <i>{{$e.Action}}</i> → {{(index $.Nodes $e.To).Label}} <span class="muted">[{{$e.Layer}}]</span></li>{{end}}</ol>
{{end}}{{else}}<p>No path from an Entra principal outside the admin groups to a Key Vault secret.</p>{{end}}
<h2 id="findings">Findings</h2>
<table><tr><th>Severity</th><th>Rule</th><th>Object</th><th>Location</th><th>Reason and evidence</th><th>Fix</th></tr>
{{range .Findings}}<tr><td class="{{sev .Severity}}">{{sev .Severity}}</td><td><code>{{.RuleID}}</code></td><td>{{.Object}}</td><td><code>{{.Loc}}</code></td>
<td>{{.Reason}}{{range .Evidence}}<div class="muted"><code>{{.Loc}}</code> {{.Text}}</div>{{end}}</td><td><pre>{{.Fix}}</pre></td></tr>
{{end}}</table>
{{range .Notes}}<p class="muted">Note: {{.}}</p>{{end}}
</body></html>
`))

type htmlData struct {
	*Report
	Counts    map[string]int
	Scorecard []scan.LayerScore
	Paths     []scan.AttackPath
	Notes     []string
	Nodes     map[string]*graph.Node
	SVG       template.HTML
}

func writeHTML(w io.Writer, r *Report) error {
	d := htmlData{Report: r, Counts: counts(r.Findings), Scorecard: r.Result.Scorecard, Paths: r.Result.Paths, Notes: r.Result.Notes, Nodes: map[string]*graph.Node{}}
	for _, p := range r.Result.Paths {
		for _, n := range p.Path.Nodes {
			d.Nodes[n.ID] = n
		}
	}
	d.SVG = template.HTML(pathsSVG(r.Result.Paths))
	return htmlTemplate.Execute(w, d)
}

// pathsSVG draws the union of the attack paths as a layered graph: a
// node's column is its position on the first path that holds it.
func pathsSVG(paths []scan.AttackPath) string {
	const colW, rowH, boxW, boxH, pad = 250, 64, 220, 40, 20
	col := map[string]int{}
	var order []string
	nodes := map[string]*graph.Node{}
	type edge struct {
		from, to, label string
		layer           finding.Layer
	}
	var edges []edge
	seenEdge := map[string]bool{}
	for _, p := range paths {
		for i, n := range p.Path.Nodes {
			if _, ok := col[n.ID]; !ok {
				col[n.ID] = i
				order = append(order, n.ID)
				nodes[n.ID] = n
			}
		}
		for _, e := range p.Path.Edges {
			k := e.From + "\x00" + e.To
			if !seenEdge[k] {
				seenEdge[k] = true
				edges = append(edges, edge{e.From, e.To, e.Action, e.Layer})
			}
		}
	}
	rows := map[int]int{}
	pos := map[string][2]int{}
	maxCol, maxRow := 0, 0
	for _, id := range order {
		c := col[id]
		r := rows[c]
		rows[c]++
		pos[id] = [2]int{pad + c*colW, pad + r*rowH}
		maxCol = max(maxCol, c)
		maxRow = max(maxRow, r)
	}
	width, height := pad*2+maxCol*colW+boxW, pad*2+maxRow*rowH+boxH
	b := &strings.Builder{}
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="attack path graph" width="%d" height="%d" viewBox="0 0 %d %d">`, width, height, width, height)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#57606a"/></marker></defs>`)
	colors := map[graph.NodeKind]string{graph.EntraUser: "#ddf4ff", graph.EntraGroup: "#ddf4ff", graph.EntraApp: "#ddf4ff", graph.KubeGroup: "#fff8c5", graph.KubeUser: "#fff8c5",
		graph.EntraIdentity: "#ddf4ff", graph.CreatePods: "#ffebe9", graph.ExecPods: "#ffebe9", graph.KubeSecrets: "#ffebe9", graph.BecomeSA: "#ffebe9",
		graph.ImpersonateUsers: "#ffebe9", graph.ImpersonateGroups: "#ffebe9", graph.NodeAccess: "#ffcecb", graph.ServiceAccount: "#fbefff",
		graph.ManagedIdentity: "#dafbe1", graph.KeyVaultSecret: "#ffd8b5", graph.Registry: "#ffd8b5"}
	for _, e := range edges {
		a, z := pos[e.from], pos[e.to]
		x1, y1 := a[0]+boxW, a[1]+boxH/2
		x2, y2 := z[0], z[1]+boxH/2
		if z[0] <= a[0] {
			x1, x2 = a[0]+boxW/2, z[0]+boxW/2
			y1, y2 = a[1]+boxH, z[1]
		}
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#57606a" stroke-width="1.4" marker-end="url(#arrow)"><title>%s [%s]</title></line>`,
			x1, y1, x2, y2, template.HTMLEscapeString(e.label), e.layer)
	}
	for _, id := range order {
		p, n := pos[id], nodes[id]
		fill := colors[n.Kind]
		if fill == "" {
			fill = "#f6f8fa"
		}
		fmt.Fprintf(b, `<g><rect x="%d" y="%d" width="%d" height="%d" rx="6" fill="%s" stroke="#8c959f"/><text x="%d" y="%d">%s</text><title>%s</title></g>`,
			p[0], p[1], boxW, boxH, fill, p[0]+8, p[1]+24, template.HTMLEscapeString(truncate(n.Label, 34)), template.HTMLEscapeString(n.Label))
	}
	b.WriteString(`</svg>`)
	return b.String()
}
