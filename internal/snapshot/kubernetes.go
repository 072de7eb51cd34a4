package snapshot

import (
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kjson "sigs.k8s.io/json"

	"github.com/akssec/akssec/internal/crd"
	"github.com/akssec/akssec/internal/source"
)

// Object is one Kubernetes object of the snapshot.
type Object struct {
	Loc        source.Location
	APIVersion string
	Group      string // API group, "" for core
	Kind       string
	Namespace  string // "" for cluster-scoped objects
	Name       string
	// Typed is a pointer to the Go type of the kind: a k8s.io/api type such
	// as *corev1.Pod, a *crd.SecretProviderClass, or *unstructured.Unstructured
	// for kinds akssec keeps without a Go type (Gatekeeper, Calico,
	// AdminNetworkPolicy and every unknown kind).
	Typed any
	// Known is false for kinds akssec does not reason about; they are kept
	// and counted.
	Known bool
}

// Ref renders the object as kind/namespace/name for messages.
func (o *Object) Ref() string {
	if o.Namespace == "" {
		return o.Kind + "/" + o.Name
	}
	return o.Kind + "/" + o.Namespace + "/" + o.Name
}

type kindInfo struct {
	namespaced bool
	decode     func([]byte) (any, error)
}

func typed[T any]() func([]byte) (any, error) {
	return func(b []byte) (any, error) {
		v := new(T)
		if err := kjson.UnmarshalCaseSensitivePreserveInts(b, v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

func untyped(b []byte) (any, error) {
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return u, nil
}

// kinds are the kinds akssec reads, by group and kind. Versions other than
// the ones these types describe are rejected for typed kinds, because
// decoding, say, a v1beta1 object into v1 types would silently drop fields.
var kinds = map[string]struct {
	version string
	info    kindInfo
}{
	"/Namespace":                            {"v1", kindInfo{false, typed[corev1.Namespace]()}},
	"/Pod":                                  {"v1", kindInfo{true, typed[corev1.Pod]()}},
	"/ServiceAccount":                       {"v1", kindInfo{true, typed[corev1.ServiceAccount]()}},
	"/Service":                              {"v1", kindInfo{true, typed[corev1.Service]()}},
	"/Node":                                 {"v1", kindInfo{false, typed[corev1.Node]()}},
	"/Secret":                               {"v1", kindInfo{true, decodeSecret}},
	"/ConfigMap":                            {"v1", kindInfo{true, decodeConfigMap}},
	"apps/Deployment":                       {"v1", kindInfo{true, typed[appsv1.Deployment]()}},
	"apps/ReplicaSet":                       {"v1", kindInfo{true, typed[appsv1.ReplicaSet]()}},
	"apps/StatefulSet":                      {"v1", kindInfo{true, typed[appsv1.StatefulSet]()}},
	"apps/DaemonSet":                        {"v1", kindInfo{true, typed[appsv1.DaemonSet]()}},
	"batch/Job":                             {"v1", kindInfo{true, typed[batchv1.Job]()}},
	"batch/CronJob":                         {"v1", kindInfo{true, typed[batchv1.CronJob]()}},
	"networking.k8s.io/NetworkPolicy":       {"v1", kindInfo{true, typed[networkingv1.NetworkPolicy]()}},
	"rbac.authorization.k8s.io/Role":        {"v1", kindInfo{true, typed[rbacv1.Role]()}},
	"rbac.authorization.k8s.io/ClusterRole": {"v1", kindInfo{false, typed[rbacv1.ClusterRole]()}},
	"rbac.authorization.k8s.io/RoleBinding": {"v1", kindInfo{true, typed[rbacv1.RoleBinding]()}},
	"rbac.authorization.k8s.io/ClusterRoleBinding":        {"v1", kindInfo{false, typed[rbacv1.ClusterRoleBinding]()}},
	"apiextensions.k8s.io/CustomResourceDefinition":       {"v1", kindInfo{false, typed[apiextv1.CustomResourceDefinition]()}},
	crd.SecretProviderClassGroup + "/SecretProviderClass": {"", kindInfo{true, typed[crd.SecretProviderClass]()}},
	"templates.gatekeeper.sh/ConstraintTemplate":          {"", kindInfo{false, untyped}},
	"projectcalico.org/NetworkPolicy":                     {"", kindInfo{true, untyped}},
	"projectcalico.org/GlobalNetworkPolicy":               {"", kindInfo{false, untyped}},
	"policy.networking.k8s.io/AdminNetworkPolicy":         {"", kindInfo{false, untyped}},
	"policy.networking.k8s.io/BaselineAdminNetworkPolicy": {"", kindInfo{false, untyped}},
	"policy.networking.k8s.io/ClusterNetworkPolicy":       {"", kindInfo{false, untyped}},
}

// ConstraintGroup is the API group of Gatekeeper constraints; every kind in
// it is a constraint (its kind is the template's CRD kind).
const ConstraintGroup = "constraints.gatekeeper.sh"

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
		Namespace    string `json:"namespace"`
	} `json:"metadata"`
}

// decodeObject turns one JSON document into an Object, or says precisely
// what is wrong with it.
func decodeObject(doc rawDoc) (*Object, error) {
	h, err := readHeader(doc.JSON)
	if err != nil {
		return nil, fmt.Errorf("expected a Kubernetes object (a map with apiVersion, kind and metadata): %s", fieldError(err))
	}
	if h.APIVersion == "" || h.Kind == "" {
		var missing []string
		if h.APIVersion == "" {
			missing = append(missing, "apiVersion")
		}
		if h.Kind == "" {
			missing = append(missing, "kind")
		}
		return nil, fmt.Errorf("expected a Kubernetes object: %s not set", strings.Join(missing, " and "))
	}
	group, version := "", h.APIVersion
	if i := strings.LastIndex(h.APIVersion, "/"); i >= 0 {
		group, version = h.APIVersion[:i], h.APIVersion[i+1:]
	}
	name := h.Metadata.Name
	if name == "" {
		if h.Metadata.GenerateName == "" {
			return nil, fmt.Errorf("%s: metadata.name is required", h.Kind)
		}
		name = h.Metadata.GenerateName
	}
	o := &Object{Loc: doc.Loc, APIVersion: h.APIVersion, Group: group, Kind: h.Kind, Name: name, Namespace: h.Metadata.Namespace}
	k, ok := kinds[group+"/"+h.Kind]
	switch {
	case ok:
		if k.version != "" && version != k.version {
			want := k.version
			if group != "" {
				want = group + "/" + k.version
			}
			return nil, fmt.Errorf("%s %s: version %q is not supported, expected %s", h.Kind, name, version, want)
		}
		v, err := k.info.decode(doc.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %s", h.Kind, name, fieldError(err))
		}
		o.Typed, o.Known = v, true
		if !k.info.namespaced {
			o.Namespace = ""
		} else if o.Namespace == "" {
			// kubectl apply of a manifest without a namespace targets the
			// context's namespace, "default" unless configured.
			o.Namespace = "default"
		}
	case group == ConstraintGroup:
		v, err := untyped(doc.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %s", h.Kind, name, fieldError(err))
		}
		o.Typed, o.Known, o.Namespace = v, true, ""
	default:
		v, err := untyped(doc.JSON)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %s", h.Kind, name, fieldError(err))
		}
		o.Typed = v
	}
	applyDefaults(o)
	return o, nil
}

func fieldError(err error) string {
	var te *json.UnmarshalTypeError
	if ok := asType(err, &te); ok && te.Field != "" {
		return fmt.Sprintf("field %s: expected %s, got a JSON %s", te.Field, te.Type, te.Value)
	}
	return err.Error()
}

// decodeSecret keeps a Secret's metadata, type and key names, never values:
// data and stringData are read as key sets only, and the last-applied
// annotation (which holds the whole object, values included) is dropped.
func decodeSecret(b []byte) (any, error) {
	var s struct {
		corev1.Secret
		Data       map[string]json.RawMessage `json:"data"`
		StringData map[string]json.RawMessage `json:"stringData"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, &s); err != nil {
		return nil, err
	}
	out := s.Secret
	out.Data, out.StringData = nil, nil
	if len(s.Data)+len(s.StringData) > 0 {
		out.Data = make(map[string][]byte, len(s.Data)+len(s.StringData))
		for k := range s.Data {
			out.Data[k] = nil
		}
		for k := range s.StringData {
			out.Data[k] = nil
		}
	}
	dropLastApplied(&out.ObjectMeta.Annotations)
	return &out, nil
}

// decodeConfigMap keeps a ConfigMap's metadata and key names.
func decodeConfigMap(b []byte) (any, error) {
	var c struct {
		corev1.ConfigMap
		Data       map[string]json.RawMessage `json:"data"`
		BinaryData map[string]json.RawMessage `json:"binaryData"`
	}
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, &c); err != nil {
		return nil, err
	}
	out := c.ConfigMap
	out.Data, out.BinaryData = nil, nil
	if len(c.Data)+len(c.BinaryData) > 0 {
		out.Data = make(map[string]string, len(c.Data)+len(c.BinaryData))
		for k := range c.Data {
			out.Data[k] = ""
		}
		for k := range c.BinaryData {
			out.Data[k] = ""
		}
	}
	dropLastApplied(&out.ObjectMeta.Annotations)
	return &out, nil
}

func dropLastApplied(a *map[string]string) {
	delete(*a, corev1.LastAppliedConfigAnnotation)
}
