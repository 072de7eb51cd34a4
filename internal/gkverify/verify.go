package gkverify

import (
	"context"
	"fmt"
)

// Verify reads the Suites of every path (a Suite file, a directory, or a
// directory tree with a trailing "/...") and runs the tests that run (the
// --run filter, see NewFilter) selects. The error is for bad input — a
// path that selects nothing readable, a Suite that cannot be parsed, a bad
// filter — before anything runs; failures of tests are in the results.
func Verify(ctx context.Context, paths []string, run string) ([]SuiteResult, error) {
	f, err := NewFilter(run)
	if err != nil {
		return nil, fmt.Errorf("compiling filter: %w", err)
	}
	type batch struct {
		r      *Runner
		suites []*Suite
	}
	var batches []batch
	for _, p := range paths {
		t, err := NewTarget(p)
		if err != nil {
			return nil, err
		}
		suites, err := ReadSuites(t)
		if err != nil {
			return nil, fmt.Errorf("listing test files: %w", err)
		}
		batches = append(batches, batch{NewRunner(t.FS), suites})
	}
	var out []SuiteResult
	for _, b := range batches {
		for _, s := range b.suites {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			out = append(out, b.r.Run(ctx, f, s))
		}
	}
	return out, nil
}
