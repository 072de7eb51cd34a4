package collect

import (
	"slices"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Kind is one resource collect lists.
type Kind struct {
	GVR        schema.GroupVersionResource
	Kind       string
	Namespaced bool
}

// String names the kind as kubectl does: resource.group.
func (k Kind) String() string {
	if k.GVR.Group == "" {
		return k.GVR.Resource
	}
	return k.GVR.Resource + "." + k.GVR.Group
}

// fixedKinds are the built-in kinds akssec reads, at the one version the
// snapshot loader decodes them as (internal/snapshot kinds): listing them at
// that version makes the server convert, so the snapshot is always readable.
var fixedKinds = []Kind{
	{schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, "Namespace", false},
	{schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, "Node", false},
	{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "Pod", true},
	{schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "ServiceAccount", true},
	{schema.GroupVersionResource{Version: "v1", Resource: "services"}, "Service", true},
	{schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, "Secret", true},
	{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "ConfigMap", true},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, "Deployment", true},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}, "ReplicaSet", true},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, "StatefulSet", true},
	{schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}, "DaemonSet", true},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, "Job", true},
	{schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, "CronJob", true},
	{schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, "NetworkPolicy", true},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, "Role", true},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, "ClusterRole", false},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, "RoleBinding", true},
	{schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, "ClusterRoleBinding", false},
	{schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, "CustomResourceDefinition", false},
}

// discoveredKinds are the extension kinds akssec reads, by group and kind;
// the loader accepts any version of them, so the server's preferred version
// is listed. They exist only where their add-on is installed.
var discoveredKinds = map[string]bool{
	"secrets-store.csi.x-k8s.io/SecretProviderClass":      true,
	"templates.gatekeeper.sh/ConstraintTemplate":          true,
	"projectcalico.org/NetworkPolicy":                     true,
	"projectcalico.org/GlobalNetworkPolicy":               true,
	"policy.networking.k8s.io/AdminNetworkPolicy":         true,
	"policy.networking.k8s.io/BaselineAdminNetworkPolicy": true,
	"policy.networking.k8s.io/ClusterNetworkPolicy":       true,
}

// constraintGroup is Gatekeeper's constraint group: every kind in it is a
// constraint and akssec reads them all.
const constraintGroup = "constraints.gatekeeper.sh"

// Kinds returns what collect lists on a server: the fixed built-in kinds and
// the extension kinds discovery reports (SecretProviderClass, Gatekeeper
// templates and every constraint kind, Calico and admin network policies).
// resources is discovery's preferred-resources answer, possibly partial.
func Kinds(resources []*metav1.APIResourceList) []Kind {
	out := append([]Kind(nil), fixedKinds...)
	seen := map[string]bool{}
	var extra []Kind
	for _, rl := range resources {
		if rl == nil {
			continue
		}
		gv, err := schema.ParseGroupVersion(rl.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range rl.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue // subresources, and kinds that cannot be listed
			}
			if !discoveredKinds[gv.Group+"/"+r.Kind] && gv.Group != constraintGroup {
				continue
			}
			key := gv.Group + "/" + r.Name
			if seen[key] {
				continue
			}
			seen[key] = true
			extra = append(extra, Kind{GVR: gv.WithResource(r.Name), Kind: r.Kind, Namespaced: r.Namespaced})
		}
	}
	sort.Slice(extra, func(i, j int) bool { return extra[i].String() < extra[j].String() })
	return append(out, extra...)
}
