package gkdiff

import (
	"context"
	"fmt"
	"math/rand"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/azurepolicy"
	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/snapshot"
)

// azureAssignments are sets of Azure Policy assignments of every built-in
// akssec ships a template for (and the two pod-security initiatives), with
// parameters chosen to reach the templates' edge cases.
func azureAssignments() map[string][]*azure.PolicyAssignment {
	defs := func(effect string, params map[string]map[string]any, scope map[string]any) []*azure.PolicyAssignment {
		var out []*azure.PolicyAssignment
		for _, d := range azurepolicy.Definitions {
			p := map[string]azure.ParameterValue{"effect": {Value: effect}}
			for k, v := range scope {
				p[k] = azure.ParameterValue{Value: v}
			}
			for k, v := range params[d.Name] {
				p[k] = azure.ParameterValue{Value: v}
			}
			out = append(out, &azure.PolicyAssignment{ID: "/a/" + effect + "/" + d.Name, Name: d.Name, DisplayName: d.DisplayName,
				PolicyDefinitionID: "/providers/Microsoft.Authorization/policyDefinitions/" + d.ID, Parameters: p})
		}
		return out
	}
	strict := map[string]map[string]any{
		"ContainerAllowedImages":          {"allowedContainerImagesRegex": `^contoso\.azurecr\.io/.+$`},
		"ContainerResourceLimits":         {"cpuLimit": "2", "memoryLimit": "2Gi"},
		"ContainerDisallowedCapabilities": {"disallowedCapabilities": []any{"SYS_ADMIN", "NET_ADMIN"}},
		"AllowedHostPaths":                {"allowedHostPaths": map[string]any{"paths": []any{map[string]any{"pathPrefix": "/var/log", "readOnly": true}, map[string]any{"pathPrefix": "/tmp", "readOnly": false}}}},
		"ContainerAllowedCapabilities":    {"allowedCapabilities": []any{"NET_BIND_SERVICE", "CHOWN"}, "requiredDropCapabilities": []any{"ALL"}},
		"HostNetworkPorts":                {"allowHostNetwork": false, "allowedHostPorts": []any{80, 443}},
		"AllowedUsersGroups": {
			"runAsUserRule": "MustRunAs", "runAsUserRanges": map[string]any{"ranges": []any{map[string]any{"min": 1000, "max": 2000}}},
			"runAsGroupRule": "MayRunAs", "runAsGroupRanges": map[string]any{"ranges": []any{map[string]any{"min": 100, "max": 200}}},
			"supplementalGroupsRule": "MustRunAs", "supplementalGroupsRanges": map[string]any{"ranges": []any{map[string]any{"min": 100, "max": 200}}},
			"fsGroupRule": "MustRunAs", "fsGroupRanges": map[string]any{"ranges": []any{map[string]any{"min": 1, "max": 65535}}},
		},
		"ContainerNoPrivilegeEscalation": {"forcePrivilegeEscalationToBeFalse": true},
		"AllowedSeccompProfile":          {"allowedProfiles": []any{"runtime/default", "localhost/*"}},
		"EnforceAppArmorProfile":         {"allowedProfiles": []any{"runtime/default", "localhost/allowed"}},
	}
	lax := map[string]map[string]any{
		// unanchored, as in the contoso example
		"ContainerAllowedImages":          {"allowedContainerImagesRegex": `contoso.azurecr.io/.+`},
		"ContainerResourceLimits":         {"cpuLimit": "1000m", "memoryLimit": "1024Mi"},
		"ContainerDisallowedCapabilities": {"disallowedCapabilities": []any{"ALL"}},
		"AllowedHostPaths":                {"allowedHostPaths": map[string]any{"paths": []any{map[string]any{"pathPrefix": "/var/log/", "readOnly": false}}}},
		"ContainerAllowedCapabilities":    {"allowedCapabilities": []any{"*"}},
		"HostNetworkPorts":                {"allowHostNetwork": true, "allowedHostPorts": []any{8080, 8500}},
		"AllowedUsersGroups": {
			"runAsUserRule": "MustRunAsNonRoot", "runAsGroupRule": "MustRunAs", "runAsGroupRanges": map[string]any{"ranges": []any{map[string]any{"min": 0, "max": 0}}},
		},
		"AllowedSeccompProfile":  {"allowedProfiles": []any{"*"}},
		"EnforceAppArmorProfile": {"allowedProfiles": []any{"runtime/default", "unconfined"}},
		"AllowedVolumeTypes":     {"allowedVolumeTypes": []any{"*"}},
	}
	excluded := map[string]any{
		"excludedContainers": []any{"sidecar", "istio-proxy"},
		"excludedImages":     []any{"mcr.microsoft.com/oss/*", "docker.io/library/busybox:1.36"},
	}
	scoped := map[string]any{"namespaces": []any{"prod", "team"}, "labelSelector": map[string]any{"matchExpressions": []any{map[string]any{"key": "tier", "operator": "NotIn", "values": []any{"system"}}}}}
	for _, m := range []map[string]map[string]any{lax} {
		for k := range m {
			for ek, ev := range excluded {
				if _, ok := m[k][ek]; !ok {
					m[k][ek] = ev
				}
			}
		}
	}
	initiative := func(id string, effect string) *azure.PolicyAssignment {
		return &azure.PolicyAssignment{ID: "/a/ini/" + id, Name: "ini-" + id, PolicyDefinitionID: "/providers/Microsoft.Authorization/policySetDefinitions/" + id,
			Parameters: map[string]azure.ParameterValue{"effect": {Value: effect}}}
	}
	return map[string][]*azure.PolicyAssignment{
		"builtins deny, strict parameters":              defs("Deny", strict, nil),
		"builtins audit, lax parameters and exclusions": defs("Audit", lax, excluded),
		"builtins deny, defaults, scoped":               defs("Deny", nil, scoped),
		"pod security baseline initiative":              {initiative("a8640138-9b0a-4a28-b8cb-1666c838647d", "Deny")},
		"pod security restricted initiative":            {initiative("42b8ef37-b724-4e24-bbc8-7a7708edfe00", "Audit")},
	}
}

var (
	images = []string{
		"contoso.azurecr.io/web:1.2.3", "contoso.azurecr.io/web", "contoso.azurecr.io/web:latest", "contoso.azurecr.io/web@sha256:" + sha,
		"contoso.azurecr.io/web:1.0@sha256:" + sha, "docker.io/library/busybox:1.36", "docker.io/library/busybox:latest", "nginx", "nginx:LATEST",
		"mcr.microsoft.com/oss/nginx/nginx:1.25", "mcr.microsoft.com/oss/nginx/nginx", "evil.io/contoso.azurecr.io/x:1", "localhost:5000/app:latest",
		"localhost:5000/app", "contoso.azurecr.io:443/web:2", "CONTOSO.AZURECR.IO/web:1",
	}
	cpus     = []string{"1000m", "0.5", "2", "3", "2.5", "100m", "2001m", "1", "0.001", "1500m", "4000m"}
	memories = []string{"1Gi", "1024Mi", "2Gi", "3Gi", "2049Mi", "1G", "500M", "0.5Gi", "2147483648", "2Gi", "1025Mi", "128974848", "129e6", "123Mi"}
	caps     = []corev1.Capability{"SYS_ADMIN", "NET_ADMIN", "NET_BIND_SERVICE", "CAP_SYS_ADMIN", "ALL", "CHOWN", "NET_RAW", "all", "sys_admin"}
	hostPath = []string{"/var/log", "/var/log/app", "/var/logs", "/etc", "/tmp", "/", "/var/log/", "/tmp/x"}
	names    = []string{"app", "sidecar", "istio-proxy", "worker", "debug"}
)

const sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

func maybeBool(r *rand.Rand) *bool {
	switch r.Intn(3) {
	case 0:
		return nil
	case 1:
		t := true
		return &t
	}
	f := false
	return &f
}

func maybeInt(r *rand.Rand, xs ...int64) *int64 {
	if r.Intn(3) == 0 {
		return nil
	}
	v := xs[r.Intn(len(xs))]
	return &v
}

func randomContainer(r *rand.Rand, name string) corev1.Container {
	c := corev1.Container{Name: name, Image: pick(r, images)}
	if r.Intn(4) > 0 {
		c.Resources.Limits = corev1.ResourceList{}
		if r.Intn(5) > 0 {
			c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse(pick(r, cpus))
		}
		if r.Intn(5) > 0 {
			c.Resources.Limits[corev1.ResourceMemory] = resource.MustParse(pick(r, memories))
		}
	}
	if r.Intn(5) > 0 {
		sc := &corev1.SecurityContext{Privileged: maybeBool(r), AllowPrivilegeEscalation: maybeBool(r), ReadOnlyRootFilesystem: maybeBool(r),
			RunAsUser: maybeInt(r, 0, 1000, 1500, 3000), RunAsGroup: maybeInt(r, 0, 150, 300), RunAsNonRoot: maybeBool(r)}
		if r.Intn(2) == 0 {
			sc.Capabilities = &corev1.Capabilities{}
			for i := r.Intn(3); i > 0; i-- {
				sc.Capabilities.Add = append(sc.Capabilities.Add, pick(r, caps))
			}
			for i := r.Intn(3); i > 0; i-- {
				sc.Capabilities.Drop = append(sc.Capabilities.Drop, pick(r, caps))
			}
		}
		switch r.Intn(5) {
		case 0:
			sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		case 1:
			sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		case 2:
			p := "profiles/audit.json"
			sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &p}
		}
		switch r.Intn(5) {
		case 0:
			sc.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeRuntimeDefault}
		case 1:
			sc.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeUnconfined}
		case 2:
			p := pick(r, []string{"allowed", "other"})
			sc.AppArmorProfile = &corev1.AppArmorProfile{Type: corev1.AppArmorProfileTypeLocalhost, LocalhostProfile: &p}
		}
		c.SecurityContext = sc
	}
	if r.Intn(3) == 0 {
		c.Ports = []corev1.ContainerPort{{ContainerPort: 8080, HostPort: int32(pick(r, []int{0, 80, 443, 8080, 8500, 9001, 22}))}}
	}
	return c
}

// randomPod is a pod whose every field a shipped template reads takes a
// value at, inside or outside the parameters' limits, or is missing.
func randomPod(r *rand.Rand, i int) *corev1.Pod {
	p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: pick(r, []string{"prod", "team", "default", "kube-system", "azure-extensions-usage-system"}),
			Labels: map[string]string{"app": "web"}}}
	if r.Intn(5) == 0 {
		p.Labels["tier"] = "system"
	}
	n := 1 + r.Intn(3)
	for j := 0; j < n; j++ {
		p.Spec.Containers = append(p.Spec.Containers, randomContainer(r, names[(i+j)%len(names)]))
	}
	if r.Intn(3) == 0 {
		p.Spec.InitContainers = append(p.Spec.InitContainers, randomContainer(r, "init"))
	}
	if r.Intn(5) == 0 {
		ec := randomContainer(r, "debugger")
		ec.Resources = corev1.ResourceRequirements{}
		ec.Ports = nil
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon(ec)})
	}
	p.Spec.HostNetwork = r.Intn(5) == 0
	p.Spec.HostPID = r.Intn(6) == 0
	p.Spec.HostIPC = r.Intn(6) == 0
	p.Spec.AutomountServiceAccountToken = maybeBool(r)
	if r.Intn(2) == 0 {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: maybeInt(r, 0, 1000, 5000), RunAsGroup: maybeInt(r, 0, 150), RunAsNonRoot: maybeBool(r),
			FSGroup: maybeInt(r, 0, 2000, 70000)}
		if r.Intn(2) == 0 {
			p.Spec.SecurityContext.SupplementalGroups = []int64{pick(r, []int64{0, 150, 500})}
		}
		if r.Intn(3) == 0 {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: pick(r, []corev1.SeccompProfileType{corev1.SeccompProfileTypeRuntimeDefault, corev1.SeccompProfileTypeUnconfined})}
		}
	}
	if r.Intn(4) == 0 {
		p.Annotations = map[string]string{}
		switch r.Intn(3) {
		case 0:
			p.Annotations["container.apparmor.security.beta.kubernetes.io/"+p.Spec.Containers[0].Name] = pick(r, []string{"runtime/default", "localhost/allowed", "unconfined"})
		case 1:
			p.Annotations["seccomp.security.alpha.kubernetes.io/pod"] = pick(r, []string{"runtime/default", "docker/default", "unconfined", "localhost/x"})
		default:
			p.Annotations["container.seccomp.security.alpha.kubernetes.io/"+p.Spec.Containers[0].Name] = pick(r, []string{"runtime/default", "unconfined"})
		}
	}
	switch r.Intn(8) {
	case 0:
		p.Spec.NodeSelector = map[string]string{"kubernetes.io/os": "windows"}
	case 1:
		p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
	}
	for v := r.Intn(3); v > 0; v-- {
		name := fmt.Sprintf("v%d", v)
		var vs corev1.VolumeSource
		switch r.Intn(6) {
		case 0, 1:
			vs.HostPath = &corev1.HostPathVolumeSource{Path: pick(r, hostPath)}
		case 2:
			vs.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}
		case 3:
			vs.NFS = &corev1.NFSVolumeSource{Server: "nfs", Path: "/"}
		case 4:
			vs.EmptyDir = &corev1.EmptyDirVolumeSource{}
		default:
			vs.Secret = &corev1.SecretVolumeSource{SecretName: "s"}
		}
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: vs})
		c := &p.Spec.Containers[r.Intn(len(p.Spec.Containers))]
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: name, MountPath: "/m/" + name, ReadOnly: r.Intn(2) == 0})
	}
	return p
}

// azureObjects are the objects the shipped templates are compared on: a
// seeded set of random pods, a few hand-written edge cases, and the
// Services, Ingresses and ServiceAccounts of the non-pod templates.
func azureObjects(t *testing.T) []*unstructured.Unstructured {
	r := rand.New(rand.NewSource(1))
	var out []*unstructured.Unstructured
	add := func(v any) {
		m := jsonRoundTrip(v)
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	for i := 0; i < 400; i++ {
		p := randomPod(r, i)
		snapshot.DefaultPodSpec(&p.Spec)
		add(p)
	}
	tr, f := true, false
	// Hand-written edges: no limits at all; limits exactly at the maximum
	// in other units; a privileged init container only.
	edge := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "no-limits", Namespace: "prod"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/web:1"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "at-limit", Namespace: "prod"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/web:1",
			Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2000m"), corev1.ResourceMemory: resource.MustParse("2048Mi")}}}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "privileged-init", Namespace: "prod"}, Spec: corev1.PodSpec{AutomountServiceAccountToken: &f,
			InitContainers: []corev1.Container{{Name: "init", Image: "docker.io/library/busybox:1.36", SecurityContext: &corev1.SecurityContext{Privileged: &tr}}},
			Containers:     []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/web:1"}}}},
	}
	for _, p := range edge {
		p.APIVersion, p.Kind = "v1", "Pod"
		snapshot.DefaultPodSpec(&p.Spec)
		add(p)
	}
	for i, svc := range []corev1.ServiceSpec{
		{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}},
		{Type: corev1.ServiceTypeClusterIP, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
		{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
	} {
		for j, ann := range []map[string]string{nil, {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}, {"service.beta.kubernetes.io/azure-load-balancer-internal": "false"}} {
			for _, ns := range []string{"prod", "default"} {
				add(&corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"}, ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d-%d", i, j), Namespace: ns, Annotations: ann}, Spec: svc})
			}
		}
	}
	for i, ing := range []struct {
		tls bool
		ann map[string]string
	}{{false, nil}, {true, nil}, {true, map[string]string{"kubernetes.io/ingress.allow-http": "false"}}, {false, map[string]string{"kubernetes.io/ingress.allow-http": "false"}}, {true, map[string]string{"kubernetes.io/ingress.allow-http": "true"}}} {
		in := &networkingv1.Ingress{TypeMeta: metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "Ingress"}, ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ing-%d", i), Namespace: "prod", Annotations: ing.ann},
			Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{Host: "a.contoso.com"}}}}
		if ing.tls {
			in.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"a.contoso.com"}, SecretName: "tls"}}
		}
		add(in)
	}
	for _, ns := range []string{"default", "prod"} {
		add(&corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: metav1.ObjectMeta{Name: "sa", Namespace: ns}})
	}
	return out
}

func azureNamespaces() map[string]*corev1.Namespace {
	out := map[string]*corev1.Namespace{}
	for _, n := range []string{"prod", "team", "default", "kube-system", "azure-extensions-usage-system"} {
		out[n] = &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{corev1.LabelMetadataName: n}}}
	}
	return out
}

// TestAzureTemplates runs the templates akssec ships for the Azure Policy
// built-ins, with the constraints akssec makes from assignments, through
// both engines, with akssec's Go prefilters on, as the admission layer
// runs them.
func TestAzureTemplates(t *testing.T) {
	ctx := context.Background()
	objs := azureObjects(t)
	nss := azureNamespaces()
	var reqs []*request
	for i, u := range objs {
		reqs = append(reqs, newRequest(u, nss))
		if u.GetKind() == "Pod" && i%10 == 0 { // some also as Gatekeeper's expansion generates them
			g := newRequest(u, nss)
			g.Generated = true
			reqs = append(reqs, g)
		}
	}
	var total tally
	used := map[string]bool{}
	for name, as := range azureAssignments() {
		set, err := azurepolicy.Build(as, azurepolicy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range set.Skipped {
			t.Errorf("%s: assignment %s skipped: %s", name, s.Assignment.Name, s.Reason)
		}
		ts, cs := set.Items()
		ps := policySet{name: name, opts: gatekeeper.Options{Prefilters: azurepolicy.Prefilters()}}
		for _, it := range ts {
			ps.templates = append(ps.templates, it.Obj)
			used[it.Obj.GetName()] = true
		}
		for _, it := range cs {
			c := it.Obj.DeepCopy()
			if len(c.GetName()) > 63 {
				// Gatekeeper's constraint CRD caps metadata.name at 63 bytes.
				t.Errorf("%s: constraint %s/%s: name over 63 bytes", name, c.GetKind(), c.GetName())
			}
			ps.constraints = append(ps.constraints, c)
		}
		n := compare(t, ctx, ps, reqs)
		logTally(t, name, n)
		total.add(n)
	}
	logTally(t, "azure templates", total)
	if len(used) != len(azurepolicy.TemplateNames()) {
		t.Errorf("%d of the %d shipped templates compared: %v", len(used), len(azurepolicy.TemplateNames()), used)
	}
	if total.violating < 500 || total.violations < 1500 {
		t.Errorf("compared too little: %d violating reviews, %d violations", total.violating, total.violations)
	}
}
