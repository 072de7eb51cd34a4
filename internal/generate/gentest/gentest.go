// Package gentest gives benchmarks and tests a generated snapshot, written
// once per machine into the temp directory and reused, because the large
// scale takes seconds to write.
package gentest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/generate"
	"github.com/akssec/akssec/internal/snapshot"
)

// Dir returns the directory of the generated snapshot of scale with seed 1,
// writing it first if needed. Concurrent callers from different test
// processes each write to a private directory and rename it into place.
func Dir(tb testing.TB, scale string) string {
	tb.Helper()
	sc, ok := generate.Scales[scale]
	if !ok {
		tb.Fatalf("gentest: unknown scale %q", scale)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("akssec-gen-%s-seed1-v1", scale))
	if _, err := os.Stat(filepath.Join(dir, "azure", "aks.json")); err == nil {
		return dir
	}
	tmp, err := os.MkdirTemp(os.TempDir(), "akssec-gen-*")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := generate.Write(context.Background(), filepath.Join(tmp, "s"), sc, 1); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, "s"), dir); err != nil && !os.IsExist(err) {
		if _, statErr := os.Stat(dir); statErr != nil {
			tb.Fatal(err)
		}
	}
	os.RemoveAll(tmp)
	return dir
}

// Env loads and indexes the generated snapshot of scale.
func Env(tb testing.TB, scale string) *env.Environment {
	tb.Helper()
	s, err := snapshot.Load(context.Background(), Dir(tb, scale), snapshot.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return env.New(s)
}
