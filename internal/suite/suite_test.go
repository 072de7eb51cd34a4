package suite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// TestExampleSuite: on the bank example, exactly the assertions that a
// planted fault breaks fail, each with its engine's explanation.
func TestExampleSuite(t *testing.T) {
	s, err := Load("../../examples/contoso-bank/suite.yaml")
	if err != nil {
		t.Fatal(err)
	}
	snap, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	results := Run(context.Background(), env.New(snap), s)
	if len(results) != len(s.Assertions) {
		t.Fatalf("%d results for %d assertions", len(results), len(s.Assertions))
	}
	for _, r := range results {
		planted := strings.Contains(r.Name, "planted fault")
		if r.Got == "error" {
			t.Errorf("%s: could not be evaluated: %s", r.Name, r.Explanation)
			continue
		}
		if r.Passed == planted {
			t.Errorf("%s (%s): passed=%v, got %s: %s", r.Name, r.Location, r.Passed, r.Got, r.Explanation)
		}
		if r.Explanation == "" {
			t.Errorf("%s: no explanation", r.Name)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct{ body, want string }{
		{"kind: AssertionSuite\nassertions:\n- name: x\n  expect: allow\n", "suite.yaml:3: assertion 1: expected exactly one of"},
		{"kind: AssertionSuite\nassertions:\n- can: {entra: a, verb: get, resource: pods}\n  expect: maybe\n", `expect "maybe", expected one of allow, deny`},
		{"kind: AssertionSuite\nassertions:\n- path: {from: {entra: a}, to: {secret: v/s}}\n  expect: allow\n", "expected one of none, exists"},
		{"kind: AssertionSuite\nassertions:\n- can: {entra: a, verb: get, resource: pods}\n  expect: allow\n  bogus: 1\n", "unknown field"},
		{"kind: Other\n", `kind is "Other"`},
	} {
		file := filepath.Join(t.TempDir(), "suite.yaml")
		os.WriteFile(file, []byte(tt.body), 0o644)
		_, err := Load(file)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v, want an error containing %q", tt.body, err, tt.want)
		}
	}
}
