package azurepolicy

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/snapshot"
)

// review runs one embedded template with one constraint on an object given
// as YAML, serialized through its Go type as the API server sends it.
func reviewWith(t *testing.T, tmpl string, params map[string]any, kind, objYAML string) []string {
	t.Helper()
	u, err := Template(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	k, _, _ := unstructured.NestedString(u.Object, "spec", "crd", "spec", "names", "kind")
	if params == nil {
		params = map[string]any{}
	}
	c := &unstructured.Unstructured{Object: normalize(map[string]any{"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": k,
		"metadata": map[string]any{"name": "c"}, "spec": map[string]any{"parameters": params}})}
	e, err := gatekeeper.New(context.Background(), []gatekeeper.Item{{Obj: u}}, []gatekeeper.Item{{Obj: c}}, gatekeeper.Options{})
	if err != nil || len(e.Problems()) > 0 {
		t.Fatal(err, e.Problems())
	}
	var typed any
	group := ""
	switch kind {
	case "Pod":
		p := &corev1.Pod{}
		if err := yaml.UnmarshalStrict([]byte(objYAML), p); err != nil {
			t.Fatal(err)
		}
		p.APIVersion, p.Kind = "v1", "Pod"
		snapshot.DefaultPodSpec(&p.Spec)
		typed = p
	case "Service":
		s := &corev1.Service{}
		if err := yaml.UnmarshalStrict([]byte(objYAML), s); err != nil {
			t.Fatal(err)
		}
		s.APIVersion, s.Kind = "v1", "Service"
		typed = s
	case "Ingress":
		i := &networkingv1.Ingress{}
		if err := yaml.UnmarshalStrict([]byte(objYAML), i); err != nil {
			t.Fatal(err)
		}
		i.APIVersion, i.Kind = "networking.k8s.io/v1", "Ingress"
		typed, group = i, "networking.k8s.io"
	}
	m, err := gatekeeper.ToMap(typed)
	if err != nil {
		t.Fatal(err)
	}
	meta := m["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	rs, err := e.Review(context.Background(), &gatekeeper.Object{Group: group, Version: "v1", Kind: kind, Resource: gatekeeper.Resource(kind), Namespace: ns, Name: name, Object: m, Source: gatekeeper.SourceOriginal,
		NamespaceObject: &corev1.Namespace{}})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range rs {
		msgs = append(msgs, r.Msg)
	}
	return msgs
}

const (
	plainPod = `
metadata: {name: web, namespace: shop}
spec:
  containers:
  - {name: app, image: contoso.azurecr.io/web:1.0}
`
	hardenedPod = `
metadata: {name: web, namespace: shop}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, supplementalGroups: [3000], seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: app
    image: contoso.azurecr.io/web:1.0
    resources: {limits: {cpu: 500m, memory: 256Mi}}
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      capabilities: {drop: [ALL]}
      appArmorProfile: {type: RuntimeDefault}
`
)

func TestShippedTemplates(t *testing.T) {
	cases := []struct {
		name   string
		tmpl   string
		params map[string]any
		kind   string
		obj    string
		want   []string // substrings, one per expected violation
	}{
		{"privileged denied", "container-no-privilege-v2", nil, "Pod", `
metadata: {name: debug, namespace: prod}
spec: {containers: [{name: shell, image: x, securityContext: {privileged: true}}]}`, []string{"Privileged container is not allowed: shell"}},
		{"privileged init container denied", "container-no-privilege-v2", nil, "Pod", `
metadata: {name: debug, namespace: prod}
spec: {initContainers: [{name: setup, image: x, securityContext: {privileged: true}}], containers: [{name: app, image: x}]}`, []string{"Privileged container is not allowed: setup"}},
		{"privileged excluded by image prefix", "container-no-privilege-v2", map[string]any{"excludedImages": []any{"mcr.microsoft.com/*"}}, "Pod", `
metadata: {name: debug, namespace: prod}
spec: {containers: [{name: shell, image: mcr.microsoft.com/tool:1, securityContext: {privileged: true}}]}`, nil},
		{"privileged on windows nodes is skipped", "container-no-privilege-v2", nil, "Pod", `
metadata: {name: debug, namespace: prod}
spec: {nodeSelector: {kubernetes.io/os: windows}, containers: [{name: shell, image: x, securityContext: {privileged: true}}]}`, nil},
		{"unprivileged allowed", "container-no-privilege-v2", nil, "Pod", plainPod, nil},

		{"allowed image", "container-allowed-images-v2", map[string]any{"imageRegex": "^contoso\\.azurecr\\.io/.+$"}, "Pod", plainPod, nil},
		{"unapproved init image", "container-allowed-images-v2", map[string]any{"imageRegex": "^contoso\\.azurecr\\.io/.+$"}, "Pod", `
metadata: {name: pay, namespace: prod}
spec: {initContainers: [{name: wait-for-db, image: docker.io/library/busybox:1.36}], containers: [{name: api, image: contoso.azurecr.io/pay:1}]}`,
			[]string{"Container image docker.io/library/busybox:1.36 for container wait-for-db has not been allowed."}},
		{"unanchored regex lets a look-alike through", "container-allowed-images-v2", map[string]any{"imageRegex": "contoso.azurecr.io/.+"}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: evil.example/contoso.azurecr.io/x}]}`, nil},
		{"anchored regex stops the look-alike", "container-allowed-images-v2", map[string]any{"imageRegex": "^contoso\\.azurecr\\.io/.+$"}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: evil.example/contoso.azurecr.io/x}]}`, []string{"evil.example/contoso.azurecr.io/x"}},
		{"excluded container name", "container-allowed-images-v2", map[string]any{"imageRegex": "^contoso\\.azurecr\\.io/.+$", "excludedContainers": []any{"sidecar"}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: sidecar, image: docker.io/envoy:1}]}`, nil},

		// The published template only infers escalation from a runAsUser it can see.
		{"no securityContext at all", "container-no-privilege-escalation-v4", nil, "Pod", plainPod, nil},
		{"non-root user without allowPrivilegeEscalation=false", "container-no-privilege-escalation-v4", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {securityContext: {runAsUser: 1000}, containers: [{name: app, image: x}]}`, []string{"Privilege escalation container is not allowed: app"}},
		{"forced false", "container-no-privilege-escalation-v4", map[string]any{"forcePrivilegeEscalationToBeFalse": true}, "Pod", plainPod, []string{"Privilege escalation container is not allowed: app"}},
		{"escalation false allowed", "container-no-privilege-escalation-v4", nil, "Pod", hardenedPod, nil},
		{"escalation true denied", "container-no-privilege-escalation-v4", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, securityContext: {allowPrivilegeEscalation: true, runAsUser: 0}}]}`, []string{"app"}},

		{"no limits", "container-resource-limits-v3", map[string]any{"cpuLimit": "1", "memoryLimit": "1Gi"}, "Pod", plainPod, []string{"container <app> has no resource limits"}},
		{"limits within", "container-resource-limits-v3", map[string]any{"cpuLimit": "1", "memoryLimit": "1Gi"}, "Pod", hardenedPod, nil},
		{"cpu above", "container-resource-limits-v3", map[string]any{"cpuLimit": "200m", "memoryLimit": "1Gi"}, "Pod", hardenedPod, []string{"container <app> cpu limit <500m> is higher than the maximum allowed of <200m>"}},
		{"memory above", "container-resource-limits-v3", map[string]any{"cpuLimit": "1", "memoryLimit": "128Mi"}, "Pod", hardenedPod, []string{"container <app> memory limit <256Mi> is higher than the maximum allowed of <128Mi>"}},
		{"memory limit missing", "container-resource-limits-v3", map[string]any{"cpuLimit": "1", "memoryLimit": "1Gi"}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, resources: {limits: {cpu: "1"}}}]}`, []string{"container <app> has no memory limit"}},

		{"hostNetwork denied (v3)", "host-network-ports-v3", map[string]any{"allowHostNetwork": false, "minPort": 0, "maxPort": 0}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {hostNetwork: true, containers: [{name: app, image: x}]}`, []string{"The specified hostNetwork and hostPort are not allowed, pod: x, container: app"}},
		{"hostPort outside range (v3)", "host-network-ports-v3", map[string]any{"allowHostNetwork": false, "minPort": 0, "maxPort": 0}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]}`, []string{"container: app"}},
		{"plain pod (v3)", "host-network-ports-v3", map[string]any{"allowHostNetwork": false, "minPort": 0, "maxPort": 0}, "Pod", plainPod, nil},
		{"listed host port (v4)", "host-network-ports-v4", map[string]any{"allowHostNetwork": false, "allowedHostPorts": []any{8080}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]}`, nil},
		{"unlisted host port (v4)", "host-network-ports-v4", map[string]any{"allowHostNetwork": false, "allowedHostPorts": []any{}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, ports: [{containerPort: 80, hostPort: 8080}]}]}`, []string{"container: app"}},

		{"hostPID denied", "block-host-namespace-v3", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {hostPID: true, containers: [{name: app, image: x}]}`, []string{"Sharing the host namespace is not allowed: x"}},
		{"hostIPC denied", "block-host-namespace-v2", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {hostIPC: true, containers: [{name: app, image: x}]}`, []string{"Sharing the host namespace is not allowed: x"}},
		{"no host namespaces", "block-host-namespace-v3", nil, "Pod", plainPod, nil},

		{"writable root fs", "read-only-root-filesystem-v3", nil, "Pod", plainPod, []string{"Readonly root filesystem is required for container. pod:'web', container:'app'"}},
		{"read-only root fs", "read-only-root-filesystem-v3", nil, "Pod", hardenedPod, nil},

		{"NET_RAW outside PSS list", "container-allowed-capabilities-v3", map[string]any{"allowedCapabilities": []any{"CHOWN"}, "requiredDropCapabilities": []any{}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, securityContext: {capabilities: {add: [NET_RAW]}}}]}`, []string{"container <app> has a disallowed capability. Allowed capabilities are [\"CHOWN\"]"}},
		{"capability names are case-insensitive", "container-allowed-capabilities-v3", map[string]any{"allowedCapabilities": []any{"net_raw"}, "requiredDropCapabilities": []any{}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, securityContext: {capabilities: {add: [NET_RAW]}}}]}`, nil},
		{"drop ALL satisfies required drops", "container-allowed-capabilities-v3", map[string]any{"allowedCapabilities": []any{}, "requiredDropCapabilities": []any{"NET_RAW"}}, "Pod", hardenedPod, nil},
		{"missing required drop", "container-allowed-capabilities-v3", map[string]any{"allowedCapabilities": []any{}, "requiredDropCapabilities": []any{"NET_RAW"}}, "Pod", plainPod, []string{"is not dropping all required capabilities"}},

		{"SYS_ADMIN denied", "container-disallowed-capabilities-v3", map[string]any{"disallowedCapabilities": []any{"SYS_ADMIN"}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, securityContext: {capabilities: {add: [SYS_ADMIN]}}}]}`, []string{"container <app> has a disallowed capability"}},
		{"no SYS_ADMIN", "container-disallowed-capabilities-v3", map[string]any{"disallowedCapabilities": []any{"SYS_ADMIN"}}, "Pod", plainPod, nil},

		{"seccomp RuntimeDefault field", "allowed-seccomp-profiles-v3", map[string]any{"allowedProfiles": []any{"runtime/default", "docker/default"}}, "Pod", hardenedPod, nil},
		{"seccomp unset", "allowed-seccomp-profiles-v3", map[string]any{"allowedProfiles": []any{"runtime/default", "docker/default"}}, "Pod", plainPod, []string{"Seccomp profile is not allowed, pod: web, container: app"}},
		{"seccomp Unconfined container overrides pod", "allowed-seccomp-profiles-v3", map[string]any{"allowedProfiles": []any{"runtime/default"}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {securityContext: {seccompProfile: {type: RuntimeDefault}}, containers: [{name: app, image: x, securityContext: {seccompProfile: {type: Unconfined}}}]}`, []string{"container: app"}},
		{"seccomp wildcard", "allowed-seccomp-profiles-v3", map[string]any{"allowedProfiles": []any{"*"}}, "Pod", plainPod, nil},

		{"apparmor unset is runtime/default", "enforce-apparmor-profile-v3", map[string]any{"allowedProfiles": []any{"runtime/default"}}, "Pod", plainPod, nil},
		{"apparmor unconfined annotation", "enforce-apparmor-profile-v3", map[string]any{"allowedProfiles": []any{"runtime/default"}}, "Pod", `
metadata: {name: x, namespace: prod, annotations: {container.apparmor.security.beta.kubernetes.io/app: unconfined}}
spec: {containers: [{name: app, image: x}]}`, []string{"AppArmor profile is not allowed, pod: x, container: app"}},
		{"apparmor Unconfined field", "enforce-apparmor-profile-v3", map[string]any{"allowedProfiles": []any{"runtime/default"}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, securityContext: {appArmorProfile: {type: Unconfined}}}]}`, []string{"container: app"}},

		{"hostPath not allowed", "allowed-host-paths-v4", map[string]any{"allowedHostPaths": []any{}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {volumes: [{name: h, hostPath: {path: /etc}}], containers: [{name: app, image: x, volumeMounts: [{name: h, mountPath: /h}]}]}`, []string{"HostPath volume"}},
		{"hostPath under allowed prefix, read-only", "allowed-host-paths-v4", map[string]any{"allowedHostPaths": []any{map[string]any{"pathPrefix": "/var/log", "readOnly": true}}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {volumes: [{name: h, hostPath: {path: /var/log/app}}], containers: [{name: app, image: x, volumeMounts: [{name: h, mountPath: /h, readOnly: true}]}]}`, nil},
		{"hostPath prefix compares by segment", "allowed-host-paths-v4", map[string]any{"allowedHostPaths": []any{map[string]any{"pathPrefix": "/var/log", "readOnly": false}}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {volumes: [{name: h, hostPath: {path: /var/logs}}], containers: [{name: app, image: x, volumeMounts: [{name: h, mountPath: /h}]}]}`, []string{"is not allowed"}},
		{"hostPath mounted writable", "allowed-host-paths-v4", map[string]any{"allowedHostPaths": []any{map[string]any{"pathPrefix": "/var/log", "readOnly": true}}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {volumes: [{name: h, hostPath: {path: /var/log}}], containers: [{name: app, image: x, volumeMounts: [{name: h, mountPath: /h}]}]}`, []string{"does not meet the readonly requirement"}},

		{"automount explicitly on", "block-automount-token-v2", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {automountServiceAccountToken: true, containers: [{name: app, image: x}]}`, []string{"Automounting service account token is disallowed, pod: x"}},
		{"token mounted by the ServiceAccount plugin", "block-automount-token-v2", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, volumeMounts: [{name: kube-api-access-abcde, mountPath: /var/run/secrets/kubernetes.io/serviceaccount, readOnly: true}]}], volumes: [{name: kube-api-access-abcde, projected: {sources: []}}]}`, []string{"pod: x"}},
		{"automount off", "block-automount-token-v2", nil, "Pod", hardenedPod, nil},

		{"volume types allowed", "allowed-volume-types-v2", map[string]any{"volumes": []any{"configMap", "emptyDir", "projected", "secret"}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {volumes: [{name: s}], containers: [{name: app, image: x, volumeMounts: [{name: s, mountPath: /s}]}]}`, nil},
		{"hostPath volume type denied", "allowed-volume-types-v2", map[string]any{"volumes": []any{"configMap", "emptyDir"}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {volumes: [{name: h, hostPath: {path: /}}], containers: [{name: app, image: x, volumeMounts: [{name: h, mountPath: /h}]}]}`, []string{"The volume type hostPath is not allowed, pod: x"}},

		{"non-root by runAsNonRoot", "allowed-users-groups-v3", map[string]any{"runAsUser": map[string]any{"rule": "MustRunAsNonRoot"}}, "Pod", hardenedPod, nil},
		{"root user", "allowed-users-groups-v3", map[string]any{"runAsUser": map[string]any{"rule": "MustRunAsNonRoot"}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: x, securityContext: {runAsUser: 0}}]}`, []string{"Container app is attempting to run as disallowed user 0"}},
		{"no user at all", "allowed-users-groups-v3", map[string]any{"runAsUser": map[string]any{"rule": "MustRunAsNonRoot"}}, "Pod", plainPod, []string{"Container app is attempting to run without a required securityContext/runAsNonRoot or securityContext/runAsUser != 0"}},
		{"group outside range", "allowed-users-groups-v3", map[string]any{"runAsGroup": map[string]any{"rule": "MustRunAs", "ranges": []any{map[string]any{"min": 1, "max": 65535}}}}, "Pod", `
metadata: {name: x, namespace: prod}
spec: {securityContext: {runAsGroup: 0}, containers: [{name: app, image: x}]}`, []string{"Container app is attempting to run as disallowed group 0"}},
		{"group inside range", "allowed-users-groups-v3", map[string]any{"runAsGroup": map[string]any{"rule": "MustRunAs", "ranges": []any{map[string]any{"min": 1, "max": 65535}}}}, "Pod", hardenedPod, nil},

		{"latest tag", "container-no-latest-image-v2", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: "contoso.azurecr.io/web:latest"}]}`, []string{"uses the latest tag"}},
		{"no tag pulls latest", "container-no-latest-image-v2", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: "localhost:5000/web"}]}`, []string{"uses the latest tag"}},
		{"pinned tag", "container-no-latest-image-v2", nil, "Pod", plainPod, nil},
		{"digest", "container-no-latest-image-v2", nil, "Pod", `
metadata: {name: x, namespace: prod}
spec: {containers: [{name: app, image: "contoso.azurecr.io/web@sha256:0123"}]}`, nil},

		{"public load balancer", "load-balancer-no-public-ips-v1", nil, "Service", `
metadata: {name: web, namespace: prod}
spec: {type: LoadBalancer, ports: [{port: 80}]}`, []string{"Load Balancers should not have public IPs. azure-load-balancer-internal annotation is required for web"}},
		{"internal load balancer", "load-balancer-no-public-ips-v1", nil, "Service", `
metadata: {name: web, namespace: prod, annotations: {service.beta.kubernetes.io/azure-load-balancer-internal: "true"}}
spec: {type: LoadBalancer, ports: [{port: 80}]}`, nil},
		// The API server defaults spec.type to ClusterIP before the webhook.
		{"ClusterIP service", "load-balancer-no-public-ips-v1", nil, "Service", `
metadata: {name: web, namespace: prod}
spec: {type: ClusterIP, ports: [{port: 80}]}`, nil},

		{"nginx ingress without TLS", "ingress-https-only-v2", nil, "Ingress", `
metadata: {name: web, namespace: prod}
spec: {ingressClassName: nginx, rules: [{host: a.example}]}`, []string{"Ingress should allow https only"}},
		{"nginx ingress with TLS and redirect", "ingress-https-only-v2", nil, "Ingress", `
metadata: {name: web, namespace: prod, annotations: {nginx.ingress.kubernetes.io/force-ssl-redirect: "true"}}
spec: {ingressClassName: nginx, tls: [{hosts: [a.example], secretName: t}]}`, nil},
		{"other controller not judged", "ingress-https-only-v2", nil, "Ingress", `
metadata: {name: web, namespace: prod}
spec: {ingressClassName: traefik}`, nil},

		{"default namespace", "block-default-namespace-v1", nil, "Pod", `
metadata: {name: x, namespace: default}
spec: {containers: [{name: app, image: x}]}`, []string{"Usage of the default namespace is not allowed, name: x, kind: Pod"}},
		{"kubernetes service in default is allowed", "block-default-namespace-v1", nil, "Service", `
metadata: {name: kubernetes, namespace: default}
spec: {ports: [{port: 443}]}`, nil},
		{"other namespace", "block-default-namespace-v1", nil, "Pod", plainPod, nil},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.tmpl] = true
		t.Run(tc.name, func(t *testing.T) {
			got := reviewWith(t, tc.tmpl, tc.params, tc.kind, tc.obj)
			if len(got) != len(tc.want) {
				t.Fatalf("%s: got %d violations %q, want %d %q", tc.tmpl, len(got), got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
	for _, n := range TemplateNames() {
		if !covered[n] {
			t.Errorf("template %s has no behaviour test", n)
		}
	}
}
