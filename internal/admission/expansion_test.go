package admission

import (
	"context"
	"strings"
	"testing"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// Gatekeeper expansion: a constraint whose source is All also sees the pod
// a workload implies, and its denial is the workload's; a warn constraint
// adds a warning and denies nothing.
func TestExpansionAndActions(t *testing.T) {
	s, err := snapshot.Load(context.Background(), "testdata/expansion", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), env.New(s))
	if err != nil {
		t.Fatal(err)
	}
	if p := a.Engine().Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	vs := admitFile(t, a, "testdata/expansion-deploy.yaml")
	v := vs[0]
	if v.Allowed || len(v.Denials) != 1 || !strings.HasPrefix(v.Denials[0].Message, "[Implied by expansion of the Deployment's pod template] hostNetwork is not allowed") {
		t.Errorf("deployment: allowed=%v denials=%+v", v.Allowed, v.Denials)
	}
	if v.Pods == nil || v.Pods.Allowed {
		t.Fatalf("pods: %+v", v.Pods)
	}
	if got := v.Pods.Denials[0].Policy; got != "K8sDenyHostNetwork/all-sources" {
		t.Errorf("pod denial policy = %q", got)
	}
	if len(v.Pods.Warnings) != 1 || !strings.HasPrefix(v.Pods.Warnings[0], "[warn-only] hostNetwork is not allowed") {
		t.Errorf("pod warnings = %q", v.Pods.Warnings)
	}
}
