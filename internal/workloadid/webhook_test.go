package workloadid

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type podTweak func(*corev1.Pod)

func makePod(tweaks ...podTweak) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "myapp", Namespace: "default", Labels: map[string]string{LabelUse: "true"}},
		Spec: corev1.PodSpec{ServiceAccountName: "myapp-sa", Containers: []corev1.Container{{Name: "app", Image: "a"}}, InitContainers: []corev1.Container{{Name: "init", Image: "i"}}}}
	for _, t := range tweaks {
		t(p)
	}
	return p
}

func withAnnotation(k, v string) podTweak {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[k] = v
	}
}

func makeSA(ann map[string]string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "myapp-sa", Namespace: "default", Annotations: ann}}
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func TestMutateV16(t *testing.T) {
	sa := makeSA(map[string]string{AnnotationClientID: "cid", AnnotationTenantID: "tid"})
	got, warnings, err := Mutate(makePod(), sa, WebhookConfig{TenantID: "cluster-tid"})
	if err != nil || len(warnings) != 0 {
		t.Fatalf("Mutate: %v, warnings %v", err, warnings)
	}
	sum := sha256.Sum256([]byte("myapp"))
	vol := "azure-workload-identity-reserved-" + fmt.Sprintf("%x", sum)[:30]
	if len(vol) != 63 {
		t.Errorf("volume name %q has %d characters, want 63", vol, len(vol))
	}
	wantEnv := map[string]string{"AZURE_CLIENT_ID": "cid", "AZURE_TENANT_ID": "tid",
		"AZURE_FEDERATED_TOKEN_FILE": "/var/run/secrets/azure/wi/token/azure-identity-token", "AZURE_AUTHORITY_HOST": "https://login.microsoftonline.com/"}
	for _, c := range append(got.Spec.InitContainers, got.Spec.Containers...) {
		if diff := cmp.Diff(wantEnv, envOf(c)); diff != "" {
			t.Errorf("container %s env (-want +got):\n%s", c.Name, diff)
		}
		if diff := cmp.Diff([]corev1.VolumeMount{{Name: vol, MountPath: "/var/run/secrets/azure/wi", ReadOnly: true}}, c.VolumeMounts); diff != "" {
			t.Errorf("container %s mounts (-want +got):\n%s", c.Name, diff)
		}
	}
	exp := int64(3600)
	wantVol := corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token/azure-identity-token", ExpirationSeconds: &exp, Audience: "api://AzureADTokenExchange"}}}}}}
	if diff := cmp.Diff([]corev1.Volume{wantVol}, got.Spec.Volumes); diff != "" {
		t.Errorf("volumes (-want +got):\n%s", diff)
	}
}

func TestMutateV15AndGenerateName(t *testing.T) {
	pod := makePod(func(p *corev1.Pod) { p.Name = ""; p.GenerateName = "myapp-" })
	got, _, err := Mutate(pod, makeSA(map[string]string{AnnotationClientID: "cid"}), WebhookConfig{Layout: LayoutV15, TenantID: "cluster-tid"})
	if err != nil {
		t.Fatal(err)
	}
	if e := envOf(got.Spec.Containers[0]); e["AZURE_TENANT_ID"] != "cluster-tid" || e["AZURE_FEDERATED_TOKEN_FILE"] != "/var/run/secrets/azure/tokens/azure-identity-token" {
		t.Errorf("env = %v, want the cluster tenant and the v1.5 token file", e)
	}
	if got.Spec.Volumes[0].Name != "azure-identity-token" || got.Spec.Containers[0].VolumeMounts[0].MountPath != "/var/run/secrets/azure/tokens" {
		t.Errorf("v1.5 volume %q mount %q", got.Spec.Volumes[0].Name, got.Spec.Containers[0].VolumeMounts[0].MountPath)
	}
	sum := sha256.Sum256([]byte("myapp- (prefix)"))
	if want := "azure-workload-identity-reserved-" + fmt.Sprintf("%x", sum)[:30]; VolumeName("myapp- (prefix)") != want {
		t.Errorf("VolumeName = %q, want %q", VolumeName("myapp- (prefix)"), want)
	}
}

func TestMutateRules(t *testing.T) {
	tests := []struct {
		name       string
		pod        *corev1.Pod
		sa         *corev1.ServiceAccount
		cfg        WebhookConfig
		wantErr    string
		unchanged  bool
		check      func(t *testing.T, p *corev1.Pod)
		wantWarnOf string
	}{
		{name: "not labelled: not mutated", pod: makePod(func(p *corev1.Pod) { p.Labels = nil }), sa: makeSA(map[string]string{AnnotationClientID: "c"}), unchanged: true, wantWarnOf: "no label"},
		{name: "label value must be true", pod: makePod(func(p *corev1.Pod) { p.Labels[LabelUse] = "True" }), sa: makeSA(nil), unchanged: true, wantWarnOf: "no label"},
		{name: "kube-system excluded", pod: makePod(func(p *corev1.Pod) { p.Namespace = "kube-system" }), sa: makeSA(nil), unchanged: true, wantWarnOf: "kube-system"},
		{name: "missing ServiceAccount rejects", pod: makePod(), sa: nil, wantErr: `admission webhook "mutation.azure-workload-identity.io" denied the request: serviceaccounts "myapp-sa" not found`},
		{name: "expiration too short", pod: makePod(withAnnotation(AnnotationTokenExpiration, "3599")), sa: makeSA(nil),
			wantErr: `admission webhook "mutation.azure-workload-identity.io" denied the request: token expiration 3599 not valid. Expected value to be between 3600 and 86400`},
		{name: "expiration from SA, too long", pod: makePod(), sa: makeSA(map[string]string{AnnotationTokenExpiration: "86401"}),
			wantErr: `admission webhook "mutation.azure-workload-identity.io" denied the request: token expiration 86401 not valid. Expected value to be between 3600 and 86400`},
		{name: "expiration not a number", pod: makePod(withAnnotation(AnnotationTokenExpiration, "1h")), sa: makeSA(nil),
			wantErr: `admission webhook "mutation.azure-workload-identity.io" denied the request: strconv.ParseInt: parsing "1h": invalid syntax`},
		{name: "pod expiration wins", pod: makePod(withAnnotation(AnnotationTokenExpiration, "86400")), sa: makeSA(map[string]string{AnnotationTokenExpiration: "1"}),
			check: func(t *testing.T, p *corev1.Pod) {
				if e := *p.Spec.Volumes[0].Projected.Sources[0].ServiceAccountToken.ExpirationSeconds; e != 86400 {
					t.Errorf("expiration %d, want 86400", e)
				}
			}},
		{name: "proxy on hostNetwork rejects", pod: makePod(withAnnotation(AnnotationInjectProxySidecar, ""), func(p *corev1.Pod) { p.Spec.HostNetwork = true }), sa: makeSA(nil),
			wantErr: `admission webhook "mutation.azure-workload-identity.io" denied the request: hostNetwork is set to true, cannot inject proxy sidecar`},
		{name: "bad proxy port rejects", pod: makePod(withAnnotation(AnnotationInjectProxySidecar, "true"), withAnnotation(AnnotationProxySidecarPort, "x")), sa: makeSA(nil),
			wantErr: `admission webhook "mutation.azure-workload-identity.io" denied the request: failed to parse proxy sidecar port: strconv.ParseInt: parsing "x": invalid syntax`},
		{name: "proxy legacy sidecar prepended to containers", pod: makePod(withAnnotation(AnnotationInjectProxySidecar, "false")), sa: makeSA(map[string]string{AnnotationClientID: "c"}),
			check: func(t *testing.T, p *corev1.Pod) {
				if p.Spec.Containers[0].Name != ProxySidecarContainerName || p.Spec.InitContainers[1].Name != ProxyInitContainerName {
					t.Errorf("containers %v / init %v", p.Spec.Containers[0].Name, p.Spec.InitContainers[1].Name)
				}
				if !*p.Spec.InitContainers[1].SecurityContext.Privileged || envOf(p.Spec.InitContainers[1])[ProxyPortEnvVar] != "8000" {
					t.Error("proxy init must be privileged with PROXY_PORT=8000")
				}
				if envOf(p.Spec.Containers[0])[EnvClientID] != "c" {
					t.Error("the sidecar gets the env too (mutated after injection)")
				}
			}},
		{name: "native sidecar", pod: makePod(withAnnotation(AnnotationInjectProxySidecar, ""), withAnnotation(AnnotationProxySidecarPort, "9000")), sa: makeSA(nil), cfg: WebhookConfig{NativeSidecar: true},
			check: func(t *testing.T, p *corev1.Pod) {
				names := []string{}
				for _, c := range p.Spec.InitContainers {
					names = append(names, c.Name)
				}
				if diff := cmp.Diff([]string{ProxySidecarContainerName, "init", ProxyInitContainerName}, names); diff != "" {
					t.Errorf("init containers (-want +got):\n%s", diff)
				}
				if p.Spec.InitContainers[0].RestartPolicy == nil || *p.Spec.InitContainers[0].RestartPolicy != corev1.ContainerRestartPolicyAlways {
					t.Error("native sidecar needs restartPolicy Always")
				}
			}},
		{name: "skip containers and existing env kept", pod: makePod(withAnnotation(AnnotationSkipContainers, " init ; other"), func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: EnvAuthorityHost, Value: "https://emulator/"}}
		}), sa: makeSA(map[string]string{AnnotationClientID: "c"}), cfg: WebhookConfig{TenantID: "t"},
			check: func(t *testing.T, p *corev1.Pod) {
				if len(p.Spec.InitContainers[0].Env) != 0 || len(p.Spec.InitContainers[0].VolumeMounts) != 0 {
					t.Error("skipped init container was mutated")
				}
				if envOf(p.Spec.Containers[0])[EnvAuthorityHost] != "https://emulator/" {
					t.Error("existing AZURE_AUTHORITY_HOST overwritten")
				}
			}},
		{name: "no client-id: env skipped, warned", pod: makePod(), sa: makeSA(nil), cfg: WebhookConfig{TenantID: "t"}, wantWarnOf: "no azure.workload.identity/client-id",
			check: func(t *testing.T, p *corev1.Pod) {
				if _, ok := envOf(p.Spec.Containers[0])[EnvClientID]; ok {
					t.Error("empty AZURE_CLIENT_ID injected")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.pod.DeepCopy()
			got, warnings, err := Mutate(tt.pod, tt.sa, tt.cfg)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Fatalf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(in, tt.pod); diff != "" {
				t.Errorf("input pod modified:\n%s", diff)
			}
			if err != nil {
				return
			}
			if tt.unchanged && got != tt.pod {
				t.Error("unselected pod was copied or mutated")
			}
			if tt.wantWarnOf != "" {
				found := false
				for _, w := range warnings {
					found = found || strings.Contains(w, tt.wantWarnOf)
				}
				if !found {
					t.Errorf("warnings %q lack %q", warnings, tt.wantWarnOf)
				}
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}
