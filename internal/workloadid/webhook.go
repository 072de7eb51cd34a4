package workloadid

import (
	"crypto/sha256"
	"fmt"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// WebhookName is the mutating webhook's name; the API server names it in
// the errors it returns for a rejected pod.
const WebhookName = "mutation.azure-workload-identity.io"

// Layout is the webhook version's projected token layout.
type Layout string

// The layouts: v1.5.x and v1.6.0+ (commit d878231, PR #1720).
const (
	LayoutV15 Layout = "v1.5"
	LayoutV16 Layout = "v1.6"
)

// Layout constants.
const (
	v15VolumeName   = "azure-identity-token"
	v15MountPath    = "/var/run/secrets/azure/tokens"
	v15TokenPath    = "azure-identity-token"
	v16VolumePrefix = "azure-workload-identity-reserved-"
	v16MountPath    = "/var/run/secrets/azure/wi"
	v16TokenPath    = "token/azure-identity-token"

	ProxyInitContainerName    = "azwi-proxy-init"
	ProxySidecarContainerName = "azwi-proxy"
	ProxyPortEnvVar           = "PROXY_PORT"
)

// WebhookConfig is how the webhook is deployed.
type WebhookConfig struct {
	// Layout selects the token volume layout (default v1.6).
	Layout Layout
	// TenantID is the webhook's AZURE_TENANT_ID (ConfigMap
	// azure-wi-webhook-config), used when the ServiceAccount has no
	// tenant-id annotation.
	TenantID string
	// AuthorityHost is AZURE_AUTHORITY_HOST (default
	// https://login.microsoftonline.com/ for AzurePublicCloud).
	AuthorityHost string
	// Audience of the projected token (default api://AzureADTokenExchange).
	Audience string
	// NativeSidecar is true when the API server is at least 1.32: the proxy
	// sidecar goes into initContainers with restartPolicy Always.
	NativeSidecar bool
	// ProxyImage and ProxyInitImage are the proxy images.
	ProxyImage, ProxyInitImage string
}

// WebhookError is the webhook's refusal (admission.Errored): the API server
// rejects the pod create with it, since the webhook fails closed.
type WebhookError struct {
	Code    int32
	Message string
}

func (e *WebhookError) Error() string {
	return fmt.Sprintf("admission webhook %q denied the request: %s", WebhookName, e.Message)
}

// Selected reports whether the webhook is called for the pod at all: the
// MutatingWebhookConfiguration's objectSelector matches only pods labelled
// azure.workload.identity/use: "true", and AKS's admissions enforcer
// excludes kube-system.
func Selected(pod *corev1.Pod) (bool, string) {
	if pod.Namespace == "kube-system" {
		return false, "pods in kube-system are not sent to the webhook (AKS admissions enforcer)"
	}
	if v, ok := pod.Labels[LabelUse]; !ok || v != "true" {
		return false, fmt.Sprintf("pod has no label %s: \"true\"; the webhook's objectSelector does not select it, so nothing is injected", LabelUse)
	}
	return true, ""
}

// Mutate returns the pod as the workload identity webhook mutates it, the
// warnings a user should see, or the error the webhook rejects the pod
// with. sa is the pod's ServiceAccount (nil when it does not exist; on a
// real API server the ServiceAccount admission plugin refuses such a pod
// before any webhook runs, so the webhook's own error is seen only when the
// plugin is off). A pod
// the webhook does not select is returned unchanged, with a warning. The
// input pod is not modified.
func Mutate(pod *corev1.Pod, sa *corev1.ServiceAccount, cfg WebhookConfig) (*corev1.Pod, []string, error) {
	if ok, why := Selected(pod); !ok {
		return pod, []string{why}, nil
	}
	if cfg.Layout == "" {
		cfg.Layout = LayoutV16
	}
	if cfg.Audience == "" {
		cfg.Audience = TokenExchangeAudience
	}
	if cfg.AuthorityHost == "" {
		cfg.AuthorityHost = DefaultAuthorityHost
	}
	out := pod.DeepCopy()
	podName := out.Name
	if podName == "" {
		podName = out.GenerateName + " (prefix)"
	}
	saName := out.Spec.ServiceAccountName
	if saName == "" {
		saName = "default"
	}
	if sa == nil {
		return nil, nil, &WebhookError{Code: 400, Message: fmt.Sprintf("serviceaccounts %q not found", saName)}
	}
	var warnings []string
	if _, inject := out.Annotations[AnnotationInjectProxySidecar]; inject {
		if out.Spec.HostNetwork {
			return nil, nil, &WebhookError{Code: 400, Message: "hostNetwork is set to true, cannot inject proxy sidecar"}
		}
		port := int64(DefaultProxySidecarPort)
		if s, ok := out.Annotations[AnnotationProxySidecarPort]; ok {
			p, err := strconv.ParseInt(s, 10, 32)
			if err != nil {
				return nil, nil, &WebhookError{Code: 400, Message: "failed to parse proxy sidecar port: " + err.Error()}
			}
			port = p
		}
		out.Spec.InitContainers = injectProxyInit(out.Spec.InitContainers, int32(port), cfg)
		if cfg.NativeSidecar {
			always := corev1.ContainerRestartPolicyAlways
			out.Spec.InitContainers = injectProxySidecar(out.Spec.InitContainers, int32(port), &always, cfg)
		} else {
			out.Spec.Containers = injectProxySidecar(out.Spec.Containers, int32(port), nil, cfg)
		}
		warnings = append(warnings, fmt.Sprintf("proxy sidecar injected: init container %s runs privileged as root with NET_ADMIN to redirect IMDS traffic", ProxyInitContainerName))
	}
	exp, err := TokenExpiration(out, sa)
	if err != nil {
		return nil, nil, &WebhookError{Code: 400, Message: err.Error()}
	}
	clientID := sa.Annotations[AnnotationClientID]
	tenantID, ok := sa.Annotations[AnnotationTenantID]
	if !ok {
		tenantID = cfg.TenantID
	}
	if clientID == "" {
		warnings = append(warnings, fmt.Sprintf("ServiceAccount %s/%s has no %s annotation: %s is not injected and the Azure SDK fails with \"no client ID specified. Check pod configuration or set ClientID in the options\"", out.Namespace, saName, AnnotationClientID, EnvClientID))
	}
	if tenantID == "" {
		warnings = append(warnings, fmt.Sprintf("no tenant ID (ServiceAccount annotation %s or the webhook's AZURE_TENANT_ID): %s is not injected", AnnotationTenantID, EnvTenantID))
	}
	skip := SkipContainers(out)
	volName, mountPath, tokenPath := layoutOf(cfg.Layout, podName)
	mutate := func(cs []corev1.Container) {
		for i := range cs {
			if skip[cs[i].Name] {
				continue
			}
			addEnv(&cs[i], []corev1.EnvVar{
				{Name: EnvClientID, Value: clientID},
				{Name: EnvTenantID, Value: tenantID},
				{Name: EnvFederatedTokenFile, Value: path.Join(mountPath, tokenPath)},
				{Name: EnvAuthorityHost, Value: cfg.AuthorityHost},
			})
			addMount(&cs[i], volName, mountPath, cfg.Layout)
		}
	}
	mutate(out.Spec.InitContainers)
	mutate(out.Spec.Containers)
	addVolume(out, volName, tokenPath, exp, cfg)
	return out, warnings, nil
}

// TokenExpiration is the projected token's expirationSeconds: the pod's
// annotation, else the ServiceAccount's, else 3600; it must lie in
// [3600, 86400].
func TokenExpiration(pod *corev1.Pod, sa *corev1.ServiceAccount) (int64, error) {
	exp := int64(DefaultTokenExpirationSeconds)
	var err error
	if s := pod.Annotations[AnnotationTokenExpiration]; s != "" {
		if exp, err = strconv.ParseInt(s, 10, 64); err != nil {
			return 0, err
		}
	} else if sa != nil && sa.Annotations[AnnotationTokenExpiration] != "" {
		if exp, err = strconv.ParseInt(sa.Annotations[AnnotationTokenExpiration], 10, 64); err != nil {
			return 0, err
		}
	}
	if exp < MinTokenExpirationSeconds || exp > MaxTokenExpirationSeconds {
		return 0, fmt.Errorf("token expiration %d not valid. Expected value to be between 3600 and 86400", exp)
	}
	return exp, nil
}

// SkipContainers is the set of containers named in the skip-containers
// annotation (";"-separated, trimmed).
func SkipContainers(pod *corev1.Pod) map[string]bool {
	s := pod.Annotations[AnnotationSkipContainers]
	if s == "" {
		return nil
	}
	out := map[string]bool{}
	for _, n := range strings.Split(s, ";") {
		out[strings.TrimSpace(n)] = true
	}
	return out
}

// VolumeName is the v1.6 reserved volume name for a pod name:
// the prefix and the first 30 hex characters of sha256(podName).
func VolumeName(podName string) string {
	sum := sha256.Sum256([]byte(podName))
	return v16VolumePrefix + fmt.Sprintf("%x", sum)[:63-len(v16VolumePrefix)]
}

func layoutOf(l Layout, podName string) (volume, mountPath, tokenPath string) {
	if l == LayoutV15 {
		return v15VolumeName, v15MountPath, v15TokenPath
	}
	return VolumeName(podName), v16MountPath, v16TokenPath
}

// TokenFile is AZURE_FEDERATED_TOKEN_FILE in a layout.
func TokenFile(l Layout) string {
	_, m, t := layoutOf(l, "")
	return path.Join(m, t)
}

func addEnv(c *corev1.Container, desired []corev1.EnvVar) {
	have := map[string]bool{}
	for _, e := range c.Env {
		have[e.Name] = true
	}
	for _, e := range desired {
		if !have[e.Name] && e.Value != "" {
			c.Env = append(c.Env, e)
		}
	}
}

func addMount(c *corev1.Container, name, mountPath string, l Layout) {
	vm := corev1.VolumeMount{Name: name, MountPath: mountPath, ReadOnly: true}
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == name {
			if l != LayoutV15 {
				c.VolumeMounts[i] = vm
			}
			return
		}
	}
	c.VolumeMounts = append(c.VolumeMounts, vm)
}

func addVolume(pod *corev1.Pod, name, tokenPath string, exp int64, cfg WebhookConfig) {
	if cfg.Layout == LayoutV15 {
		for _, v := range pod.Spec.Volumes {
			if v.Projected == nil {
				continue
			}
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil && s.ServiceAccountToken.Path == tokenPath {
					return
				}
			}
		}
	}
	e := exp
	vol := corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: tokenPath, ExpirationSeconds: &e, Audience: cfg.Audience}}},
	}}}
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			pod.Spec.Volumes[i] = vol
			return
		}
	}
	pod.Spec.Volumes = append(pod.Spec.Volumes, vol)
}

func injectProxyInit(cs []corev1.Container, port int32, cfg WebhookConfig) []corev1.Container {
	for _, c := range cs {
		if c.Name == ProxyInitContainerName {
			return cs
		}
	}
	t, f, root := true, false, int64(0)
	return append(cs, corev1.Container{
		Name: ProxyInitContainerName, Image: cfg.ProxyInitImage, ImagePullPolicy: corev1.PullIfNotPresent,
		SecurityContext: &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}, Drop: []corev1.Capability{"ALL"}},
			Privileged:   &t, RunAsNonRoot: &f, RunAsUser: &root,
		},
		Env: []corev1.EnvVar{{Name: ProxyPortEnvVar, Value: strconv.FormatInt(int64(port), 10)}},
	})
}

func injectProxySidecar(cs []corev1.Container, port int32, restart *corev1.ContainerRestartPolicy, cfg WebhookConfig) []corev1.Container {
	for _, c := range cs {
		if c.Name == ProxySidecarContainerName {
			return cs
		}
	}
	t, f := true, false
	sidecar := corev1.Container{
		Name: ProxySidecarContainerName, Image: cfg.ProxyImage, ImagePullPolicy: corev1.PullIfNotPresent,
		Args:  []string{fmt.Sprintf("--proxy-port=%d", port), "--log-level=info"},
		Ports: []corev1.ContainerPort{{ContainerPort: port}},
		Lifecycle: &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{
			Command: []string{"/proxy", fmt.Sprintf("--proxy-port=%d", port), "--probe", "--log-level=info"}}}},
		SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &f, Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			Privileged: &f, ReadOnlyRootFilesystem: &t, RunAsNonRoot: &t},
		RestartPolicy: restart,
	}
	return append([]corev1.Container{sidecar}, cs...)
}
