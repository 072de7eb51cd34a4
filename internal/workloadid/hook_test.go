package workloadid

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

func TestAdmissionHookOnTheExample(t *testing.T) {
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	hook := AdmissionHook(env.New(s))
	if hook == nil {
		t.Fatal("the example enables workload identity; the hook must exist")
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{LabelUse: "true"},
		Annotations: map[string]string{AnnotationInjectProxySidecar: "true"}},
		Spec: corev1.PodSpec{ServiceAccountName: "myapp-sa", Containers: []corev1.Container{{Name: "app", Image: "x"}}}}
	out, _, err := hook(pod)
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, e := range out.Spec.Containers[len(out.Spec.Containers)-1].Env {
		env = append(env, e.Name+"="+e.Value)
	}
	found := false
	for _, v := range env {
		found = found || v == "AZURE_CLIENT_ID=c1000000-0000-4000-8000-000000000001"
	}
	if !found {
		t.Errorf("client ID not injected: %v", env)
	}
	// Kubernetes 1.33: the proxy is a native sidecar in initContainers.
	var names []string
	for _, c := range out.Spec.InitContainers {
		names = append(names, c.Name+"@"+c.Image)
	}
	want := map[string]bool{"azwi-proxy@" + AddonProxyImage: true, "azwi-proxy-init@" + AddonProxyInitImage: true}
	if len(names) != 2 || !want[names[0]] || !want[names[1]] {
		t.Errorf("init containers = %v, want the proxy init container and the native proxy sidecar", names)
	}
	// Unlabelled pods pass untouched and without warnings.
	plain := pod.DeepCopy()
	plain.Labels = nil
	got, warnings, err := hook(plain)
	if err != nil || got != plain || len(warnings) != 0 {
		t.Errorf("unselected pod: %v %v %v", got != plain, warnings, err)
	}
}

func TestAtLeast(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{{"1.33.4", true}, {"1.32.0", true}, {"1.31.9", false}, {"v1.32", true}, {"2.0", true}, {"", true}} {
		if got := atLeast(tt.v, 1, 32); got != tt.want {
			t.Errorf("atLeast(%q) = %v", tt.v, got)
		}
	}
}
