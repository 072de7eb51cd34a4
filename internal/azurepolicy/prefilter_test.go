package azurepolicy

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/gatekeeper"
)

// randomPod draws a pod over the fields the shipped templates read.
func randomPod(r *rand.Rand) *corev1.Pod {
	pick := func(n int) int { return r.Intn(n) }
	b := func() *bool { v := pick(2) == 0; return &v }
	i64 := func(vs ...int64) *int64 { v := vs[pick(len(vs))]; return &v }
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: []string{"prod", "default", ""}[pick(3)], Annotations: map[string]string{}}}
	if pick(3) == 0 {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{}
		sc := p.Spec.SecurityContext
		if pick(2) == 0 {
			sc.RunAsUser = i64(0, 1000)
		}
		if pick(2) == 0 {
			sc.RunAsNonRoot = b()
		}
		if pick(2) == 0 {
			sc.RunAsGroup = i64(0, 1000, 70000)
		}
		if pick(2) == 0 {
			sc.FSGroup = i64(0, 2000)
		}
		if pick(3) == 0 {
			sc.SupplementalGroups = []int64{*i64(0, 3000)}
		}
		if pick(2) == 0 {
			sc.SeccompProfile = &corev1.SeccompProfile{Type: []corev1.SeccompProfileType{"RuntimeDefault", "Unconfined", "Localhost"}[pick(3)]}
		}
		if pick(3) == 0 {
			sc.AppArmorProfile = &corev1.AppArmorProfile{Type: []corev1.AppArmorProfileType{"RuntimeDefault", "Unconfined"}[pick(2)]}
		}
	}
	p.Spec.HostNetwork, p.Spec.HostPID, p.Spec.HostIPC = pick(5) == 0, pick(6) == 0, pick(6) == 0
	if pick(4) == 0 {
		p.Spec.AutomountServiceAccountToken = b()
	}
	if pick(6) == 0 {
		p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "windows"}
	}
	images := []string{"contoso.azurecr.io/app:1", "contoso.azurecr.io/app:latest", "docker.io/library/busybox", "evil.example/contoso.azurecr.io/x:1", "mcr.microsoft.com/tool@sha256:ab", "localhost:5000/web"}
	cpus := []string{"100m", "500m", "1", "2", "2500m", "0.5"}
	mems := []string{"64Mi", "256Mi", "1Gi", "2Gi", "3G", "100M"}
	volumes := []corev1.VolumeSource{
		{HostPath: &corev1.HostPathVolumeSource{Path: []string{"/var/log", "/etc", "/var/logs/x"}[pick(3)]}},
		{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		{Projected: &corev1.ProjectedVolumeSource{}},
		{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}},
	}
	for i := 0; i < pick(3); i++ {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: fmt.Sprintf("v%d", i), VolumeSource: volumes[pick(len(volumes))]})
	}
	mk := func(name string) corev1.Container {
		c := corev1.Container{Name: name, Image: images[pick(len(images))]}
		if pick(3) > 0 {
			c.SecurityContext = &corev1.SecurityContext{}
			sc := c.SecurityContext
			if pick(4) == 0 {
				sc.Privileged = b()
			}
			if pick(2) == 0 {
				sc.AllowPrivilegeEscalation = b()
			}
			if pick(2) == 0 {
				sc.ReadOnlyRootFilesystem = b()
			}
			if pick(3) == 0 {
				sc.RunAsUser = i64(0, 1000)
			}
			if pick(4) == 0 {
				sc.RunAsGroup = i64(0, 1000)
			}
			if pick(2) == 0 {
				sc.Capabilities = &corev1.Capabilities{}
				if pick(3) == 0 {
					sc.Capabilities.Add = []corev1.Capability{[]corev1.Capability{"NET_RAW", "SYS_ADMIN", "net_bind_service"}[pick(3)]}
				}
				if pick(2) == 0 {
					sc.Capabilities.Drop = []corev1.Capability{[]corev1.Capability{"ALL", "all", "NET_RAW"}[pick(3)]}
				}
			}
			if pick(3) == 0 {
				sc.SeccompProfile = &corev1.SeccompProfile{Type: []corev1.SeccompProfileType{"RuntimeDefault", "Unconfined"}[pick(2)]}
			}
			if pick(4) == 0 {
				sc.AppArmorProfile = &corev1.AppArmorProfile{Type: []corev1.AppArmorProfileType{"RuntimeDefault", "Unconfined"}[pick(2)]}
			}
		}
		if pick(3) > 0 {
			c.Resources.Limits = corev1.ResourceList{}
			if pick(5) > 0 {
				c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse(cpus[pick(len(cpus))])
			}
			if pick(5) > 0 {
				c.Resources.Limits[corev1.ResourceMemory] = resource.MustParse(mems[pick(len(mems))])
			}
		}
		if pick(4) == 0 {
			c.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: []int32{0, 80, 8080}[pick(3)], Protocol: corev1.ProtocolTCP}}
		}
		for _, v := range p.Spec.Volumes {
			if pick(2) == 0 {
				c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: "/m/" + v.Name, ReadOnly: pick(2) == 0})
			}
		}
		if pick(5) == 0 {
			c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "tok", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true})
		}
		if pick(6) == 0 {
			p.Annotations["container.apparmor.security.beta.kubernetes.io/"+name] = []string{"runtime/default", "unconfined"}[pick(2)]
		}
		if pick(8) == 0 {
			p.Annotations["container.seccomp.security.alpha.kubernetes.io/"+name] = []string{"runtime/default", "unconfined"}[pick(2)]
		}
		return c
	}
	p.Spec.Containers = []corev1.Container{mk("app")}
	if pick(2) == 0 {
		p.Spec.Containers = append(p.Spec.Containers, mk("sidecar"))
	}
	if pick(3) == 0 {
		p.Spec.InitContainers = []corev1.Container{mk("init")}
	}
	if pick(5) == 0 {
		p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(mk("debug"))}}
	}
	if pick(8) == 0 {
		p.Annotations["seccomp.security.alpha.kubernetes.io/pod"] = "runtime/default"
	}
	return p
}

// Parameter sets per template, from the definitions and the initiatives.
var prefilterParams = map[string][]map[string]any{
	"container-no-privilege-v2":            {{}, {"excludedImages": []any{"mcr.microsoft.com/*"}}},
	"container-no-privilege-escalation-v4": {{}, {"forcePrivilegeEscalationToBeFalse": true}},
	"container-resource-limits-v3":         {{"cpuLimit": "1", "memoryLimit": "1Gi"}, {"cpuLimit": "2500m", "memoryLimit": "3G"}, {"cpuLimit": "200m", "memoryLimit": "128Mi"}},
	"container-allowed-images-v2":          {{"imageRegex": `^contoso\.azurecr\.io/.+$`}, {"imageRegex": "contoso.azurecr.io/.+", "excludedContainers": []any{"debug"}}},
	"host-network-ports-v3":                {{"allowHostNetwork": false, "minPort": 0, "maxPort": 0}, {"allowHostNetwork": true, "minPort": 80, "maxPort": 9000}},
	"host-network-ports-v4":                {{"allowHostNetwork": false, "allowedHostPorts": []any{}}, {"allowHostNetwork": true, "allowedHostPorts": []any{80}}},
	"block-host-namespace-v2":              {{}},
	"block-host-namespace-v3":              {{}},
	"read-only-root-filesystem-v3":         {{}, {"excludedContainers": []any{"init"}}},
	"container-allowed-capabilities-v3":    {{"allowedCapabilities": baselineCapabilities, "requiredDropCapabilities": []any{}}, {"allowedCapabilities": []any{}, "requiredDropCapabilities": []any{"NET_RAW"}}, {}},
	"container-disallowed-capabilities-v3": {{"disallowedCapabilities": []any{"SYS_ADMIN"}}, {"disallowedCapabilities": []any{"*"}}},
	"allowed-seccomp-profiles-v3":          {{"allowedProfiles": []any{"runtime/default", "docker/default"}}, {"allowedProfiles": []any{"RuntimeDefault"}}, {"allowedProfiles": []any{"*"}}},
	"enforce-apparmor-profile-v3":          {{"allowedProfiles": []any{"runtime/default"}}},
	"allowed-host-paths-v4":                {{"allowedHostPaths": []any{}}, {"allowedHostPaths": []any{map[string]any{"pathPrefix": "/var/log", "readOnly": true}}}},
	"block-automount-token-v2":             {{}},
	"allowed-volume-types-v2":              {{"volumes": []any{"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}}, {"volumes": []any{"*"}}},
	"allowed-users-groups-v3": {
		{"runAsUser": map[string]any{"rule": "MustRunAsNonRoot"}, "runAsGroup": map[string]any{"rule": "MustRunAs", "ranges": []any{map[string]any{"min": 1, "max": 65535}}},
			"supplementalGroups": map[string]any{"rule": "MustRunAs", "ranges": []any{map[string]any{"min": 1, "max": 65535}}}, "fsGroup": map[string]any{"rule": "MayRunAs", "ranges": []any{map[string]any{"min": 1, "max": -1}}}},
		{"runAsUser": map[string]any{"rule": "RunAsAny"}, "runAsGroup": map[string]any{"rule": "RunAsAny"}},
	},
	"container-no-latest-image-v2": {{}},
	"block-default-namespace-v1":   {{}},
}

// TestPrefiltersNeverMiss: wherever a prefilter says a template cannot
// report a pod, the template's Rego reports nothing.
func TestPrefiltersNeverMiss(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	pods := make([]*corev1.Pod, 400)
	for i := range pods {
		pods[i] = randomPod(r)
	}
	pfs := Prefilters()
	for file := range podPrefilters {
		u, err := Template(file)
		if err != nil {
			t.Fatal(err)
		}
		pf := pfs[u.GetName()]
		kind, _, _ := unstructured.NestedString(u.Object, "spec", "crd", "spec", "names", "kind")
		sets := prefilterParams[file]
		if len(sets) == 0 {
			t.Errorf("%s: no parameter sets for the differential test", file)
		}
		for si, params := range sets {
			c := &unstructured.Unstructured{Object: normalize(map[string]any{"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": kind, "metadata": map[string]any{"name": "c"}, "spec": map[string]any{"parameters": params}})}
			e, err := gatekeeper.New(context.Background(), []gatekeeper.Item{{Obj: u}}, []gatekeeper.Item{{Obj: c}}, gatekeeper.Options{})
			if err != nil || len(e.Problems()) > 0 {
				t.Fatal(err, e.Problems())
			}
			cp, _, _ := unstructured.NestedMap(c.Object, "spec", "parameters")
			skipped, missed := 0, 0
			for pi, p := range pods {
				o := &gatekeeper.Object{Version: "v1", Kind: "Pod", Resource: "pods", Namespace: p.Namespace, Name: p.Name, Typed: p, Source: gatekeeper.SourceOriginal, NamespaceObject: &corev1.Namespace{}}
				if pf(o, cp) {
					continue
				}
				skipped++
				rs, err := e.Review(context.Background(), o)
				if err != nil {
					t.Fatal(err)
				}
				if len(rs) > 0 && missed < 3 {
					missed++
					t.Errorf("%s params %d pod %d: the prefilter skipped a pod the Rego reports: %s", file, si, pi, rs[0].Msg)
				}
			}
			if skipped == 0 && file != "block-default-namespace-v1" {
				t.Logf("%s params %d: the prefilter never skipped a random pod", file, si)
			}
		}
	}
}
