// Package env is the Environment: one immutable, indexed view of a loaded
// snapshot that every layer engine reads. It is built once (New), holds the
// typed Kubernetes objects with their locations, the pods that workloads
// would create, the Entra directory and the Azure side, and is safe for
// concurrent reads. Nothing in it changes after New returns.
package env

import (
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/crd"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/source"
)

// Item is a typed Kubernetes object with its location in the snapshot.
type Item[T any] struct {
	Loc source.Location
	Obj *T
}

// Environment is the indexed snapshot.
type Environment struct {
	Snapshot  *snapshot.Snapshot
	Azure     *azure.Data
	Cluster   *azure.ManagedCluster // nil without azure/aks.json
	Directory *entra.Directory

	Namespaces            []Item[corev1.Namespace]
	Pods                  []*Pod // bare pods, then the pods workloads would create
	Workloads             []*Workload
	ServiceAccounts       []Item[corev1.ServiceAccount]
	Services              []Item[corev1.Service]
	Nodes                 []Item[corev1.Node]
	Secrets               []Item[corev1.Secret]
	ConfigMaps            []Item[corev1.ConfigMap]
	Roles                 []Item[rbacv1.Role]
	ClusterRoles          []Item[rbacv1.ClusterRole]
	RoleBindings          []Item[rbacv1.RoleBinding]
	ClusterRoleBindings   []Item[rbacv1.ClusterRoleBinding]
	NetworkPolicies       []Item[networkingv1.NetworkPolicy]
	CRDs                  []Item[apiextv1.CustomResourceDefinition]
	SecretProviderClasses []Item[crd.SecretProviderClass]
	// Kept without Go types: Gatekeeper templates and constraints, Calico
	// policies, admin network policies.
	ConstraintTemplates  []Item[unstructured.Unstructured]
	Constraints          []Item[unstructured.Unstructured]
	CalicoPolicies       []Item[unstructured.Unstructured] // projectcalico.org NetworkPolicy
	CalicoGlobalPolicies []Item[unstructured.Unstructured]
	AdminNetworkPolicies []Item[unstructured.Unstructured] // AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy
	// Unknown are objects of kinds akssec does not reason about.
	Unknown []*snapshot.Object

	objects     map[key]*snapshot.Object
	namespaces  []string // every namespace named by an object or a Namespace, sorted
	podsByNS    map[string][]*Pod
	podsByLabel map[string]map[string][]int32 // ns → "k=v" → indexes into podsByNS[ns]
}

type key struct{ group, kind, ns, name string }

// Pod is a pod the cluster has or would have: a bare pod of the snapshot, or
// the pod a workload's template would create (Synthesized).
type Pod struct {
	Loc source.Location
	*corev1.Pod
	// Workload is the workload that owns the pod (nil for bare pods).
	Workload *Workload
	// Synthesized pods come from a workload template: the snapshot holds no
	// live pod for that workload.
	Synthesized bool
}

// Ref names the pod for people: ns/name, or ns/kind/name (pod template) for
// a synthesized pod.
func (p *Pod) Ref() string {
	if p.Synthesized && p.Workload != nil {
		return p.Namespace + "/" + strings.ToLower(p.Workload.Kind) + "/" + p.Workload.Name + " (pod template)"
	}
	return p.Namespace + "/" + p.Name
}

// Workload is a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or
// CronJob with the pod template it creates pods from.
type Workload struct {
	Loc       source.Location
	Kind      string
	Namespace string
	Name      string
	// Replicas is the desired pod count; -1 for a DaemonSet (one per node).
	Replicas int32
	Template *corev1.PodTemplateSpec
	Object   *snapshot.Object
	// Owner is the workload that manages this one (a ReplicaSet's
	// Deployment, a Job's CronJob), when the snapshot holds it.
	Owner *Workload
}

// New indexes a loaded snapshot.
func New(s *snapshot.Snapshot) *Environment {
	e := &Environment{Snapshot: s, Azure: &s.Azure, Cluster: s.Azure.Cluster, objects: make(map[key]*snapshot.Object, len(s.Objects))}
	e.Directory = entra.New(&s.Azure)
	nsSet := map[string]bool{}
	var barePods []*Pod
	for _, o := range s.Objects {
		e.objects[key{o.Group, o.Kind, o.Namespace, o.Name}] = o
		if o.Namespace != "" {
			nsSet[o.Namespace] = true
		}
		switch v := o.Typed.(type) {
		case *corev1.Namespace:
			e.Namespaces = append(e.Namespaces, Item[corev1.Namespace]{o.Loc, v})
			nsSet[v.Name] = true
		case *corev1.Pod:
			barePods = append(barePods, &Pod{Loc: o.Loc, Pod: v})
		case *corev1.ServiceAccount:
			e.ServiceAccounts = append(e.ServiceAccounts, Item[corev1.ServiceAccount]{o.Loc, v})
		case *corev1.Service:
			e.Services = append(e.Services, Item[corev1.Service]{o.Loc, v})
		case *corev1.Node:
			e.Nodes = append(e.Nodes, Item[corev1.Node]{o.Loc, v})
		case *corev1.Secret:
			e.Secrets = append(e.Secrets, Item[corev1.Secret]{o.Loc, v})
		case *corev1.ConfigMap:
			e.ConfigMaps = append(e.ConfigMaps, Item[corev1.ConfigMap]{o.Loc, v})
		case *rbacv1.Role:
			e.Roles = append(e.Roles, Item[rbacv1.Role]{o.Loc, v})
		case *rbacv1.ClusterRole:
			e.ClusterRoles = append(e.ClusterRoles, Item[rbacv1.ClusterRole]{o.Loc, v})
		case *rbacv1.RoleBinding:
			e.RoleBindings = append(e.RoleBindings, Item[rbacv1.RoleBinding]{o.Loc, v})
		case *rbacv1.ClusterRoleBinding:
			e.ClusterRoleBindings = append(e.ClusterRoleBindings, Item[rbacv1.ClusterRoleBinding]{o.Loc, v})
		case *networkingv1.NetworkPolicy:
			e.NetworkPolicies = append(e.NetworkPolicies, Item[networkingv1.NetworkPolicy]{o.Loc, v})
		case *apiextv1.CustomResourceDefinition:
			e.CRDs = append(e.CRDs, Item[apiextv1.CustomResourceDefinition]{o.Loc, v})
		case *crd.SecretProviderClass:
			e.SecretProviderClasses = append(e.SecretProviderClasses, Item[crd.SecretProviderClass]{o.Loc, v})
		case *appsv1.Deployment:
			r := int32(1)
			if v.Spec.Replicas != nil {
				r = *v.Spec.Replicas
			}
			e.Workloads = append(e.Workloads, &Workload{Loc: o.Loc, Kind: o.Kind, Namespace: v.Namespace, Name: v.Name, Replicas: r, Template: &v.Spec.Template, Object: o})
		case *appsv1.ReplicaSet:
			r := int32(1)
			if v.Spec.Replicas != nil {
				r = *v.Spec.Replicas
			}
			e.Workloads = append(e.Workloads, &Workload{Loc: o.Loc, Kind: o.Kind, Namespace: v.Namespace, Name: v.Name, Replicas: r, Template: &v.Spec.Template, Object: o})
		case *appsv1.StatefulSet:
			r := int32(1)
			if v.Spec.Replicas != nil {
				r = *v.Spec.Replicas
			}
			e.Workloads = append(e.Workloads, &Workload{Loc: o.Loc, Kind: o.Kind, Namespace: v.Namespace, Name: v.Name, Replicas: r, Template: &v.Spec.Template, Object: o})
		case *appsv1.DaemonSet:
			e.Workloads = append(e.Workloads, &Workload{Loc: o.Loc, Kind: o.Kind, Namespace: v.Namespace, Name: v.Name, Replicas: -1, Template: &v.Spec.Template, Object: o})
		case *batchv1.Job:
			r := int32(1)
			if v.Spec.Parallelism != nil {
				r = *v.Spec.Parallelism
			}
			e.Workloads = append(e.Workloads, &Workload{Loc: o.Loc, Kind: o.Kind, Namespace: v.Namespace, Name: v.Name, Replicas: r, Template: &v.Spec.Template, Object: o})
		case *batchv1.CronJob:
			r := int32(1)
			if v.Spec.JobTemplate.Spec.Parallelism != nil {
				r = *v.Spec.JobTemplate.Spec.Parallelism
			}
			e.Workloads = append(e.Workloads, &Workload{Loc: o.Loc, Kind: o.Kind, Namespace: v.Namespace, Name: v.Name, Replicas: r, Template: &v.Spec.JobTemplate.Spec.Template, Object: o})
		case *unstructured.Unstructured:
			it := Item[unstructured.Unstructured]{o.Loc, v}
			switch {
			case o.Group == "templates.gatekeeper.sh" && o.Kind == "ConstraintTemplate":
				e.ConstraintTemplates = append(e.ConstraintTemplates, it)
			case o.Group == snapshot.ConstraintGroup:
				e.Constraints = append(e.Constraints, it)
			case o.Group == "projectcalico.org" && o.Kind == "NetworkPolicy":
				e.CalicoPolicies = append(e.CalicoPolicies, it)
			case o.Group == "projectcalico.org" && o.Kind == "GlobalNetworkPolicy":
				e.CalicoGlobalPolicies = append(e.CalicoGlobalPolicies, it)
			case o.Group == "policy.networking.k8s.io":
				e.AdminNetworkPolicies = append(e.AdminNetworkPolicies, it)
			default:
				e.Unknown = append(e.Unknown, o)
			}
		default:
			e.Unknown = append(e.Unknown, o)
		}
	}
	e.Pods = append(barePods, e.expandWorkloads(barePods)...)
	for n := range nsSet {
		e.namespaces = append(e.namespaces, n)
	}
	sort.Strings(e.namespaces)
	e.indexPods()
	return e
}

// expandWorkloads links workloads to their owners and makes the pods of
// every workload that has no live pods or live child workload in the
// snapshot: a Deployment whose ReplicaSets were captured is represented by
// them, a ReplicaSet whose pods were captured by those pods. A ReplicaSet
// scaled to zero (an old rollout) makes no pod.
func (e *Environment) expandWorkloads(bare []*Pod) []*Pod {
	byKey := map[string]*Workload{}
	for _, w := range e.Workloads {
		byKey[w.Kind+"/"+w.Namespace+"/"+w.Name] = w
	}
	hasChild := map[*Workload]bool{}
	for _, w := range e.Workloads {
		for _, ref := range w.Object.Typed.(interface {
			GetOwnerReferences() []metav1.OwnerReference
		}).GetOwnerReferences() {
			if owner := byKey[ref.Kind+"/"+w.Namespace+"/"+ref.Name]; owner != nil {
				w.Owner = owner
				hasChild[owner] = true
			}
		}
	}
	for _, p := range bare {
		for _, ref := range p.OwnerReferences {
			if owner := byKey[ref.Kind+"/"+p.Namespace+"/"+ref.Name]; owner != nil {
				p.Workload = owner
				hasChild[owner] = true
			}
		}
	}
	var out []*Pod
	for _, w := range e.Workloads {
		if hasChild[w] || (w.Kind == "ReplicaSet" && w.Replicas == 0 && w.Owner != nil) {
			continue
		}
		pod := &corev1.Pod{
			ObjectMeta: *w.Template.ObjectMeta.DeepCopy(),
			Spec:       *w.Template.Spec.DeepCopy(),
		}
		pod.APIVersion, pod.Kind = "v1", "Pod"
		pod.Namespace = w.Namespace
		pod.Name = w.Name
		pod.GenerateName = w.Name + "-"
		ctrl := true
		pod.OwnerReferences = []metav1.OwnerReference{{APIVersion: w.Object.APIVersion, Kind: w.Kind, Name: w.Name, Controller: &ctrl}}
		out = append(out, &Pod{Loc: w.Loc, Pod: pod, Workload: w, Synthesized: true})
	}
	return out
}

func (e *Environment) indexPods() {
	e.podsByNS = map[string][]*Pod{}
	e.podsByLabel = map[string]map[string][]int32{}
	for _, p := range e.Pods {
		ns := p.Namespace
		idx := int32(len(e.podsByNS[ns]))
		e.podsByNS[ns] = append(e.podsByNS[ns], p)
		m := e.podsByLabel[ns]
		if m == nil {
			m = map[string][]int32{}
			e.podsByLabel[ns] = m
		}
		for k, v := range p.Labels {
			m[k+"="+v] = append(m[k+"="+v], idx)
		}
	}
}

// Object returns the snapshot object with the group, kind, namespace and
// name, or nil.
func (e *Environment) Object(group, kind, namespace, name string) *snapshot.Object {
	return e.objects[key{group, kind, namespace, name}]
}

// NamespaceNames returns every namespace the snapshot names, from Namespace
// objects and from the namespaces of namespaced objects, sorted.
func (e *Environment) NamespaceNames() []string { return e.namespaces }

// Namespace returns the Namespace object, or nil when the snapshot has none.
func (e *Environment) Namespace(name string) *Item[corev1.Namespace] {
	return lookup[corev1.Namespace](e, "", "Namespace", "", name)
}

// ServiceAccount returns the ServiceAccount, or nil.
func (e *Environment) ServiceAccount(ns, name string) *Item[corev1.ServiceAccount] {
	return lookup[corev1.ServiceAccount](e, "", "ServiceAccount", ns, name)
}

// Role returns the Role, or nil.
func (e *Environment) Role(ns, name string) *Item[rbacv1.Role] {
	return lookup[rbacv1.Role](e, "rbac.authorization.k8s.io", "Role", ns, name)
}

// ClusterRole returns the ClusterRole, or nil.
func (e *Environment) ClusterRole(name string) *Item[rbacv1.ClusterRole] {
	return lookup[rbacv1.ClusterRole](e, "rbac.authorization.k8s.io", "ClusterRole", "", name)
}

// SecretProviderClass returns the SecretProviderClass, or nil.
func (e *Environment) SecretProviderClass(ns, name string) *Item[crd.SecretProviderClass] {
	return lookup[crd.SecretProviderClass](e, crd.SecretProviderClassGroup, "SecretProviderClass", ns, name)
}

// lookup finds a typed item by its key through the object index, so that
// it costs a map access, not a scan.
func lookup[T any](e *Environment, group, kind, ns, name string) *Item[T] {
	o := e.objects[key{group, kind, ns, name}]
	if o == nil {
		return nil
	}
	t, ok := o.Typed.(*T)
	if !ok {
		return nil
	}
	return &Item[T]{Loc: o.Loc, Obj: t}
}

// PodsIn returns the pods of a namespace ("" for all namespaces).
func (e *Environment) PodsIn(ns string) []*Pod {
	if ns == "" {
		return e.Pods
	}
	return e.podsByNS[ns]
}

// PodsMatching returns the pods of namespace ns that the selector selects.
// Equality requirements are answered from the label index; the rest of the
// selector is checked on the candidates.
func (e *Environment) PodsMatching(ns string, sel labels.Selector) []*Pod {
	pods := e.podsByNS[ns]
	reqs, selectable := sel.Requirements()
	if !selectable {
		return nil
	}
	var candidates []int32
	indexed := false
	for _, r := range reqs {
		if op := r.Operator(); (op == "=" || op == "==" || op == "in") && r.Values().Len() == 1 {
			c := e.podsByLabel[ns][r.Key()+"="+r.Values().List()[0]]
			if !indexed || len(c) < len(candidates) {
				candidates, indexed = c, true
			}
		}
	}
	var out []*Pod
	if !indexed {
		for _, p := range pods {
			if sel.Matches(labels.Set(p.Labels)) {
				out = append(out, p)
			}
		}
		return out
	}
	for _, i := range candidates {
		if p := pods[i]; sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}
