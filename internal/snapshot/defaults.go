package snapshot

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// applyDefaults applies the API server defaulting that later semantics
// depend on, so raw manifests decide as the objects the API server stores:
//
//   - NetworkPolicy: policyTypes = [Ingress] plus Egress when egress rules
//     exist (SetDefaults_NetworkPolicy); port protocol TCP
//     (SetDefaults_NetworkPolicyPort).
//   - Pod specs (pods and workload templates): a volume with no source is an
//     emptyDir (SetDefaults_Volume); container port protocol TCP
//     (SetDefaults_ContainerPort); serviceAccountName "default" (the
//     ServiceAccount admission plugin).
//   - Service: type ClusterIP, port protocol TCP, targetPort = port when
//     unset (SetDefaults_Service, for headless Services too).
//
// Objects read from a live API server already carry these values; applying
// them again changes nothing.
func applyDefaults(o *Object) {
	switch v := o.Typed.(type) {
	case *networkingv1.NetworkPolicy:
		DefaultNetworkPolicy(v)
	case *corev1.Pod:
		DefaultPodSpec(&v.Spec)
	case *appsv1.Deployment:
		DefaultPodSpec(&v.Spec.Template.Spec)
	case *appsv1.ReplicaSet:
		DefaultPodSpec(&v.Spec.Template.Spec)
	case *appsv1.StatefulSet:
		DefaultPodSpec(&v.Spec.Template.Spec)
	case *appsv1.DaemonSet:
		DefaultPodSpec(&v.Spec.Template.Spec)
	case *batchv1.Job:
		DefaultPodSpec(&v.Spec.Template.Spec)
	case *batchv1.CronJob:
		DefaultPodSpec(&v.Spec.JobTemplate.Spec.Template.Spec)
	case *corev1.Service:
		if v.Spec.Type == "" {
			v.Spec.Type = corev1.ServiceTypeClusterIP
		}
		for i := range v.Spec.Ports {
			p := &v.Spec.Ports[i]
			if p.Protocol == "" {
				p.Protocol = corev1.ProtocolTCP
			}
			if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
				p.TargetPort = intstr.FromInt32(p.Port)
			}
		}
	}
}

// DefaultNetworkPolicy applies SetDefaults_NetworkPolicy and
// SetDefaults_NetworkPolicyPort.
func DefaultNetworkPolicy(np *networkingv1.NetworkPolicy) {
	if len(np.Spec.PolicyTypes) == 0 {
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) != 0 {
			np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	tcp := corev1.ProtocolTCP
	for i := range np.Spec.Ingress {
		for j := range np.Spec.Ingress[i].Ports {
			if np.Spec.Ingress[i].Ports[j].Protocol == nil {
				np.Spec.Ingress[i].Ports[j].Protocol = &tcp
			}
		}
	}
	for i := range np.Spec.Egress {
		for j := range np.Spec.Egress[i].Ports {
			if np.Spec.Egress[i].Ports[j].Protocol == nil {
				np.Spec.Egress[i].Ports[j].Protocol = &tcp
			}
		}
	}
}

// DefaultPodSpec applies the pod defaulting described on applyDefaults.
func DefaultPodSpec(spec *corev1.PodSpec) {
	for i := range spec.Volumes {
		if spec.Volumes[i].VolumeSource == (corev1.VolumeSource{}) {
			spec.Volumes[i].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
		}
	}
	defaultPorts := func(cs []corev1.Container) {
		for i := range cs {
			for j := range cs[i].Ports {
				if cs[i].Ports[j].Protocol == "" {
					cs[i].Ports[j].Protocol = corev1.ProtocolTCP
				}
			}
		}
	}
	defaultPorts(spec.InitContainers)
	defaultPorts(spec.Containers)
	if spec.ServiceAccountName == "" {
		if spec.DeprecatedServiceAccount != "" {
			spec.ServiceAccountName = spec.DeprecatedServiceAccount
		} else {
			spec.ServiceAccountName = "default"
		}
	}
}
