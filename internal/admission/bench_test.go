package admission

import (
	"context"
	"sort"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/azurepolicy"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// allBuiltins is a snapshot with one Deny assignment of every built-in
// akssec ships a template for, and a restricted namespace.
func allBuiltins(b testing.TB) *env.Environment {
	b.Helper()
	s := &snapshot.Snapshot{}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod", Labels: map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}}}
	s.Objects = append(s.Objects, &snapshot.Object{APIVersion: "v1", Kind: "Namespace", Name: "prod", Typed: ns, Known: true})
	params := map[string]map[string]any{
		"ContainerAllowedImages":          {"allowedContainerImagesRegex": `^contoso\.azurecr\.io/.+$`},
		"ContainerResourceLimits":         {"cpuLimit": "2", "memoryLimit": "2Gi"},
		"ContainerDisallowedCapabilities": {"disallowedCapabilities": []any{"SYS_ADMIN", "NET_ADMIN"}},
		"AllowedHostPaths":                {"allowedHostPaths": map[string]any{"paths": []any{map[string]any{"pathPrefix": "/var/log", "readOnly": true}}}},
	}
	for _, d := range azurepolicy.Definitions {
		p := map[string]azure.ParameterValue{"effect": {Value: "Deny"}}
		for k, v := range params[d.Name] {
			p[k] = azure.ParameterValue{Value: v}
		}
		s.Azure.PolicyAssignments = append(s.Azure.PolicyAssignments, &azure.PolicyAssignment{ID: "/a/" + d.Name, Name: d.Name, DisplayName: d.DisplayName,
			PolicyDefinitionID: "/providers/Microsoft.Authorization/policyDefinitions/" + d.ID, Parameters: p})
	}
	return env.New(s)
}

func benchPods() []*corev1.Pod {
	t, f := true, false
	uid := int64(10001)
	good := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "prod", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: &f,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: &t, RunAsUser: &uid, RunAsGroup: &uid, FSGroup: &uid, SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/web:1.2.3",
				Ports:           []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Resources:       corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("256Mi")}},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &f, ReadOnlyRootFilesystem: &t, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}}}}}
	bad := good.DeepCopy()
	bad.Name = "bad"
	bad.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "docker.io/library/busybox:latest", SecurityContext: &corev1.SecurityContext{Privileged: &t}}}
	bad.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}}
	bad.Spec.InitContainers[0].VolumeMounts = []corev1.VolumeMount{{Name: "h", MountPath: "/h"}}
	return []*corev1.Pod{good, bad}
}

// BenchmarkAdmitPodAllBuiltins is one pod (PSA, then every shipped Azure
// built-in as a Deny constraint) per operation, with the p99 reported.
func BenchmarkAdmitPodAllBuiltins(b *testing.B) {
	e := allBuiltins(b)
	a, err := New(context.Background(), e)
	if err != nil {
		b.Fatal(err)
	}
	if n := len(a.Engine().Constraints()); n != len(azurepolicy.Definitions) {
		b.Fatalf("%d constraints, want %d; problems %v", n, len(azurepolicy.Definitions), a.Engine().Problems())
	}
	pods := benchPods()
	for _, p := range pods {
		v, err := a.AdmitPod(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		if (p.Name == "bad") == v.Allowed {
			b.Fatalf("%s: allowed=%v %+v", p.Name, v.Allowed, v.Denials)
		}
	}
	for _, p := range pods {
		b.Run(p.Name, func(b *testing.B) {
			ds := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := a.AdmitPod(context.Background(), p); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(start))
			}
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
			b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds()), "p99-µs")
			b.ReportMetric(float64(ds[len(ds)/2].Microseconds()), "p50-µs")
		})
	}
}

func BenchmarkAdmitPodParallel(b *testing.B) {
	a, err := New(context.Background(), allBuiltins(b))
	if err != nil {
		b.Fatal(err)
	}
	p := benchPods()[0]
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.AdmitPod(context.Background(), p); err != nil {
				b.Error(err)
			}
		}
	})
}

// cpuTime is the process's CPU time: on a machine whose run queue is
// longer than its cores, wall-clock percentiles measure the queue.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
