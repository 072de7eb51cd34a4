package podsecurity

import (
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
)

type podTweak func(*corev1.Pod)

func makePod(name, ns string, tweaks ...podTweak) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/app:1"}}}}
	for _, t := range tweaks {
		t(p)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// restricted makes the pod pass restricted:latest.
func restricted(p *corev1.Pod) {
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	}
}

func privileged(p *corev1.Pod) {
	if p.Spec.Containers[0].SecurityContext == nil {
		p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{}
	}
	p.Spec.Containers[0].SecurityContext.Privileged = ptr(true)
}

func addCap(c corev1.Capability) podTweak {
	return func(p *corev1.Pod) {
		if p.Spec.Containers[0].SecurityContext == nil {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{}
		}
		if p.Spec.Containers[0].SecurityContext.Capabilities == nil {
			p.Spec.Containers[0].SecurityContext.Capabilities = &corev1.Capabilities{}
		}
		p.Spec.Containers[0].SecurityContext.Capabilities.Add = append(p.Spec.Containers[0].SecurityContext.Capabilities.Add, c)
	}
}

func evaluator(t *testing.T, labels map[string]map[string]string, cfg Config) *Evaluator {
	t.Helper()
	p, err := NewWithConfig(nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.labels = labels
	p.resolve()
	return p
}

// Each check of the library, at the level that enforces it (the checks'
// doc comments in k8s.io/pod-security-admission/policy/check_*.go).
func TestChecks(t *testing.T) {
	lv := func(l api.Level) api.LevelVersion { return api.LevelVersion{Level: l, Version: api.LatestVersion()} }
	cases := []struct {
		name    string
		level   api.Level
		pod     *corev1.Pod
		allowed bool
		reasons []string
	}{
		{"restricted pod passes restricted", api.LevelRestricted, makePod("p", "ns", restricted), true, nil},
		{"bare pod fails restricted", api.LevelRestricted, makePod("p", "ns"), false, []string{"allowPrivilegeEscalation != false", "unrestricted capabilities", "runAsNonRoot != true", "seccompProfile"}},
		{"bare pod passes baseline", api.LevelBaseline, makePod("p", "ns"), true, nil},
		{"privileged fails baseline", api.LevelBaseline, makePod("p", "ns", privileged), false, []string{"privileged"}},
		{"NET_RAW fails baseline", api.LevelBaseline, makePod("p", "ns", addCap("NET_RAW")), false, []string{"non-default capabilities"}},
		{"CHOWN passes baseline", api.LevelBaseline, makePod("p", "ns", addCap("CHOWN")), true, nil},
		{"NET_BIND_SERVICE passes restricted", api.LevelRestricted, makePod("p", "ns", restricted, addCap("NET_BIND_SERVICE")), true, nil},
		{"CHOWN fails restricted", api.LevelRestricted, makePod("p", "ns", restricted, addCap("CHOWN")), false, []string{"unrestricted capabilities"}},
		{"hostNetwork fails baseline", api.LevelBaseline, makePod("p", "ns", func(p *corev1.Pod) { p.Spec.HostNetwork = true }), false, []string{"host namespaces"}},
		{"hostPort fails baseline", api.LevelBaseline, makePod("p", "ns", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		}), false, []string{"hostPort"}},
		{"hostPath fails baseline", api.LevelBaseline, makePod("p", "ns", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}}
		}), false, []string{"hostPath volumes"}},
		{"volume without source is an emptyDir (defaulting)", api.LevelRestricted, makePod("p", "ns", restricted, func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "scratch"}}
		}), true, nil},
		{"runAsUser 0 fails restricted", api.LevelRestricted, makePod("p", "ns", restricted, func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsUser = ptr(int64(0)) }), false, []string{"runAsUser=0"}},
		{"seccomp Unconfined fails baseline", api.LevelBaseline, makePod("p", "ns", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
		}), false, []string{"seccompProfile"}},
		{"unsafe sysctl fails baseline", api.LevelBaseline, makePod("p", "ns", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: "1"}}}
		}), false, []string{"forbidden sysctls"}},
		{"v1.37 sysctl passes baseline", api.LevelBaseline, makePod("p", "ns", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "net.ipv4.tcp_notsent_lowat", Value: "1"}}}
		}), true, nil},
		{"windows pods skip the restricted-only checks", api.LevelRestricted, makePod("p", "ns", func(p *corev1.Pod) {
			p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
			p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
		}), true, nil},
	}
	ev := evaluator(t, nil, DefaultConfig())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, vs := ev.Check(lv(tc.level), &tc.pod.ObjectMeta, &tc.pod.Spec)
			if ok != tc.allowed {
				t.Fatalf("allowed = %v, want %v (%+v)", ok, tc.allowed, vs)
			}
			var got []string
			for _, v := range vs {
				got = append(got, v.Reason)
			}
			if diff := cmp.Diff(tc.reasons, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAdmitMessagesAndModes(t *testing.T) {
	labels := map[string]map[string]string{
		"prod":     {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"},
		"base":     {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"},
		"broken":   {"pod-security.kubernetes.io/enforce": "strict"},
		"v129":     {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.29"},
		"audited":  {"pod-security.kubernetes.io/audit": "restricted"},
		"exempted": {"pod-security.kubernetes.io/enforce": "restricted"},
	}
	cfg := DefaultConfig()
	cfg.Exemptions.Namespaces = []string{"exempted"}
	cfg.Exemptions.RuntimeClasses = []string{"kata"}
	ev := evaluator(t, labels, cfg)

	t.Run("enforce denies a root pod with the API server's message", func(t *testing.T) {
		res := ev.AdmitPod(makePod("root", "prod"))
		want := `pods "root" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`
		if res.Allowed || res.Message != want {
			t.Errorf("got allowed=%v message:\n%s\nwant:\n%s", res.Allowed, res.Message, want)
		}
		if len(res.Warnings) != 0 {
			t.Errorf("a denied request carries no warnings, got %v", res.Warnings)
		}
	})
	t.Run("warn defaults to the enforce level", func(t *testing.T) {
		pol, _, _ := ev.PolicyFor("prod")
		if pol.Warn.Level != api.LevelRestricted {
			t.Errorf("warn = %v, want restricted", pol.Warn)
		}
	})
	t.Run("workloads get warnings, never a denial", func(t *testing.T) {
		p := makePod("", "prod")
		res := ev.Admit(Request{Group: "apps", Resource: "deployments", Namespace: "prod", Name: "d", Meta: &p.ObjectMeta, Spec: &p.Spec, Controller: true})
		if !res.Allowed || res.Enforced {
			t.Fatalf("controller: allowed=%v enforced=%v, want allowed and not enforced", res.Allowed, res.Enforced)
		}
		want := []string{`would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`}
		if diff := cmp.Diff(want, res.Warnings); diff != "" {
			t.Errorf("warnings (-want +got):\n%s", diff)
		}
	})
	t.Run("baseline enforce admits, restricted warn warns", func(t *testing.T) {
		res := ev.AdmitPod(makePod("p", "base"))
		if !res.Allowed || len(res.Warnings) != 1 {
			t.Errorf("got allowed=%v warnings=%v", res.Allowed, res.Warnings)
		}
	})
	t.Run("invalid enforce level fails closed to restricted", func(t *testing.T) {
		res := ev.AdmitPod(makePod("p", "broken"))
		if res.Allowed || len(res.PolicyErrors) == 0 || res.Policy.Enforce.Level != api.LevelRestricted {
			t.Errorf("got allowed=%v errors=%v enforce=%v", res.Allowed, res.PolicyErrors, res.Policy.Enforce)
		}
	})
	t.Run("audit only annotates", func(t *testing.T) {
		res := ev.AdmitPod(makePod("p", "audited"))
		if !res.Allowed || res.Audit == "" || len(res.Warnings) != 0 {
			t.Errorf("got allowed=%v audit=%q warnings=%v", res.Allowed, res.Audit, res.Warnings)
		}
	})
	t.Run("exempt namespace", func(t *testing.T) {
		res := ev.AdmitPod(makePod("p", "exempted", privileged))
		if !res.Allowed || res.Exempt != ExemptNamespace {
			t.Errorf("got allowed=%v exempt=%q", res.Allowed, res.Exempt)
		}
	})
	t.Run("exempt runtimeClass", func(t *testing.T) {
		res := ev.AdmitPod(makePod("p", "prod", privileged, func(p *corev1.Pod) { p.Spec.RuntimeClassName = ptr("kata") }))
		if !res.Allowed || res.Exempt != ExemptRuntimeClass {
			t.Errorf("got allowed=%v exempt=%q", res.Allowed, res.Exempt)
		}
	})
	t.Run("unlabelled namespace gets the privileged defaults", func(t *testing.T) {
		res := ev.AdmitPod(makePod("p", "elsewhere", privileged))
		if !res.Allowed || res.NamespaceKnown {
			t.Errorf("got allowed=%v known=%v", res.Allowed, res.NamespaceKnown)
		}
	})
	t.Run("containers are named in violations", func(t *testing.T) {
		res := ev.AdmitPod(makePod("p", "prod", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x"}}
		}))
		if diff := cmp.Diff([]string{"app", "init"}, res.Violations[0].Containers); diff != "" {
			t.Errorf("containers (-want +got):\n%s", diff)
		}
	})
}

func TestContainersIn(t *testing.T) {
	cases := map[string][]string{
		`container "app" must set securityContext.allowPrivilegeEscalation=false`:                        {"app"},
		`containers "b", "a" and "c" must set securityContext.capabilities.drop=["ALL"]`:                 {"a", "b", "c"},
		`pod or container "w" must set securityContext.runAsNonRoot=true`:                                {"w"},
		`pod or containers "x" and "y" must set securityContext.seccompProfile.type to "RuntimeDefault"`: {"x", "y"},
		`hostNetwork=true`: nil,
	}
	for in, want := range cases {
		if diff := cmp.Diff(want, containersIn(in)); diff != "" {
			t.Errorf("containersIn(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func TestStrictestLevel(t *testing.T) {
	ev := evaluator(t, nil, DefaultConfig())
	cases := []struct {
		pods []*corev1.Pod
		want api.Level
	}{
		{[]*corev1.Pod{makePod("a", "n", restricted)}, api.LevelRestricted},
		{[]*corev1.Pod{makePod("a", "n", restricted), makePod("b", "n")}, api.LevelBaseline},
		{[]*corev1.Pod{makePod("a", "n", privileged), makePod("b", "n", restricted)}, api.LevelPrivileged},
		{nil, api.LevelRestricted},
	}
	for _, tc := range cases {
		if got := ev.StrictestLevel(tc.pods...); got != tc.want {
			t.Errorf("StrictestLevel = %s, want %s", got, tc.want)
		}
	}
}

// BenchmarkAdmitPodRestricted is one pod creation decided in a namespace
// enforcing restricted:latest, with the p99 of the run.
func BenchmarkAdmitPodRestricted(b *testing.B) {
	ev, _ := NewWithConfig(nil, DefaultConfig())
	ev.labels = map[string]map[string]string{"prod": {"pod-security.kubernetes.io/enforce": "restricted"}}
	ev.resolve()
	for _, p := range []*corev1.Pod{makePod("compliant", "prod", restricted), makePod("root", "prod"), makePod("privileged", "prod", privileged)} {
		b.Run(p.Name, func(b *testing.B) {
			ds := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				ev.AdmitPod(p)
				ds = append(ds, time.Since(start))
			}
			b.StopTimer()
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds())/1000, "p99-µs")
			b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1000, "p50-µs")
		})
	}
}
