package gkverify

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// outcomes flattens results to "test/case" (or "test" for a test's own
// error) → "pass", "skip" or the error.
func outcomes(rs []SuiteResult) map[string]string {
	out := map[string]string{}
	for _, s := range rs {
		if s.Skipped {
			out["suite "+s.Path] = "skip"
		}
		for _, t := range s.Tests {
			switch {
			case t.Skipped:
				out[t.Name] = "skip"
			case t.Err != nil:
				out[t.Name] = t.Err.Error()
			default:
				out[t.Name] = "pass"
			}
			for _, c := range t.Cases {
				k := t.Name + "/" + c.Name
				switch {
				case c.Skipped:
					out[k] = "skip"
				case c.Err != nil:
					out[k] = c.Err.Error()
				default:
					out[k] = "pass"
				}
			}
		}
	}
	return out
}

// checkOutcomes compares outcomes with wanted ones: "pass", "skip", or a
// regular expression the error must match.
func checkOutcomes(t *testing.T, got, want map[string]string) {
	t.Helper()
	var gk, wk []string
	for k := range got {
		gk = append(gk, k)
	}
	for k := range want {
		wk = append(wk, k)
	}
	sort.Strings(gk)
	sort.Strings(wk)
	if diff := cmp.Diff(wk, gk); diff != "" {
		t.Fatalf("tests and cases (-want +got):\n%s", diff)
	}
	for k, w := range want {
		g := got[k]
		if w == "pass" || w == "skip" {
			if g != w {
				t.Errorf("%s: got %q, want %s", k, g, w)
			}
			continue
		}
		if !regexp.MustCompile(w).MatchString(g) {
			t.Errorf("%s: got %q, want an error matching %q", k, g, w)
		}
	}
}

// The suites under testdata, each written for what gator decides.
func TestVerifySuites(t *testing.T) {
	tests := []struct {
		path string
		run  string
		want map[string]string
	}{
		{path: "testdata/labels/suite.yaml", want: map[string]string{
			"required-labels": "pass", "required-labels/both-labels": "pass", "required-labels/no-labels": "pass", "required-labels/not-a-pod": "pass",
		}},
		{path: "testdata/labels/failing.yaml", want: map[string]string{
			"required-labels":                `^$`,
			"required-labels/wrong-count":    `^unexpected number of violations: got 2 violations but want exactly 3: got messages \[missing label owner missing label team\]$`,
			"required-labels/wrong-message":  `^unexpected number of violations: got 0 violations containing "nothing-like-this" but want at least 1`,
			"required-labels/two-objects":    `^object file must contain exactly one object: ".*/labels/two.yaml" defines 2 objects$`,
			"required-labels/no-assertions":  `^invalid Case: assertions must be non-empty$`,
			"required-labels/bad-regex":      `^message contains invalid regular expression: `,
			"required-labels/bad-violations": `^invalid yaml: assertion.violation, if set, must be a nonnegative integer, "yes", or "no"`,
		}},
		{path: "testdata/cel/suite.yaml", want: map[string]string{
			"allowed-repos-cel": "pass", "allowed-repos-cel/from-acr": "pass", "allowed-repos-cel/from-docker-hub": "pass",
		}},
		{path: "testdata/inventory/suite.yaml", want: map[string]string{
			"unique-ingress-host": "pass", "unique-ingress-host/no-inventory": "pass", "unique-ingress-host/host-taken": "pass", "unique-ingress-host/only-itself": "pass",
			"inventory-without-version":                  `^$`,
			"inventory-without-version/broken-inventory": `^unable to add object to data.inventory: /, Kind=Ingress web/broken: admission.k8s.gatekeeper.sh: invalid request object: resource broken has no version\n$`,
		}},
		{path: "testdata/admission/suite.yaml", want: map[string]string{
			"protected-namespace": `^$`, "protected-namespace/bob-deletes": "pass", "protected-namespace/admin-deletes": "pass", "protected-namespace/create": "pass",
			"protected-namespace/no-request":    `^missing an AdmissionRequest object: request did not actually pass in an AdmissionRequest$`,
			"protected-namespace/no-object":     `^no object or oldObject found to review: AdmissionRequest does not contain an "object" or "oldObject" to review$`,
			"protected-namespace/unknown-field": `^not a valid AdmissionReview object: unable to convert to an AdmissionReview object, error: .*unknown field "request.colour"`,
			"old-object-matches":                "pass", "old-object-matches/label-removed": "pass", "old-object-matches/never-labelled": "pass",
		}},
		{path: "testdata/invalid/suite.yaml", want: map[string]string{
			"parameters-of-wrong-type": "pass", "match-of-wrong-type": "pass",
			"parameter-defaults": "pass", "parameter-defaults/default-label-required": "pass",
			"no-parameters-no-defaults": "pass", "no-parameters-no-defaults/nothing-required": "pass",
		}},
		{path: "testdata/invalid/failing.yaml", want: map[string]string{
			"valid-but-said-invalid":              `^constraint should have failed schema validation: got error %!w\(<nil>\) but want schema validation failed$`,
			"unknown-field-is-not-a-schema-error": `^constraint should have failed schema validation: got error invalid Constraint: unknown fields: \[spec.parameters.colour\] but want schema validation failed$`,
			"unknown-field-rejected":              `^invalid Constraint: unknown fields: \[spec.parameters.colour\]$`,
			"template-without-violation":          `^adding template: .*missing required rules: \[violation\]`,
			"missing-constraint":                  `^invalid Suite: missing constraint$`,
		}},
		{path: "testdata/skip/...", want: map[string]string{
			"suite testdata/skip/skipped-suite.yaml": "skip",
			"skipped-test":                           "skip", "required-labels": "pass",
			"required-labels/skipped-case": "skip", "required-labels/both-labels": "pass",
		}},
		{path: "testdata/nsselector/suite.yaml", want: map[string]string{
			"namespace-selector": "pass", "namespace-selector/prod-namespace-in-inventory": "pass", "namespace-selector/dev-namespace-in-inventory": "pass",
			"namespace-selector/namespace-unknown": "pass", "namespace-selector/no-namespace-given": "pass",
			"namespace-selector/namespace-object-itself": "pass", "namespace-selector/dev-namespace-object-itself": "pass",
			"scoped-all-enforcement-points": "pass", "scoped-all-enforcement-points/flagged": "pass",
			"scoped-webhook-and-audit-only": "pass", "scoped-webhook-and-audit-only/not-at-gator": "pass",
			"unknown-enforcement-action-counts": "pass", "unknown-enforcement-action-counts/flagged": "pass",
		}},
		{path: "testdata/labels/failing.yaml", run: "//count|regex", want: map[string]string{
			"required-labels":               `^$`,
			"required-labels/wrong-count":   `^unexpected number of violations`,
			"required-labels/bad-regex":     `^message contains invalid regular expression`,
			"required-labels/wrong-message": "skip", "required-labels/two-objects": "skip",
			"required-labels/no-assertions": "skip", "required-labels/bad-violations": "skip",
		}},
		{path: "testdata/nsselector/suite.yaml", run: "^scoped", want: map[string]string{
			"namespace-selector":            "skip",
			"scoped-all-enforcement-points": "pass", "scoped-all-enforcement-points/flagged": "pass",
			"scoped-webhook-and-audit-only": "pass", "scoped-webhook-and-audit-only/not-at-gator": "pass",
			"unknown-enforcement-action-counts": "skip",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.path+" "+tc.run, func(t *testing.T) {
			rs, err := Verify(context.Background(), []string{tc.path}, tc.run)
			if err != nil {
				t.Fatal(err)
			}
			got := outcomes(rs)
			// A test that failed only through its cases has no error of
			// its own: mark it "" for the `^$` expectations.
			for k, v := range got {
				if v == "pass" && tc.want[k] == `^$` {
					got[k] = ""
				}
			}
			checkOutcomes(t, got, tc.want)
		})
	}
}

// The review's messages: duplicates are kept once (Gatekeeper's violation
// set), every enforcement action counts (the constraint is dryrun), and
// the template's UPDATE-only operations do not stop gator.
func TestVerifyMessages(t *testing.T) {
	rs, err := Verify(context.Background(), []string{"testdata/labels/suite.yaml"}, "//no-labels")
	if err != nil {
		t.Fatal(err)
	}
	got := rs[0].Tests[0].Cases[1].Messages
	if diff := cmp.Diff([]string{"missing label owner", "missing label team"}, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}

func TestVerifyBadInput(t *testing.T) {
	for _, tc := range []struct{ path, run, want string }{
		{"testdata/nosuch.yaml", "", "no such file"},
		{"testdata/labels/suite.yaml/...", "", "not a directory"},
		{"testdata/labels/template.yaml", "(", "invalid test filter"},
	} {
		if _, err := Verify(context.Background(), []string{tc.path}, tc.run); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Verify(%q, %q) = %v, want an error containing %q", tc.path, tc.run, err, tc.want)
		}
	}
}

// Gatekeeper's own gator verify suite (test/gator/verify/suite.yaml of
// v3.23.1, which gator passes): every case without an expansion must pass;
// the two tests with an expansion must fail saying akssec does not expand.
func TestGatekeeperSuite(t *testing.T) {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "open-policy-agent", "gatekeeper", "v3@v3.23.1", "test", "gator", "verify")
	if _, err := os.Stat(filepath.Join(dir, "suite.yaml")); err != nil {
		t.Skipf("gatekeeper v3.23.1 is not in the module cache (go mod download github.com/open-policy-agent/gatekeeper/v3@v3.23.1 to run this test): %v", err)
	}
	rs, err := Verify(context.Background(), []string{filepath.Join(dir, "suite.yaml")}, "")
	if err != nil {
		t.Fatal(err)
	}
	expansion := `^expansion \(ExpansionTemplate\) is not supported by akssec: the case cannot be decided: test ".*" has expansion ".*_expansion.yaml"$`
	checkOutcomes(t, outcomes(rs), map[string]string{
		"foo-is-bar": "pass", "foo-is-bar/foo-bar": "pass", "foo-is-bar/foo-not-bar": "pass",
		"foo-is-bar-with-scopedEA": "pass", "foo-is-bar-with-scopedEA/foo-bar": "pass", "foo-is-bar-with-scopedEA/foo-not-bar": "pass",
		"foo-is-bar-with-scopedEA-without-gator-EP": "pass", "foo-is-bar-with-scopedEA-without-gator-EP/foo-bar": "pass",
		"foo-is-bar-with-scopedEA-without-gator-EP/foo-not-bar": "pass",
		"foo-template-to-foo-expansion":                         expansion,
		"foobar-template-to-foo-and-bar-expansion":              expansion,
	})
}
