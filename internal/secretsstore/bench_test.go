package secretsstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/generate"
	"github.com/akssec/akssec/internal/snapshot"
)

// largeEnv generates and loads the large synthetic snapshot once per
// benchmark run (outside the timer).
func largeEnv(b *testing.B, scale string) *env.Environment {
	b.Helper()
	dir := filepath.Join(os.TempDir(), "akssec-secretsstore-bench-"+scale)
	if _, err := os.Stat(filepath.Join(dir, "azure")); err != nil {
		if _, err := generate.Write(context.Background(), dir, generate.Scales[scale], 1); err != nil {
			b.Fatal(err)
		}
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return env.New(s)
}

// BenchmarkResolveAllPodsLarge resolves the mount of every pod of the large
// snapshot (20,000 pods) with one prepared Resolver; target ≤ 2 s.
func BenchmarkResolveAllPodsLarge(b *testing.B) {
	e := largeEnv(b, "large")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := New(e)
		n := 0
		for _, p := range e.Pods {
			m := r.Resolve(p)
			n += len(m.Volumes)
		}
		if n == 0 {
			b.Fatal("no secrets-store volume in the large snapshot")
		}
	}
}

// BenchmarkCheckLarge runs the layer's checks on the large snapshot.
func BenchmarkCheckLarge(b *testing.B) {
	e := largeEnv(b, "large")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Check(context.Background(), e)
	}
}

func BenchmarkResolveBank(b *testing.B) {
	e := bank(b)
	r := New(e)
	p := podNamed(b, e, "default", "myapp")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Resolve(p)
	}
}
