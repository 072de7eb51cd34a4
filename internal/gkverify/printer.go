package gkverify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes results as gator verify prints them (Go test style):
// per Suite "ok" or "FAIL" with its path and run time, "--- FAIL: test"
// and "    --- FAIL: case" lines with the error, and a last line PASS or
// FAIL. verbose adds RUN, PASS and SKIP lines for every test and case.
func WriteText(w io.Writer, rs []SuiteResult, verbose bool) error {
	var b strings.Builder
	for i := range rs {
		writeSuite(&b, &rs[i], verbose)
	}
	if Failed(rs) {
		b.WriteString("FAIL\n")
	} else {
		b.WriteString("PASS\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSuite(b *strings.Builder, r *SuiteResult, verbose bool) {
	for i := range r.Tests {
		writeTest(b, &r.Tests[i], verbose)
	}
	if r.Failed() {
		fmt.Fprintf(b, "FAIL\t%s\t%v\n", r.Path, r.Runtime)
		if r.Err != nil {
			fmt.Fprintf(b, "  %v\n", r.Err)
		}
		return
	}
	fmt.Fprintf(b, "ok\t%s\t%v\n", r.Path, r.Runtime)
}

func writeTest(b *strings.Builder, r *TestResult, verbose bool) {
	if verbose {
		if r.Skipped {
			fmt.Fprintf(b, "=== SKIP  %s\n", r.Name)
			return
		}
		fmt.Fprintf(b, "=== RUN   %s\n", r.Name)
	}
	for i := range r.Cases {
		writeCase(b, &r.Cases[i], verbose)
	}
	switch {
	case r.Failed():
		fmt.Fprintf(b, "--- FAIL: %s\t(%v)\n", r.Name, r.Runtime)
		if r.Err != nil {
			fmt.Fprintf(b, "  %v\n", r.Err)
		}
	case verbose:
		fmt.Fprintf(b, "--- PASS: %s\t(%v)\n", r.Name, r.Runtime)
	}
}

func writeCase(b *strings.Builder, r *CaseResult, verbose bool) {
	if verbose {
		if r.Skipped {
			fmt.Fprintf(b, "    === SKIP  %s\n", r.Name)
			return
		}
		fmt.Fprintf(b, "    === RUN   %s\n", r.Name)
	}
	switch {
	case r.Err != nil:
		fmt.Fprintf(b, "    --- FAIL: %s\t(%v)\n        %v\n", r.Name, r.Runtime, r.Err)
	case verbose:
		fmt.Fprintf(b, "    --- PASS: %s\t(%v)\n", r.Name, r.Runtime)
	}
}

// Report is the -o json document: every Suite's result and whether the
// run passed.
//
//	{"passed": false,
//	 "suites": [{"path": "suite.yaml", "runtimeSeconds": 0.01, "error": "...",
//	   "skipped": false,
//	   "tests": [{"name": "...", "error": "...", "skipped": false, "runtimeSeconds": 0.01,
//	     "cases": [{"name": "...", "error": "...", "skipped": false,
//	       "runtimeSeconds": 0.001, "messages": ["..."]}]}]}]}
//
// error is present only on failure, messages only when the review ran and
// gave results.
type Report struct {
	Passed bool          `json:"passed"`
	Suites []SuiteResult `json:"suites"`
}

// WriteJSON writes the Report of the results, indented.
func WriteJSON(w io.Writer, rs []SuiteResult) error {
	if rs == nil {
		rs = []SuiteResult{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report{Passed: !Failed(rs), Suites: rs})
}
