package gkdiff

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPinnedVersions: the oracle is the frameworks client and gatekeeper
// v3.23.1's target on OPA v1.22.3 and k8s.io/* v0.37.2, the versions
// akssec builds with (the reference's section 3.6).
func TestPinnedVersions(t *testing.T) {
	want := map[string]string{
		"github.com/open-policy-agent/opa":                   "v1.22.3",
		"github.com/open-policy-agent/gatekeeper/v3":         "v3.23.1",
		"github.com/open-policy-agent/frameworks/constraint": "v0.0.0-20260616163050-e1eaa1bf6d62",
		"k8s.io/api":          "v0.37.2",
		"k8s.io/apimachinery": "v0.37.2",
		"k8s.io/apiserver":    "v0.37.2",
	}
	args := []string{"list", "-m", "-f", "{{.Path}} {{.Version}}"}
	for p := range want {
		args = append(args, p)
	}
	out, err := exec.Command("go", args...).Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			got[f[0]] = f[1]
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("module versions (-want +got):\n%s", diff)
	}
}
