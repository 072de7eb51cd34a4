package harness

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// BuildAkssec builds the akssec command of this checkout (the test module
// replaces github.com/akssec/akssec with ../..) into dir and returns its
// path.
func BuildAkssec(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "akssec")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/akssec/akssec/cmd/akssec")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building akssec: %w\n%s", err, out)
	}
	return bin, nil
}
