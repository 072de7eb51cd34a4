package workloadid

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/env"
)

// The proxy images the AKS add-on configures its webhook with. The
// repositories are the project's; the tag is representative (UNVERIFIED:
// the add-on pins its own version, which the snapshot does not show).
const (
	AddonProxyImage     = "mcr.microsoft.com/oss/azure/workload-identity/proxy:v1.5.1"
	AddonProxyInitImage = "mcr.microsoft.com/oss/azure/workload-identity/proxy-init:v1.5.1"
)

// AdmissionHook returns the workload identity webhook as the cluster of e
// runs it, for admission to apply before Pod Security and Gatekeeper (the
// API server calls mutating webhooks first): nil when the cluster does not
// enable workload identity. Pods the webhook's objectSelector does not
// select pass unchanged and silently, as they are never sent to it; a pod
// whose ServiceAccount is missing is left to the ServiceAccount admission
// plugin, which refuses it before any webhook runs.
func AdmissionHook(e *env.Environment) func(*corev1.Pod) (*corev1.Pod, []string, error) {
	c := e.Cluster
	if c == nil || c.SecurityProfile == nil || c.SecurityProfile.WorkloadIdentity == nil || !c.SecurityProfile.WorkloadIdentity.Enabled {
		return nil
	}
	cfg := WebhookConfig{Layout: LayoutV16, ProxyImage: AddonProxyImage, ProxyInitImage: AddonProxyInitImage,
		NativeSidecar: atLeast(c.KubernetesVersion, 1, 32)}
	if c.AADProfile != nil {
		cfg.TenantID = c.AADProfile.TenantID
	}
	return func(pod *corev1.Pod) (*corev1.Pod, []string, error) {
		if ok, _ := Selected(pod); !ok {
			return pod, nil, nil
		}
		sa := e.ServiceAccount(pod.Namespace, pod.Spec.ServiceAccountName)
		if sa == nil {
			return pod, nil, nil
		}
		return Mutate(pod, sa.Obj, cfg)
	}
}

// atLeast reports whether a Kubernetes version "1.33.4" is at least
// major.minor; an unparsable version counts as current.
func atLeast(v string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 2 {
		return true
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return ma > major || ma == major && mi >= minor
}
