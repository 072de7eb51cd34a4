package report

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
	"github.com/xeipuuv/gojsonschema"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/scan"
	"github.com/akssec/akssec/internal/snapshot"
)

func exampleReport(t *testing.T) *Report {
	t.Helper()
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := scan.Run(context.Background(), env.New(s), scan.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &Report{Tool: "akssec", Version: "test", Snapshot: "examples/contoso-bank", Cluster: "aks-contoso-bank", Result: res, Findings: res.Findings, Rules: scan.Rules()}
}

// TestSARIFValidates checks the SARIF output against the SARIF 2.1.0 JSON
// schema (the copy go-sarif embeds) and that every field we write is part of
// the SARIF object model.
func TestSARIFValidates(t *testing.T) {
	r := exampleReport(t)
	var buf bytes.Buffer
	if err := Write(&buf, "sarif", r); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.DisallowUnknownFields()
	var rep sarif.Report
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("SARIF output has fields outside the SARIF model: %v", err)
	}
	res, err := gojsonschema.Validate(gojsonschema.NewStringLoader(sarifSchema(t)), gojsonschema.NewBytesLoader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Errors() {
		t.Errorf("SARIF 2.1.0 schema: %s", e)
	}
	// The validator is live: a log without the driver's required name fails.
	bad, _ := gojsonschema.Validate(gojsonschema.NewStringLoader(sarifSchema(t)), gojsonschema.NewStringLoader(`{"version":"2.1.0","runs":[{"tool":{"driver":{}}}]}`))
	if bad.Valid() {
		t.Error("the schema accepts a driver without a name: the validator is not checking")
	}
	run := rep.Runs[0]
	if len(run.Results) != len(r.Findings) {
		t.Errorf("%d results for %d findings", len(run.Results), len(r.Findings))
	}
	// Locations are snapshot files and lines.
	var located bool
	for _, res := range run.Results {
		for _, l := range res.Locations {
			if u := l.PhysicalLocation.ArtifactLocation.URI; u != nil && *u == "kubernetes/rbac.yaml" && l.PhysicalLocation.Region.StartLine != nil && *l.PhysicalLocation.Region.StartLine == 74 {
				located = true
			}
		}
	}
	if !located {
		t.Error("no result located at kubernetes/rbac.yaml:74 (the display-name RoleBinding)")
	}
}

// sarifSchema returns the OASIS SARIF 2.1.0 JSON schema that go-sarif
// embeds (as an unexported constant, so it is read from the module source).
func sarifSchema(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/owenrumney/go-sarif/v3").Output()
	if err != nil {
		t.Fatalf("locating go-sarif: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "pkg", "report", "v210", "sarif", "schema.go"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "`")
	schema, _, ok2 := strings.Cut(rest, "`")
	if !ok || !ok2 || !strings.Contains(schema, "sarif-schema-2.1.0.json") {
		t.Fatal("go-sarif's schema.go no longer holds the SARIF 2.1.0 schema as a raw string")
	}
	return schema
}

func TestJSONDocument(t *testing.T) {
	r := exampleReport(t)
	var buf bytes.Buffer
	if err := Write(&buf, "json", r); err != nil {
		t.Fatal(err)
	}
	var d Document
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d.Schema != JSONSchemaVersion || d.Summary.Total != len(r.Findings) || len(d.Scorecard) != 7 || len(d.Paths) == 0 {
		t.Errorf("document = schema %q total %d scorecard %d paths %d", d.Schema, d.Summary.Total, len(d.Scorecard), len(d.Paths))
	}
	// The JSON is a baseline for the next scan.
	f := filepath.Join(t.TempDir(), "base.json")
	Write(mustCreate(t, f), "json", r)
	base, err := scan.LoadBaseline(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(base.New(r.Findings)) != 0 {
		t.Error("a scan's own JSON as baseline leaves new findings")
	}
}

func mustCreate(t *testing.T, p string) *os.File {
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestTextAndMarkdown(t *testing.T) {
	r := exampleReport(t)
	for _, format := range []string{"text", "markdown"} {
		var buf bytes.Buffer
		if err := Write(&buf, format, r); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		for _, want := range []string{"Entra ID", "Key Vault secrets", "AKS-ENTRA-001", "kubernetes/rbac.yaml:74", "alpha-ci-sa", "myKV/db-password"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s output lacks %q", format, want)
			}
		}
		if strings.Contains(out, "\033[") {
			t.Errorf("%s output has ANSI colours without a terminal", format)
		}
	}
}

// TestHTMLInChromium opens the HTML report in a real headless Chromium
// (Debian's chromium package; .ci/run installs it) and reads the DOM it
// rendered: the scorecard table and the SVG graph must be there.
func TestHTMLInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; .ci/run installs Debian's chromium package")
		}
		t.Skip("chromium not installed (apt-get install chromium); CI installs it")
	}
	r := exampleReport(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := Write(mustCreate(t, page), "html", r); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + filepath.Join(dir, "profile")}
	dom, err := exec.CommandContext(ctx, chromium, append(args, "--dump-dom", "file://"+page)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	for _, want := range []string{`id="scorecard"`, "Defense-in-depth scorecard", "<svg", "ServiceAccount team-alpha/alpha-ci-sa", "AKS-PATH-001", `class="fail"`} {
		if !bytes.Contains(dom, []byte(want)) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	shot := filepath.Join(dir, "report.png")
	if out, err := exec.CommandContext(ctx, chromium, append(args, "--screenshot="+shot, "--window-size=1400,1800", "file://"+page)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Errorf("screenshot missing or blank: %v", err)
	}
	if p := os.Getenv("AKSSEC_KEEP_SCREENSHOT"); p != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(p, b, 0o644)
	}
}
