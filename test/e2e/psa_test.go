package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// warnings collects the API server's Warning headers.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}

type podTweak func(*corev1.Pod)

func makePod(ns, name string, tweaks ...podTweak) *corev1.Pod {
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/app:1"}}},
	}
	for _, t := range tweaks {
		t(p)
	}
	return p
}

func restrictedContext(p *corev1.Pod) {
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].SecurityContext = &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
	}
}

func runAsRoot(p *corev1.Pod) {
	p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](0)}
}

func privileged(p *corev1.Pod) {
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
}

func hostNetwork(p *corev1.Pod) { p.Spec.HostNetwork = true }

func withInit(p *corev1.Pod) {
	p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "docker.io/library/busybox:1.36"}}
}

// admitVerdict is the part of `akssec admit -o json` the test reads.
type admitVerdict struct {
	Kind, Namespace, Name string
	Allowed               bool     `json:"allowed"`
	Message               string   `json:"message"`
	Warnings              []string `json:"warnings"`
}

// TestPodSecurityAdmission creates pods (dry run, so admission runs in
// full) in namespaces with Pod Security labels and compares the API
// server's answer, error message and warnings with `akssec admit` on a
// snapshot collected from the same server.
func TestPodSecurityAdmission(t *testing.T) {
	requireCluster(t)
	namespaces := map[string]map[string]string{
		"psa-restricted": {"pod-security.kubernetes.io/enforce": "restricted"},
		"psa-baseline":   {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted"},
		"psa-pinned":     {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.23", "pod-security.kubernetes.io/audit": "restricted"},
		"psa-none":       nil,
		"psa-old":        {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.22", "pod-security.kubernetes.io/warn": "baseline"},
	}
	for ns, labels := range namespaces {
		makeNamespace(t, ns, labels)
	}
	pods := []*corev1.Pod{
		makePod("psa-restricted", "root", runAsRoot),
		makePod("psa-restricted", "plain"),
		makePod("psa-restricted", "compliant", restrictedContext),
		makePod("psa-restricted", "compliant-root", restrictedContext, func(p *corev1.Pod) { p.Spec.SecurityContext.RunAsUser = ptr.To[int64](0) }),
		makePod("psa-restricted", "priv-init", restrictedContext, withInit),
		makePod("psa-baseline", "privileged", privileged),
		makePod("psa-baseline", "host-network", hostNetwork),
		makePod("psa-baseline", "root-warned", runAsRoot),
		makePod("psa-baseline", "compliant", restrictedContext),
		makePod("psa-pinned", "privileged", privileged),
		makePod("psa-pinned", "plain"),
		makePod("psa-none", "privileged", privileged, hostNetwork),
		makePod("psa-baseline", "host-path", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run"}}}}
		}),
		makePod("psa-baseline", "sys-admin", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN", "NET_RAW"}}}
		}),
		makePod("psa-baseline", "host-port", func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080}}
		}),
		makePod("psa-baseline", "unsafe-sysctl", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{Sysctls: []corev1.Sysctl{{Name: "kernel.msgmax", Value: "65536"}, {Name: "net.ipv4.ping_group_range", Value: "0 1"}}}
		}),
		makePod("psa-baseline", "seccomp-unconfined", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
		}),
		makePod("psa-baseline", "proc-mount", func(p *corev1.Pod) {
			um := corev1.UnmaskedProcMount
			p.Spec.HostUsers = ptr.To(false)
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ProcMount: &um}
		}),
		makePod("psa-restricted", "add-net-bind", restrictedContext, func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_BIND_SERVICE"}
		}),
		makePod("psa-restricted", "add-chown", restrictedContext, func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"CHOWN"}
		}),
		makePod("psa-restricted", "nfs-volume", restrictedContext, func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "n", VolumeSource: corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/x"}}}}
		}),
		makePod("psa-restricted", "ephemeral-and-secret", restrictedContext, func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}},
				{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}),
		makePod("psa-old", "plain"),
		makePod("psa-old", "no-seccomp", restrictedContext, func(p *corev1.Pod) { p.Spec.SecurityContext.SeccompProfile = nil }),
		makePod("psa-old", "privileged", privileged),
	}

	// The API server's answers.
	var w warnings
	cfg := suite.cluster.RestConfig()
	cfg.WarningHandler = &w
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		allowed  bool
		message  string
		warnings []string
	}
	want := make([]answer, len(pods))
	for i, p := range pods {
		_, err := cs.CoreV1().Pods(p.Namespace).Create(context.Background(), p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		want[i] = answer{allowed: err == nil, warnings: w.take()}
		if err != nil {
			if !apierrors.IsForbidden(err) {
				t.Fatalf("creating %s/%s: %v (want admitted or forbidden)", p.Namespace, p.Name, err)
			}
			want[i].message = err.Error()
		}
	}
	// The documented behaviour, so that the comparison cannot pass on two
	// wrong answers: a root pod in a restricted namespace is denied with
	// PSA's message.
	if want[0].allowed || want[0].message == "" {
		t.Fatalf("the API server admitted a root pod into a restricted namespace")
	}
	if got, prefix := want[0].message, `pods "root" is forbidden: violates PodSecurity "restricted:latest": `; len(got) < len(prefix) || got[:len(prefix)] != prefix {
		t.Errorf("the API server said %q, want it to start with %q", got, prefix)
	}

	// akssec's answers on a snapshot of the same cluster.
	dir := filepath.Join(t.TempDir(), "snap")
	if _, stderr, code := akssec(t, nil, "collect", "-o", dir, "--no-azure", "--kubeconfig", suite.cluster.Kubeconfig); code != 0 {
		t.Fatalf("akssec collect exited %d:\n%s", code, stderr)
	}
	mdir := t.TempDir()
	var files []string
	for i, p := range pods {
		b, err := yaml.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(mdir, fmt.Sprintf("%02d-%s-%s.yaml", i, p.Namespace, p.Name))
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	out, stderr, code := akssec(t, nil, append([]string{"-e", dir, "admit", "-o", "json"}, files...)...)
	if code != 0 && code != 1 {
		t.Fatalf("akssec admit exited %d:\n%s", code, stderr)
	}
	var got []admitVerdict
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("akssec admit -o json: %v\n%s", err, out)
	}
	if len(got) != len(pods) {
		t.Fatalf("akssec admit answered %d objects, want %d", len(got), len(pods))
	}
	for i, p := range pods {
		t.Run(p.Namespace+"/"+p.Name, func(t *testing.T) {
			g := got[i]
			if g.Namespace != p.Namespace || g.Name != p.Name {
				t.Fatalf("answer %d is for %s/%s", i, g.Namespace, g.Name)
			}
			if g.Allowed != want[i].allowed {
				t.Errorf("akssec allowed=%v, kube-apiserver allowed=%v (%s)", g.Allowed, want[i].allowed, want[i].message)
			}
			if diff := cmp.Diff(want[i].message, g.Message); diff != "" {
				t.Errorf("message (-kube-apiserver +akssec):\n%s", diff)
			}
			ww, gw := append([]string(nil), want[i].warnings...), append([]string(nil), g.Warnings...)
			sort.Strings(ww)
			sort.Strings(gw)
			if diff := cmp.Diff(ww, gw, cmpEmpty); diff != "" {
				t.Errorf("warnings (-kube-apiserver +akssec):\n%s", diff)
			}
		})
	}
}

// cmpEmpty treats a nil and an empty list as equal.
var cmpEmpty = cmp.FilterValues(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 }, cmp.Comparer(func(_, _ []string) bool { return true }))
