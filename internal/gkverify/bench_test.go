package gkverify

import (
	"context"
	"testing"
)

// BenchmarkVerify runs the Rego, CEL and inventory suites: per case the
// template is compiled and the constraint validated, as gator does.
func BenchmarkVerify(b *testing.B) {
	paths := []string{"testdata/labels/suite.yaml", "testdata/cel/suite.yaml", "testdata/inventory/suite.yaml"}
	for b.Loop() {
		rs, err := Verify(context.Background(), paths, "")
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) != 3 {
			b.Fatalf("%d suites, want 3", len(rs))
		}
	}
}
