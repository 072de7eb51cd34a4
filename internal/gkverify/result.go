package gkverify

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration prints as gator prints run times ("0.012s").
type Duration time.Duration

func (d Duration) String() string { return fmt.Sprintf("%.3fs", time.Duration(d).Seconds()) }

// MarshalJSON writes seconds.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).Seconds()) }

// SuiteResult is the outcome of one Suite file. Err is set when the Suite
// could not be run at all.
type SuiteResult struct {
	Path    string       `json:"path"`
	Skipped bool         `json:"skipped,omitempty"`
	Err     error        `json:"-"`
	Error   string       `json:"error,omitempty"`
	Runtime Duration     `json:"runtimeSeconds"`
	Tests   []TestResult `json:"tests,omitempty"`
}

// TestResult is the outcome of one test: its template and constraint, and
// its cases. Err is set when the test failed before (or instead of) its
// cases: a template or constraint error, an `invalid: true` constraint
// that the schema accepts, an unsupported expansion.
type TestResult struct {
	Name    string       `json:"name"`
	Skipped bool         `json:"skipped,omitempty"`
	Err     error        `json:"-"`
	Error   string       `json:"error,omitempty"`
	Runtime Duration     `json:"runtimeSeconds"`
	Cases   []CaseResult `json:"cases,omitempty"`
}

// CaseResult is the outcome of one case. Err is the failed assertion or
// the reason the case could not be run. Messages are the review's result
// messages (empty when the review did not run).
type CaseResult struct {
	Name     string   `json:"name"`
	Skipped  bool     `json:"skipped,omitempty"`
	Err      error    `json:"-"`
	Error    string   `json:"error,omitempty"`
	Runtime  Duration `json:"runtimeSeconds"`
	Messages []string `json:"messages,omitempty"`
}

// Failed reports whether the Suite or one of its tests failed.
func (r *SuiteResult) Failed() bool {
	if r.Err != nil {
		return true
	}
	for i := range r.Tests {
		if r.Tests[i].Failed() {
			return true
		}
	}
	return false
}

// Failed reports whether the test or one of its cases failed.
func (r *TestResult) Failed() bool {
	if r.Err != nil {
		return true
	}
	for i := range r.Cases {
		if r.Cases[i].Err != nil {
			return true
		}
	}
	return false
}

// Failed reports whether any Suite failed.
func Failed(rs []SuiteResult) bool {
	for i := range rs {
		if rs[i].Failed() {
			return true
		}
	}
	return false
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
