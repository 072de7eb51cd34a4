package rbac

import (
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/env"
)

// Resource is one API resource as discovery lists it.
type Resource struct {
	Group      string   `json:"group"`
	Resource   string   `json:"resource"`
	Kind       string   `json:"kind"`
	Namespaced bool     `json:"namespaced"`
	ShortNames []string `json:"shortNames,omitempty"`
	// Subresources the resource serves (status, log, exec, ...).
	Subresources []string `json:"subresources,omitempty"`
	// CRD is true for resources of the snapshot's CustomResourceDefinitions.
	CRD bool `json:"crd,omitempty"`
}

// GroupResource is resource or resource.group.
func (r *Resource) GroupResource() string {
	if r.Group == "" {
		return r.Resource
	}
	return r.Resource + "." + r.Group
}

// builtinResources is the discovery of a Kubernetes v1.37 apiserver (GA
// and default-on beta resources), with AKS's metrics-server. The URL, not
// RBAC, decides whether a resource is cluster-scoped, so an offline
// evaluator needs this table (rbac-and-entra.md section 1.3).
var builtinResources = []Resource{
	{"", "bindings", "Binding", true, nil, nil, false},
	{"", "componentstatuses", "ComponentStatus", false, []string{"cs"}, nil, false},
	{"", "configmaps", "ConfigMap", true, []string{"cm"}, nil, false},
	{"", "endpoints", "Endpoints", true, []string{"ep"}, nil, false},
	{"", "events", "Event", true, []string{"ev"}, nil, false},
	{"", "limitranges", "LimitRange", true, []string{"limits"}, nil, false},
	{"", "namespaces", "Namespace", false, []string{"ns"}, []string{"finalize", "status"}, false},
	{"", "nodes", "Node", false, []string{"no"}, []string{"proxy", "status"}, false},
	{"", "persistentvolumeclaims", "PersistentVolumeClaim", true, []string{"pvc"}, []string{"status"}, false},
	{"", "persistentvolumes", "PersistentVolume", false, []string{"pv"}, []string{"status"}, false},
	{"", "pods", "Pod", true, []string{"po"}, []string{"attach", "binding", "ephemeralcontainers", "eviction", "exec", "log", "portforward", "proxy", "resize", "status"}, false},
	{"", "podtemplates", "PodTemplate", true, nil, nil, false},
	{"", "replicationcontrollers", "ReplicationController", true, []string{"rc"}, []string{"scale", "status"}, false},
	{"", "resourcequotas", "ResourceQuota", true, []string{"quota"}, []string{"status"}, false},
	{"", "secrets", "Secret", true, nil, nil, false},
	{"", "serviceaccounts", "ServiceAccount", true, []string{"sa"}, []string{"token"}, false},
	{"", "services", "Service", true, []string{"svc"}, []string{"proxy", "status"}, false},
	{"admissionregistration.k8s.io", "mutatingadmissionpolicies", "MutatingAdmissionPolicy", false, nil, nil, false},
	{"admissionregistration.k8s.io", "mutatingadmissionpolicybindings", "MutatingAdmissionPolicyBinding", false, nil, nil, false},
	{"admissionregistration.k8s.io", "mutatingwebhookconfigurations", "MutatingWebhookConfiguration", false, nil, nil, false},
	{"admissionregistration.k8s.io", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", false, nil, []string{"status"}, false},
	{"admissionregistration.k8s.io", "validatingadmissionpolicybindings", "ValidatingAdmissionPolicyBinding", false, nil, nil, false},
	{"admissionregistration.k8s.io", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration", false, nil, nil, false},
	{"apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", false, []string{"crd", "crds"}, []string{"status"}, false},
	{"apiregistration.k8s.io", "apiservices", "APIService", false, nil, []string{"status"}, false},
	{"apps", "controllerrevisions", "ControllerRevision", true, nil, nil, false},
	{"apps", "daemonsets", "DaemonSet", true, []string{"ds"}, []string{"status"}, false},
	{"apps", "deployments", "Deployment", true, []string{"deploy"}, []string{"scale", "status"}, false},
	{"apps", "replicasets", "ReplicaSet", true, []string{"rs"}, []string{"scale", "status"}, false},
	{"apps", "statefulsets", "StatefulSet", true, []string{"sts"}, []string{"scale", "status"}, false},
	{"authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview", false, nil, nil, false},
	{"authentication.k8s.io", "tokenreviews", "TokenReview", false, nil, nil, false},
	{"authorization.k8s.io", "localsubjectaccessreviews", "LocalSubjectAccessReview", true, nil, nil, false},
	{"authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, nil, nil, false},
	{"authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview", false, nil, nil, false},
	{"authorization.k8s.io", "subjectaccessreviews", "SubjectAccessReview", false, nil, nil, false},
	{"autoscaling", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, []string{"hpa"}, []string{"status"}, false},
	{"batch", "cronjobs", "CronJob", true, []string{"cj"}, []string{"status"}, false},
	{"batch", "jobs", "Job", true, nil, []string{"status"}, false},
	{"certificates.k8s.io", "certificatesigningrequests", "CertificateSigningRequest", false, []string{"csr"}, []string{"approval", "status"}, false},
	{"coordination.k8s.io", "leases", "Lease", true, nil, nil, false},
	{"discovery.k8s.io", "endpointslices", "EndpointSlice", true, nil, nil, false},
	{"events.k8s.io", "events", "Event", true, []string{"ev"}, nil, false},
	{"flowcontrol.apiserver.k8s.io", "flowschemas", "FlowSchema", false, nil, []string{"status"}, false},
	{"flowcontrol.apiserver.k8s.io", "prioritylevelconfigurations", "PriorityLevelConfiguration", false, nil, []string{"status"}, false},
	{"metrics.k8s.io", "nodes", "NodeMetrics", false, nil, nil, false},
	{"metrics.k8s.io", "pods", "PodMetrics", true, nil, nil, false},
	{"networking.k8s.io", "ingressclasses", "IngressClass", false, nil, nil, false},
	{"networking.k8s.io", "ingresses", "Ingress", true, []string{"ing"}, []string{"status"}, false},
	{"networking.k8s.io", "ipaddresses", "IPAddress", false, []string{"ip"}, nil, false},
	{"networking.k8s.io", "networkpolicies", "NetworkPolicy", true, []string{"netpol"}, nil, false},
	{"networking.k8s.io", "servicecidrs", "ServiceCIDR", false, nil, []string{"status"}, false},
	{"node.k8s.io", "runtimeclasses", "RuntimeClass", false, nil, nil, false},
	{"policy", "poddisruptionbudgets", "PodDisruptionBudget", true, []string{"pdb"}, []string{"status"}, false},
	{"rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false, nil, nil, false},
	{"rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false, nil, nil, false},
	{"rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true, nil, nil, false},
	{"rbac.authorization.k8s.io", "roles", "Role", true, nil, nil, false},
	{"resource.k8s.io", "deviceclasses", "DeviceClass", false, nil, nil, false},
	{"resource.k8s.io", "resourceclaims", "ResourceClaim", true, nil, []string{"status"}, false},
	{"resource.k8s.io", "resourceclaimtemplates", "ResourceClaimTemplate", true, nil, nil, false},
	{"resource.k8s.io", "resourceslices", "ResourceSlice", false, nil, nil, false},
	{"scheduling.k8s.io", "priorityclasses", "PriorityClass", false, []string{"pc"}, nil, false},
	{"storage.k8s.io", "csidrivers", "CSIDriver", false, nil, nil, false},
	{"storage.k8s.io", "csinodes", "CSINode", false, nil, nil, false},
	{"storage.k8s.io", "csistoragecapacities", "CSIStorageCapacity", true, nil, nil, false},
	{"storage.k8s.io", "storageclasses", "StorageClass", false, []string{"sc"}, nil, false},
	{"storage.k8s.io", "volumeattachments", "VolumeAttachment", false, nil, []string{"status"}, false},
	{"storage.k8s.io", "volumeattributesclasses", "VolumeAttributesClass", false, []string{"vac"}, nil, false},
}

// Discovery is the resource table of a cluster: the built-in resources and
// the snapshot's CRDs.
type Discovery struct {
	Resources []Resource
	byGR      map[string]int // "resource.group" / "resource" → index
	byName    map[string][]int
}

// NewDiscovery builds the table of e (nil: built-ins only).
func NewDiscovery(e *env.Environment) *Discovery {
	d := &Discovery{byGR: map[string]int{}, byName: map[string][]int{}}
	d.Resources = append(d.Resources, builtinResources...)
	if e != nil {
		for _, it := range e.CRDs {
			c := it.Obj
			r := Resource{Group: c.Spec.Group, Resource: c.Spec.Names.Plural, Kind: c.Spec.Names.Kind,
				Namespaced: c.Spec.Scope != "Cluster", ShortNames: c.Spec.Names.ShortNames, CRD: true}
			for _, v := range c.Spec.Versions {
				if v.Subresources != nil {
					if v.Subresources.Status != nil {
						r.Subresources = appendUnique(r.Subresources, "status")
					}
					if v.Subresources.Scale != nil {
						r.Subresources = appendUnique(r.Subresources, "scale")
					}
				}
			}
			d.Resources = append(d.Resources, r)
		}
	}
	for i := range d.Resources {
		r := &d.Resources[i]
		if _, dup := d.byGR[r.GroupResource()]; !dup {
			d.byGR[r.GroupResource()] = i
		}
		for _, n := range append([]string{r.Resource, strings.ToLower(r.Kind)}, r.ShortNames...) {
			d.byName[n] = append(d.byName[n], i)
		}
	}
	return d
}

// Lookup finds a resource the way kubectl resolves a TYPE argument:
// "pods", "po", "pod", "deployments.apps", "deploy". When a bare name
// exists in several groups, the core group, then the group sorted first,
// wins (kubectl prefers the core group too).
func (d *Discovery) Lookup(arg string) (*Resource, bool) {
	arg = strings.ToLower(arg)
	if i, ok := d.byGR[arg]; ok {
		return &d.Resources[i], true
	}
	name, group, _ := strings.Cut(arg, ".")
	if group != "" {
		for _, i := range d.byName[name] {
			if d.Resources[i].Group == group {
				return &d.Resources[i], true
			}
		}
	}
	cands := d.byName[arg]
	if len(cands) == 0 {
		return nil, false
	}
	best := cands[0]
	for _, i := range cands[1:] {
		gi, gb := d.Resources[i].Group, d.Resources[best].Group
		if gb != "" && (gi == "" || gi < gb) {
			best = i
		}
	}
	return &d.Resources[best], true
}

// Get returns the resource of a group, or nil when discovery lacks it.
func (d *Discovery) Get(group, resource string) *Resource {
	k := resource
	if group != "" {
		k += "." + group
	}
	if i, ok := d.byGR[k]; ok {
		return &d.Resources[i]
	}
	return nil
}

// Namespaced reports whether a resource is namespaced; unknown resources
// are assumed namespaced (most resources are) and ok is false.
func (d *Discovery) Namespaced(group, resource string) (namespaced, ok bool) {
	if r := d.Get(group, resource); r != nil {
		return r.Namespaced, true
	}
	return true, false
}

// Sorted returns the resources sorted by group then resource.
func (d *Discovery) Sorted() []Resource {
	out := append([]Resource(nil), d.Resources...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}
