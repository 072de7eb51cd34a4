package cli

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/suite"
)

type testParams struct {
	g    *globalOptions
	file string
}

func newTestCommand(g *globalOptions) *cobra.Command {
	p := &testParams{g: g}
	return &cobra.Command{
		Use:   "test SUITE.yaml",
		Short: "Check assertions across layers (can, reach, admit, readSecret, path); exit 1 when one fails",
		Long: `test runs an AssertionSuite against the snapshot: RBAC decisions, network reach,
admission, Key Vault reads and attack paths, each decided by its layer engine.
Every result is printed; a failed one with the engine's explanation. -o junit
writes JUnit XML for CI systems, -o json one object per assertion.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p.file = args[0]
			if err := g.checkOutput("text", "json", "junit"); err != nil {
				return err
			}
			return p.run(cmd.Context())
		},
	}
}

func (p *testParams) run(ctx context.Context) error {
	s, err := suite.Load(p.file)
	if err != nil {
		return usageErrorf("%v", err)
	}
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	results := suite.Run(ctx, e, s)
	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
		}
	}
	out := p.g.streams.Out
	switch p.g.output {
	case "json":
		enc := json.NewEncoder(out)
		for _, r := range results {
			if err := enc.Encode(r); err != nil {
				return err
			}
		}
	case "junit":
		if err := writeJUnit(out, p.file, results, failed); err != nil {
			return err
		}
	default:
		for _, r := range results {
			if r.Passed {
				fmt.Fprintf(out, "PASS  %s\n", r.Name)
				continue
			}
			fmt.Fprintf(out, "FAIL  %s  (%s)\n      expected %s, got %s: %s\n", r.Name, r.Location, r.Expected, r.Got, r.Explanation)
		}
		fmt.Fprintf(out, "\n%d passed, %d failed\n", len(results)-failed, failed)
	}
	if failed > 0 {
		return errDenied
	}
	return nil
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func writeJUnit(w io.Writer, file string, results []suite.Result, failed int) error {
	s := junitSuite{Name: file, Tests: len(results), Failures: failed}
	for _, r := range results {
		c := junitCase{Name: r.Name, Classname: "akssec." + r.Kind, File: r.Location}
		if !r.Passed {
			c.Failure = &junitFailure{Message: fmt.Sprintf("expected %s, got %s", r.Expected, r.Got), Type: "AssertionFailed", Text: r.Explanation}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(junitSuites{Suites: []junitSuite{s}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
