package admission

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// apiDefaults applies the API server's defaulting of a pod that webhooks
// see (pkg/apis/core/v1/defaults.go SetDefaults_PodSpec, _Container), beyond
// what the snapshot loader already applies: templates read these fields.
func apiDefaults(spec *corev1.PodSpec) {
	if spec.SecurityContext == nil {
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}
	if spec.TerminationGracePeriodSeconds == nil {
		g := int64(corev1.DefaultTerminationGracePeriodSeconds)
		spec.TerminationGracePeriodSeconds = &g
	}
	if spec.EnableServiceLinks == nil {
		t := corev1.DefaultEnableServiceLinks
		spec.EnableServiceLinks = &t
	}
	for i := range spec.InitContainers {
		containerDefaults(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		containerDefaults(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		containerDefaults((*corev1.Container)(&spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
}

func containerDefaults(c *corev1.Container) {
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = pullPolicy(c.Image)
	}
}

// pullPolicy is SetDefaults_Container's rule: Always for :latest or no tag
// (and no digest), else IfNotPresent.
func pullPolicy(image string) corev1.PullPolicy {
	if strings.Contains(image, "@") {
		return corev1.PullIfNotPresent
	}
	last := image[strings.LastIndex(image, "/")+1:]
	if i := strings.LastIndex(last, ":"); i < 0 || last[i+1:] == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// serviceDefaults applies SetDefaults_Service's type default.
func serviceDefaults(s *corev1.Service) *corev1.Service {
	if s.Spec.Type != "" {
		return s
	}
	c := s.DeepCopy()
	c.Spec.Type = corev1.ServiceTypeClusterIP
	return c
}
