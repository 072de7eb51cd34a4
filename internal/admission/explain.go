package admission

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/podsecurity"
)

// Inventory builds data.inventory from the snapshot as Gatekeeper's sync
// does: data.inventory.cluster[groupVersion][kind][name] and
// data.inventory.namespace[ns][groupVersion][kind][name].
func Inventory(e *env.Environment) (map[string]any, error) {
	inv := map[string]any{"cluster": map[string]any{}, "namespace": map[string]any{}}
	for _, o := range e.Snapshot.Objects {
		var m map[string]any
		if u, ok := o.Typed.(*unstructured.Unstructured); ok {
			m = u.Object
		} else {
			var err error
			if m, err = gatekeeper.ToMap(o.Typed); err != nil {
				return nil, fmt.Errorf("%s: %w", o.Loc, err)
			}
		}
		gatekeeper.AddToInventory(inv, o.APIVersion, o.Kind, o.Namespace, o.Name, m)
	}
	return inv, nil
}

// fieldInfo says where a template looks: Container is the field inside a
// container, Pod the pod-level field.
type fieldInfo struct {
	Container string
	Pod       string
	Fix       string
}

var templateFields = map[string]fieldInfo{
	"container-no-privilege":            {"securityContext.privileged", "", "remove securityContext.privileged (or set it to false); a debugging pod belongs in a namespace excluded from the policy, reached with kubectl debug"},
	"container-no-privilege-escalation": {"securityContext.allowPrivilegeEscalation", "", "set securityContext.allowPrivilegeEscalation: false"},
	"container-resource-limits":         {"resources.limits", "", "set resources.limits.cpu and resources.limits.memory within the assignment's cpuLimit and memoryLimit"},
	"container-allowed-images":          {"image", "", "pull the image from an allowed registry (push it to your ACR, e.g. az acr import), or have the assignment's allowedContainerImagesRegex allow it — anchored, like ^contoso\\.azurecr\\.io/.+$"},
	"host-network-ports":                {"ports", "spec.hostNetwork", "remove spec.hostNetwork and hostPort, or use a Service"},
	"block-host-namespace":              {"", "spec.hostPID", "remove spec.hostPID and spec.hostIPC"},
	"read-only-root-filesystem":         {"securityContext.readOnlyRootFilesystem", "", "set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the process writes"},
	"container-allowed-capabilities":    {"securityContext.capabilities", "", "add only the allowed capabilities and drop the required ones (drop: [ALL])"},
	"container-disallowed-capabilities": {"securityContext.capabilities.add", "", "remove the capability from securityContext.capabilities.add"},
	"allowed-seccomp-profiles":          {"securityContext.seccompProfile", "spec.securityContext.seccompProfile", "set spec.securityContext.seccompProfile.type: RuntimeDefault"},
	"enforce-apparmor-profile":          {"securityContext.appArmorProfile", "", "set securityContext.appArmorProfile.type: RuntimeDefault"},
	"allowed-host-paths":                {"volumeMounts", "spec.volumes", "use a volume type other than hostPath, or a path under an allowed prefix mounted readOnly"},
	"block-automount-token":             {"", "spec.automountServiceAccountToken", "set spec.automountServiceAccountToken: false (and on the ServiceAccount)"},
	"allowed-volume-types":              {"", "spec.volumes", "use only the allowed volume types"},
	"allowed-users-groups":              {"securityContext.runAsUser", "spec.securityContext", "set securityContext.runAsNonRoot: true and a non-zero runAsUser/runAsGroup/fsGroup within the allowed ranges"},
	"container-no-latest-image":         {"image", "", "pin the image by tag (not latest) or digest"},
	"load-balancer-no-public-ips":       {"", `metadata.annotations["service.beta.kubernetes.io/azure-load-balancer-internal"]`, `annotate the Service service.beta.kubernetes.io/azure-load-balancer-internal: "true"`},
	"ingress-https-only":                {"", "spec.tls", "add spec.tls (and nginx.ingress.kubernetes.io/force-ssl-redirect: \"true\" for NGINX)"},
	"block-default-namespace":           {"", "metadata.namespace", "deploy into a namespace of its own"},
}

func templateKey(tmplFile string) string {
	if i := strings.LastIndex(tmplFile, "-v"); i > 0 {
		return tmplFile[:i]
	}
	return tmplFile
}

func templateField(tmplFile string) fieldInfo { return templateFields[templateKey(tmplFile)] }

func templateFix(tmplFile string) string {
	if f, ok := templateFields[templateKey(tmplFile)]; ok {
		return f.Fix
	}
	return "change the object so that the constraint's template no longer reports it, or exclude it in the constraint's match"
}

// containerRef is a container with its list and index.
type containerRef struct {
	c     *corev1.Container
	field string // spec.containers[0]
}

func containersOf(spec *corev1.PodSpec) []containerRef {
	var out []containerRef
	for i := range spec.InitContainers {
		out = append(out, containerRef{&spec.InitContainers[i], fmt.Sprintf("spec.initContainers[%d]", i)})
	}
	for i := range spec.Containers {
		out = append(out, containerRef{&spec.Containers[i], fmt.Sprintf("spec.containers[%d]", i)})
	}
	for i := range spec.EphemeralContainers {
		out = append(out, containerRef{(*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon), fmt.Sprintf("spec.ephemeralContainers[%d]", i)})
	}
	return out
}

// locate finds the container a violation message names (the longest
// container name it mentions) and the field the template checks.
func locate(msg string, spec *corev1.PodSpec, f fieldInfo) (container, field string) {
	var best *containerRef
	for _, r := range containersOf(spec) {
		r := r
		if r.c.Name != "" && strings.Contains(msg, r.c.Name) && (best == nil || len(r.c.Name) > len(best.c.Name)) {
			best = &r
		}
	}
	if best != nil && f.Container != "" {
		return best.c.Name, best.field + "." + f.Container
	}
	if best != nil && f.Pod == "" {
		return best.c.Name, best.field
	}
	if best != nil {
		return best.c.Name, f.Pod
	}
	return "", f.Pod
}

// psaFields maps the PSA library's forbidden reasons to the field and fix.
var psaFields = []struct {
	reason    string
	container string
	pod       string
	fix       string
}{
	{"allowPrivilegeEscalation != false", "securityContext.allowPrivilegeEscalation", "", "set securityContext.allowPrivilegeEscalation: false"},
	{"unrestricted capabilities", "securityContext.capabilities", "", "set securityContext.capabilities.drop: [\"ALL\"] and add at most NET_BIND_SERVICE"},
	{"non-default capabilities", "securityContext.capabilities.add", "", "add only the baseline capabilities (NET_RAW is not one)"},
	{"runAsNonRoot != true", "securityContext.runAsNonRoot", "spec.securityContext.runAsNonRoot", "set spec.securityContext.runAsNonRoot: true (and a non-zero runAsUser, or an image whose USER is numeric and not 0)"},
	{"runAsUser=0", "securityContext.runAsUser", "spec.securityContext.runAsUser", "set runAsUser to a non-zero UID"},
	{"seccompProfile", "securityContext.seccompProfile", "spec.securityContext.seccompProfile", "set spec.securityContext.seccompProfile.type: RuntimeDefault"},
	{"privileged", "securityContext.privileged", "", "remove securityContext.privileged"},
	{"host namespaces", "", "spec.hostNetwork", "remove spec.hostNetwork, spec.hostPID and spec.hostIPC"},
	{"hostPath volumes", "", "spec.volumes", "replace hostPath volumes"},
	{"restricted volume types", "", "spec.volumes", "use only configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected and secret volumes"},
	{"hostPort", "ports", "", "remove hostPort"},
	{"procMount", "securityContext.procMount", "", "remove securityContext.procMount (Default)"},
	{"forbidden sysctls", "", "spec.securityContext.sysctls", "use only the safe sysctls"},
	{"seLinuxOptions", "securityContext.seLinuxOptions", "spec.securityContext.seLinuxOptions", "remove seLinuxOptions user/role and use an allowed type"},
	{"AppArmor", "securityContext.appArmorProfile", "", "use the RuntimeDefault or a Localhost AppArmor profile"},
	{"hostProcess", "securityContext.windowsOptions.hostProcess", "", "remove windowsOptions.hostProcess"},
	{"probe or lifecycle host", "", "", "remove the host of httpGet/tcpSocket probes and lifecycle handlers"},
}

func psaDenials(level string, v podsecurity.Violation, spec *corev1.PodSpec) []Denial {
	var fi = struct{ container, pod, fix string }{}
	for _, f := range psaFields {
		if strings.Contains(v.Reason, f.reason) {
			fi.container, fi.pod, fi.fix = f.container, f.pod, f.fix
			break
		}
	}
	msg := v.Reason
	if v.Detail != "" {
		msg += " (" + v.Detail + ")"
	}
	if len(v.Containers) == 0 {
		return []Denial{{Layer: LayerPodSecurity, Policy: level, Field: fi.pod, Message: msg, Fix: fi.fix}}
	}
	refs := map[string]string{}
	for _, r := range containersOf(spec) {
		refs[r.c.Name] = r.field
	}
	var out []Denial
	for _, c := range v.Containers {
		field := fi.pod
		if fi.container != "" && refs[c] != "" {
			field = refs[c] + "." + fi.container
		}
		out = append(out, Denial{Layer: LayerPodSecurity, Policy: level, Container: c, Field: field, Message: msg, Fix: fi.fix})
	}
	return out
}
