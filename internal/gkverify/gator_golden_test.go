package gkverify

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The files under testdata/gator are what the real gator v3.23.1 printed
// for the testdata suites, run from this directory:
//
//	go install github.com/open-policy-agent/gatekeeper/v3/cmd/gator@v3.23.1
//	gator verify -v testdata/labels/suite.yaml | sed -E 's/[0-9]+\.[0-9]{3}s/T/g' > testdata/gator/labels_suite.txt
//
// (run times replaced by T). akssec verify must print the same, line for
// line: the same pass/fail for every test and case and the same errors.
// edge/ probes constraint validation (schema errors, defaults, unknown
// fields, names, selectors, enforcement actions, legacy schemas) and match/
// every match criterion on plain objects and AdmissionReviews, errors/ the
// errors of templates, constraints, cases and assertions.
func TestAgainstGator(t *testing.T) {
	runtime := regexp.MustCompile(`[0-9]+\.[0-9]{3}s`)
	for _, path := range []string{
		"testdata/labels/suite.yaml", "testdata/labels/failing.yaml", "testdata/cel/suite.yaml",
		"testdata/inventory/suite.yaml", "testdata/admission/suite.yaml", "testdata/invalid/suite.yaml",
		"testdata/invalid/failing.yaml", "testdata/skip/...", "testdata/nsselector/suite.yaml",
		"testdata/edge/suite.yaml", "testdata/match/suite.yaml", "testdata/errors/suite.yaml",
		"testdata/review/suite.yaml", "testdata/celreview/suite.yaml", // input.review and the CEL request, as gator builds them
	} {
		t.Run(path, func(t *testing.T) {
			name := strings.NewReplacer("testdata/", "", "/...", "_tree", "/", "_", ".yaml", "").Replace(path)
			want, err := os.ReadFile("testdata/gator/" + name + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			rs, err := Verify(context.Background(), []string{path}, "")
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := WriteText(&b, rs, true); err != nil {
				t.Fatal(err)
			}
			got := runtime.ReplaceAllString(b.String(), "T") + "\n" // gator prints with Println
			// Errors name this directory (as gator does, from an fs.FS rooted at
			// "/", without the leading slash): the goldens say $PKGDIR.
			wd, err := os.Getwd()
			if err != nil {
				t.Fatal(err)
			}
			got = strings.ReplaceAll(got, strings.TrimPrefix(wd, "/"), "$PKGDIR")
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("akssec verify -v %s differs from gator (-gator +akssec):\n%s", path, diff)
			}
		})
	}
}
