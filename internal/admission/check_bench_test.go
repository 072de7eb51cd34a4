package admission

import (
	"context"
	"os"
	"testing"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// BenchmarkCheckGenerated runs every admission check on a generated
// snapshot: AKSSEC_BENCH_SNAPSHOT names it (akssec generate --scale S DIR).
func BenchmarkCheckGenerated(b *testing.B) {
	dir := os.Getenv("AKSSEC_BENCH_SNAPSHOT")
	if dir == "" {
		b.Skip("set AKSSEC_BENCH_SNAPSHOT to a generated snapshot")
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		b.Fatal(err)
	}
	e := env.New(s)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fs := Check(context.Background(), e)
		b.ReportMetric(float64(len(fs)), "findings")
	}
}
