package harness

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
)

// BuildAkssec builds the akssec command of the checkout at repo into dir
// and returns its path.
func BuildAkssec(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "akssec")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/akssec")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building akssec: %w\n%s", err, out)
	}
	return bin, nil
}
