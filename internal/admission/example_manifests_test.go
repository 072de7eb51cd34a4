package admission

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/snapshot"
)

// The example's manifests give the seed's outcomes (examples/contoso-bank
// README): one row per manifest, decided against the example snapshot.
func TestExampleManifests(t *testing.T) {
	files, _ := filepath.Glob(example + "/manifests/*.yaml")
	if len(files) == 0 {
		t.Skip("examples/contoso-bank/manifests has no manifests yet")
	}
	a, err := New(context.Background(), exampleEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	type outcome struct {
		Allowed bool
		Layers  []string // the denying layer and policy of each denial, deduplicated
		Message string   // the start of the API server's error
	}
	want := map[string]outcome{
		"compliant-pod.yaml": {Allowed: true},
		// The seed's fault: the unanchored regex lets a look-alike through.
		"evil-image.yaml": {Allowed: true},
		"privileged-pod.yaml": {Layers: []string{"pod-security restricted:latest", "azure-policy Kubernetes cluster should not allow privileged containers"},
			Message: `pods "privileged-shell" is forbidden: violates PodSecurity "restricted:latest": privileged (container "shell" must not set securityContext.privileged=true)`},
		"root-pod.yaml": {Layers: []string{"pod-security restricted:latest"},
			Message: `pods "root-app" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)`},
		"unapproved-image.yaml": {Layers: []string{"azure-policy Kubernetes cluster containers should only use allowed images"},
			Message: `admission webhook "validation.gatekeeper.sh" denied the request: [azurepolicy-k8sazurev2containerallowedimag-`},
	}
	for _, f := range files {
		name := filepath.Base(f)
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: no expected outcome; add one", name)
			continue
		}
		objs, err := snapshot.LoadManifests([]string{f}, snapshot.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := a.Admit(context.Background(), objs[0])
		if err != nil {
			t.Fatal(err)
		}
		got := outcome{Allowed: v.Allowed}
		for _, d := range v.Denials {
			got.Layers = appendOnce(got.Layers, d.Layer+" "+d.Policy)
		}
		if w.Message != "" && strings.HasPrefix(v.Message, w.Message) {
			got.Message = w.Message
		} else {
			got.Message = v.Message
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// The look-alike is admitted because re_match is unanchored: explain
	// shows the match.
	objs, _ := snapshot.LoadManifests([]string{example + "/manifests/evil-image.yaml"}, snapshot.Options{})
	if len(objs) == 1 {
		x, err := a.Explain(context.Background(), objs[0])
		if err != nil {
			t.Fatal(err)
		}
		if len(x.Images) != 1 || !x.Images[0].Allowed || x.Images[0].Anchored || x.Images[0].Matched != "contoso.azurecr.io/x:1.0" {
			t.Errorf("images = %+v", x.Images)
		}
	}
}
