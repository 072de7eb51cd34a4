package gkverify

import (
	"fmt"
	"regexp"
	"strings"
)

// Filter selects tests and cases by name, as gator verify's --run does
// (pkg/gator/verify/filter.go):
//
//   - "" runs everything;
//   - "RE" runs the cases whose name or whose test's name matches RE (and
//     so the tests that have one);
//   - "TEST_RE//CASE_RE" runs the cases matching CASE_RE in the tests
//     matching TEST_RE.
//
// Regular expressions are Go's, unanchored.
type Filter struct {
	test, cases *regexp.Regexp
	and         bool
}

// NewFilter parses a --run value.
func NewFilter(run string) (*Filter, error) {
	if run == "" {
		return &Filter{}, nil
	}
	parts := strings.Split(run, "//")
	switch len(parts) {
	case 1:
		re, err := regexp.Compile(parts[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidFilter, err)
		}
		return &Filter{test: re, cases: re}, nil
	case 2:
		tr, err := regexp.Compile(parts[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidFilter, err)
		}
		cr, err := regexp.Compile(parts[1])
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidFilter, err)
		}
		return &Filter{test: tr, cases: cr, and: true}, nil
	}
	return nil, fmt.Errorf(`%w: a filter may include at most one "//"`, ErrInvalidFilter)
}

// MatchesTest reports whether the test runs.
func (f *Filter) MatchesTest(t *Test) bool {
	if f == nil || f.test == nil {
		return true
	}
	if f.and || f.test.MatchString(t.Name) {
		return f.test.MatchString(t.Name)
	}
	for _, c := range t.Cases {
		if f.MatchesCase(t.Name, c.Name) {
			return true
		}
	}
	return false
}

// MatchesCase reports whether a case of a running test runs.
func (f *Filter) MatchesCase(testName, caseName string) bool {
	if f == nil || f.test == nil {
		return true
	}
	if f.and {
		return f.cases.MatchString(caseName) && f.test.MatchString(testName)
	}
	return f.cases.MatchString(caseName) || f.cases.MatchString(testName)
}
