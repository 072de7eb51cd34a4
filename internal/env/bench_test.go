package env_test

import (
	"context"
	"testing"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/generate/gentest"
	"github.com/akssec/akssec/internal/snapshot"
)

// BenchmarkLoadAndIndex measures snapshot.Load + env.New: the start-up cost
// of every command. Target for large: ≤ 3 s on 2 cores.
func BenchmarkLoadAndIndex(b *testing.B) {
	for _, scale := range []string{"small", "medium", "large"} {
		b.Run(scale, func(b *testing.B) {
			dir := gentest.Dir(b, scale)
			b.ReportAllocs()
			for b.Loop() {
				s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
				if err != nil {
					b.Fatal(err)
				}
				_ = env.New(s)
			}
		})
	}
}
