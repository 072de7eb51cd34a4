package scan

import (
	"context"
	"testing"

	"github.com/akssec/akssec/internal/generate/gentest"
)

// BenchmarkScanLarge is the whole scan (every layer, graph, attack paths,
// scorecard) of the large generated snapshot, loaded outside the timer.
// Target: ≤ 15 s and ≤ 2 GiB on 2 cores (with the load).
func BenchmarkScanLarge(b *testing.B) {
	e := gentest.Env(b, "large")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(context.Background(), e, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
