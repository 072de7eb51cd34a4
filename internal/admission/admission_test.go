package admission

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/snapshot"
)

const example = "../../examples/contoso-bank"

func exampleEnv(t testing.TB) *env.Environment {
	t.Helper()
	s, err := snapshot.Load(context.Background(), example, snapshot.Options{})
	if err != nil {
		t.Fatalf("loading the example: %v", err)
	}
	return env.New(s)
}

func admitFile(t *testing.T, a *Admitter, file string) []*Verdict {
	t.Helper()
	objs, err := snapshot.LoadManifests([]string{file}, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*Verdict
	for _, o := range objs {
		v, err := a.Admit(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

type brief struct {
	Layer, Policy, Container, Field string
}

func briefs(ds []Denial) []brief {
	var out []brief
	for _, d := range ds {
		out = append(out, brief{d.Layer, d.Policy, d.Container, d.Field})
	}
	return out
}

func TestSeedOutcomes(t *testing.T) {
	e := exampleEnv(t)
	a, err := New(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	vs := admitFile(t, a, "testdata/seed-manifests.yaml")
	if len(vs) != 4 {
		t.Fatalf("got %d verdicts, want 4 (one per object, in order)", len(vs))
	}

	t.Run("privileged pod in production is denied, naming the policy", func(t *testing.T) {
		v := vs[0]
		if v.Allowed {
			t.Fatal("debug-tools admitted")
		}
		want := []brief{
			{LayerPodSecurity, "restricted:latest", "shell", "spec.containers[0].securityContext.privileged"},
			{LayerPodSecurity, "restricted:latest", "shell", "spec.containers[0].securityContext.allowPrivilegeEscalation"},
			{LayerPodSecurity, "restricted:latest", "shell", "spec.containers[0].securityContext.capabilities"},
			{LayerPodSecurity, "restricted:latest", "shell", "spec.containers[0].securityContext.runAsNonRoot"},
			{LayerPodSecurity, "restricted:latest", "shell", "spec.containers[0].securityContext.seccompProfile"},
			{LayerAzurePolicy, "Kubernetes cluster should not allow privileged containers", "shell", "spec.containers[0].securityContext.privileged"},
		}
		if diff := cmp.Diff(want, briefs(v.Denials)); diff != "" {
			t.Errorf("denials (-want +got):\n%s", diff)
		}
		// PSA runs before the webhook: its error is what kubectl shows.
		if !strings.HasPrefix(v.Message, `pods "debug-tools" is forbidden: violates PodSecurity "restricted:latest": privileged (container "shell" must not set securityContext.privileged=true)`) {
			t.Errorf("message = %s", v.Message)
		}
		// The read-only root filesystem assignment only audits.
		var audited []string
		for _, d := range v.Audit {
			audited = append(audited, d.Layer+" "+d.Action+" "+d.Policy)
		}
		if diff := cmp.Diff([]string{
			`pod-security audit restricted:latest`,
			`azure-policy dryrun Kubernetes cluster containers should run with a read only root file system`,
		}, audited); diff != "" {
			t.Errorf("audit (-want +got):\n%s", diff)
		}
	})

	t.Run("Deployment admitted, its pods denied by the allowed-images regex", func(t *testing.T) {
		v := vs[1]
		if !v.Allowed || v.Pods == nil || v.Pods.Allowed {
			t.Fatalf("got allowed=%v pods=%v", v.Allowed, v.Pods)
		}
		want := []brief{{LayerAzurePolicy, "Kubernetes cluster containers should only use allowed images", "wait-for-db", "spec.initContainers[0].image"}}
		if diff := cmp.Diff(want, briefs(v.Pods.Denials)); diff != "" {
			t.Errorf("pod denials (-want +got):\n%s", diff)
		}
		if got := v.Pods.Denials[0].Message; got != "Container image docker.io/library/busybox:1.36 for container wait-for-db has not been allowed." {
			t.Errorf("message = %q", got)
		}
		if !strings.HasPrefix(v.Pods.Message, `admission webhook "validation.gatekeeper.sh" denied the request: [azurepolicy-k8sazurev2containerallowedimag-`) {
			t.Errorf("API message = %q", v.Pods.Message)
		}
	})

	t.Run("PSA restricted denies a root container with the API server's message", func(t *testing.T) {
		v := vs[2]
		want := `pods "root-app" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`
		if v.Allowed || v.Message != want {
			t.Errorf("got allowed=%v message:\n%s\nwant:\n%s", v.Allowed, v.Message, want)
		}
	})

	t.Run("a compliant pod is admitted without warnings", func(t *testing.T) {
		v := vs[3]
		if !v.Allowed || len(v.Warnings) != 0 || len(v.Audit) != 0 {
			t.Errorf("got allowed=%v warnings=%v audit=%+v", v.Allowed, v.Warnings, v.Audit)
		}
	})
}

func TestExplainShowsTheRegexAndEveryContainer(t *testing.T) {
	a, err := New(context.Background(), exampleEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := snapshot.LoadManifests([]string{"testdata/seed-manifests.yaml"}, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := a.Explain(context.Background(), objs[1])
	if err != nil {
		t.Fatal(err)
	}
	type img struct {
		Regex, Container, List, Image string
		Anchored, Allowed             bool
	}
	var got []img
	for _, i := range x.Images {
		got = append(got, img{i.Regex, i.Container, i.List, i.Image, i.Anchored, i.Allowed})
	}
	want := []img{
		{"contoso.azurecr.io/.+", "wait-for-db", "initContainers", "docker.io/library/busybox:1.36", false, false},
		{"contoso.azurecr.io/.+", "api", "containers", "contoso.azurecr.io/payments-api:5.0.3", false, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	if x.Namespace.Enforce != "restricted:latest" || x.Namespace.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace = %+v", x.Namespace)
	}
	if len(x.Constraints) == 0 || x.Constraints[0].Assignment == nil || x.Constraints[0].Assignment.Effect != "deny" || x.Constraints[0].Template != "k8sazurev2containerallowedimages" {
		t.Errorf("constraints = %+v", x.Constraints)
	}
}

func pod(name, ns string, tweak ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/app:1"}}}}
	for _, f := range tweak {
		f(p)
	}
	return p
}

func TestAdmitPodForTheGraph(t *testing.T) {
	a, err := New(context.Background(), exampleEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	priv := func(p *corev1.Pod) {
		t := true
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &t}
	}
	sa := func(name string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Spec.ServiceAccountName = name } }
	cases := []struct {
		name  string
		pod   *corev1.Pod
		allow bool
	}{
		{"plain pod as alpha-ci-sa in team-alpha (baseline)", pod("x", "team-alpha", sa("alpha-ci-sa")), true},
		{"privileged pod in team-alpha: PSA baseline and Azure deny", pod("x", "team-alpha", priv), false},
		{"privileged pod in sandbox: no PSA, the Azure policy still denies", pod("x", "sandbox", priv), false},
		{"privileged pod in kube-system: excluded from the policy, no PSA labels", pod("x", "kube-system", priv), true},
		{"image from Docker Hub anywhere but the excluded namespaces", pod("x", "sandbox", func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.27" }), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := a.AdmitPod(context.Background(), tc.pod)
			if err != nil {
				t.Fatal(err)
			}
			if v.Allowed != tc.allow {
				t.Errorf("allowed = %v, want %v: %+v", v.Allowed, tc.allow, v.Denials)
			}
			if tc.pod.Spec.Volumes != nil {
				t.Error("AdmitPod modified its argument")
			}
		})
	}
}

func TestServiceAccountTokenMount(t *testing.T) {
	a, err := New(context.Background(), exampleEnv(t))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := a.AdmitPod(context.Background(), pod("x", "sandbox"))
	if len(v.Pod.Spec.Volumes) != 1 || v.Pod.Spec.Volumes[0].Projected == nil || v.Pod.Spec.Containers[0].VolumeMounts[0].MountPath != "/var/run/secrets/kubernetes.io/serviceaccount" {
		t.Errorf("token not mounted: %+v", v.Pod.Spec)
	}
	off := false
	v, _ = a.AdmitPod(context.Background(), pod("x", "sandbox", func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = &off }))
	if len(v.Pod.Spec.Volumes) != 0 {
		t.Errorf("automountServiceAccountToken=false still mounted: %+v", v.Pod.Spec.Volumes)
	}
}

func TestRules(t *testing.T) {
	if _, err := finding.NewRegistry(Rules()...); err != nil {
		t.Fatal(err)
	}
}

func TestCheckOnTheExample(t *testing.T) {
	fs := Check(context.Background(), exampleEnv(t))
	var got []string
	for _, f := range fs {
		got = append(got, f.RuleID+" "+f.Object.String())
		if f.Fix == "" || f.Loc.File == "" || len(f.Evidence) == 0 {
			t.Errorf("%s %s lacks a fix, a location or evidence", f.RuleID, f.Object)
		}
	}
	for _, want := range []string{
		"AKS-IMG-001 PolicyAssignment/Kubernetes cluster containers should only use allowed images",
		"AKS-IMG-002 Deployment/production/payments-api",
		"AKS-POL-002 Pod/production/debug-tools",
		"AKS-PSA-002 Pod/production/debug-tools",
		"AKS-PSA-002 Deployment/production/ledger-worker",
		"AKS-POL-001 PolicyAssignment/Kubernetes cluster containers should run with a read only root file system",
		"AKS-PSA-001 Namespace/sandbox",
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("missing finding %q; got %q", want, got)
		}
	}
}

func TestCheckImageRegex(t *testing.T) {
	samples := []string{"contoso.azurecr.io/web:1"}
	cases := []struct {
		re   string
		leak bool
	}{
		{"contoso.azurecr.io/.+", true},
		{"^.+azurecr.io/.+$", true},
		{`^contoso\.azurecr\.io/.+$`, false},
		{`^[^/]+\.azurecr\.io\/.+$`, false},
		{`^contoso.azurecr.io/.+$`, true}, // unescaped dot: contosoxazurecr.io
		{".*", true},
		{`^(contoso\.azurecr\.io|mcr\.microsoft\.com)/.+$`, false},
	}
	for _, tc := range cases {
		leaks, err := CheckImageRegex(tc.re, samples)
		if err != nil {
			t.Fatal(err)
		}
		if (len(leaks) > 0) != tc.leak {
			t.Errorf("CheckImageRegex(%q) leaks %q, want leak=%v", tc.re, leaks, tc.leak)
		}
	}
	if leaks, _ := CheckImageRegex("contoso.azurecr.io/.+", nil); len(leaks) == 0 || leaks[0] != RegexProbe {
		t.Errorf("the seed's probe %s must get through an unanchored regex, got %v", RegexProbe, leaks)
	}
}

// A mutating webhook's sidecar is decided like any container, and explain
// marks it injected.
func TestMutatorSidecarIsChecked(t *testing.T) {
	inject := Mutator{Name: "sidecar-injector", Mutate: func(p *corev1.Pod) (*corev1.Pod, []string, error) {
		out := p.DeepCopy()
		out.Spec.Containers = append(out.Spec.Containers, corev1.Container{Name: "proxy", Image: "mcr.microsoft.com/oss/azure/workload-identity/proxy:v1.6.0"})
		return out, []string{"injected proxy"}, nil
	}}
	a, err := NewWithOptions(context.Background(), exampleEnv(t), Options{Mutators: []Mutator{inject}})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := snapshot.LoadManifests([]string{"testdata/seed-manifests.yaml"}, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := a.Explain(context.Background(), objs[3]) // the compliant pod
	if err != nil {
		t.Fatal(err)
	}
	if x.Verdict.Allowed {
		t.Error("the injected proxy's image is not from the allowed registry: the pod must be denied")
	}
	var injected []string
	for _, i := range x.Images {
		if i.Injected {
			injected = append(injected, i.Container)
		}
	}
	if diff := cmp.Diff([]string{"proxy"}, injected); diff != "" {
		t.Errorf("injected (-want +got):\n%s", diff)
	}
}
