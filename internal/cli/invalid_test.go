package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestInvalidSnapshotsExit2 runs `akssec inventory` on a snapshot holding
// each file of the loader's testdata/invalid: exit 2, the expected message
// on stderr, nothing on stdout.
func TestInvalidSnapshotsExit2(t *testing.T) {
	const dir = "../snapshot/testdata/invalid"
	data, err := os.ReadFile(filepath.Join(dir, "cases.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct{ File, PlaceAs, Want string }
	if err := yaml.UnmarshalStrict(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.File, func(t *testing.T) {
			content, err := os.ReadFile(filepath.Join(dir, c.File))
			if err != nil {
				t.Fatal(err)
			}
			snap := t.TempDir()
			p := filepath.Join(snap, filepath.FromSlash(c.PlaceAs))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, content, 0o644)
			var out, errOut bytes.Buffer
			code := Run(context.Background(), []string{"inventory", "-e", snap}, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d", code, ExitUsage)
			}
			if !strings.Contains(errOut.String(), c.Want) {
				t.Errorf("stderr lacks %q:\n%s", c.Want, errOut.String())
			}
			if out.Len() != 0 {
				t.Errorf("stdout not empty: %s", out.String())
			}
		})
	}
}
