package gkverify

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// The cases follow gator's assertion.go: violations defaults to "yes", an
// integer is an exact count, "no" means none, a message regex narrows the
// results counted, anything else is invalid.
func TestAssertionCheck(t *testing.T) {
	num := func(i int32) *intstr.IntOrString { v := intstr.FromInt32(i); return &v }
	str := func(s string) *intstr.IntOrString { v := intstr.FromString(s); return &v }
	re := func(s string) *string { return &s }
	two := []string{"missing label owner", "missing label team"}
	tests := []struct {
		name    string
		a       Assertion
		msgs    []string
		wantErr error
		wantMsg string
	}{
		{name: "default is yes: results", a: Assertion{}, msgs: two},
		{name: "default is yes: none", a: Assertion{}, wantErr: ErrNumViolations, wantMsg: "unexpected number of violations: got 0 violations but want at least 1: got messages []"},
		{name: "yes with a match", a: Assertion{Violations: str("yes"), Message: re("team")}, msgs: two},
		{name: "yes without a match", a: Assertion{Violations: str("yes"), Message: re("Team")}, msgs: two, wantErr: ErrNumViolations,
			wantMsg: `unexpected number of violations: got 0 violations containing "Team" but want at least 1: got messages [missing label owner missing label team]`},
		{name: "no and none", a: Assertion{Violations: str("no")}},
		{name: "no but some", a: Assertion{Violations: str("no")}, msgs: two, wantErr: ErrNumViolations,
			wantMsg: "unexpected number of violations: got 2 violations but want none: got messages [missing label owner missing label team]"},
		{name: "no with a regex matching one", a: Assertion{Violations: str("no"), Message: re("owner$")}, msgs: two, wantErr: ErrNumViolations,
			wantMsg: `unexpected number of violations: got 1 violations containing "owner$" but want none: got messages [missing label owner missing label team]`},
		{name: "exact count", a: Assertion{Violations: num(2)}, msgs: two},
		{name: "exact count of matching", a: Assertion{Violations: num(1), Message: re("^missing label o")}, msgs: two},
		{name: "zero", a: Assertion{Violations: num(0)}},
		{name: "wrong count", a: Assertion{Violations: num(3)}, msgs: two, wantErr: ErrNumViolations,
			wantMsg: "unexpected number of violations: got 2 violations but want exactly 3: got messages [missing label owner missing label team]"},
		{name: "negative count", a: Assertion{Violations: num(-1)}, wantErr: ErrInvalidYAML},
		{name: "other string", a: Assertion{Violations: str("maybe")}, msgs: two, wantErr: ErrInvalidYAML},
		{name: "case-sensitive regex", a: Assertion{Violations: num(0), Message: re("OWNER")}, msgs: two},
		{name: "invalid regex with results", a: Assertion{Message: re("(")}, msgs: two, wantErr: ErrInvalidRegex},
		// gator compiles the regex only when it meets a result.
		{name: "invalid regex without results", a: Assertion{Violations: str("no"), Message: re("(")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.a.Check(tc.msgs)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Check() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Check() = %v, want %v", err, tc.wantErr)
			}
			if tc.wantMsg != "" && err.Error() != tc.wantMsg {
				t.Errorf("Check() =\n%s\nwant\n%s", err, tc.wantMsg)
			}
		})
	}
}
