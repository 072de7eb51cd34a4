package gkverify

import (
	"errors"
	"testing"
)

// From the examples of gator's filter.go.
func TestFilter(t *testing.T) {
	tests := []struct {
		run              string
		test, caseName   string
		wantTest, wantOK bool
	}{
		{"", "any", "any", true, true},
		{"require-foo-label//missing-label", "require-foo-label", "missing-label", true, true},
		{"require-foo-label//missing-label", "not-require-foo-label", "not-missing-label", true, true},
		{"require-foo-label//missing-label", "require-foo-label", "other", true, false},
		{"require-foo-label//missing-label", "other", "missing-label", false, false},
		{"missing-label", "forbid-missing-label", "with-foo-label", true, true},
		{"missing-label", "required-labels", "missing-label", true, true},
		{"missing-label", "required-labels", "other", false, false},
		{"^require-foo-label$//", "require-foo-label", "no-labels", true, true},
		{"^require-foo-label$//", "not-require-foo-label", "no-labels", false, false},
		{"//empty-object", "forbid-foo-label", "another-empty-object", true, true},
		{"//empty-object", "forbid-foo-label", "full-object", true, false},
	}
	for _, tc := range tests {
		f, err := NewFilter(tc.run)
		if err != nil {
			t.Fatalf("NewFilter(%q): %v", tc.run, err)
		}
		tt := &Test{Name: tc.test, Cases: []*Case{{Name: tc.caseName}}}
		if got := f.MatchesTest(tt); got != tc.wantTest {
			t.Errorf("%q: MatchesTest(%q with case %q) = %v, want %v", tc.run, tc.test, tc.caseName, got, tc.wantTest)
		}
		if got := f.MatchesCase(tc.test, tc.caseName); got != tc.wantOK {
			t.Errorf("%q: MatchesCase(%q, %q) = %v, want %v", tc.run, tc.test, tc.caseName, got, tc.wantOK)
		}
	}
	for _, bad := range []string{"a//b//c", "(", "ok//("} {
		if _, err := NewFilter(bad); !errors.Is(err, ErrInvalidFilter) {
			t.Errorf("NewFilter(%q) = %v, want %v", bad, err, ErrInvalidFilter)
		}
	}
}
