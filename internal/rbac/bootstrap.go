package rbac

import (
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/source"
)

// The Kubernetes bootstrap policy (the roles and bindings kube-apiserver
// creates at start-up), copied unchanged from the upstream test fixtures
// of v1.37.2 that pin it.
//
//go:embed bootstrap/*.yaml
var bootstrapFS embed.FS

// Policy is a set of RBAC objects.
type Policy struct {
	ClusterRoles        []rbacv1.ClusterRole
	ClusterRoleBindings []rbacv1.ClusterRoleBinding
	Roles               []rbacv1.Role
	RoleBindings        []rbacv1.RoleBinding
	// Loc maps "Kind/ns/name" to where the object is written.
	Loc map[string]source.Location
}

var bootstrapPolicy = sync.OnceValues(loadBootstrap)

// BootstrapPolicy returns the Kubernetes v1.37 bootstrap policy: the
// cluster roles (cluster-admin, admin, edit, view and their
// system:aggregate-to-* parts, system:basic-user, system:discovery,
// system:public-info-viewer, ...), the controller roles, the namespaced
// roles of kube-system and kube-public, and their bindings. The result is
// shared: callers must not modify it.
func BootstrapPolicy() (*Policy, error) { return bootstrapPolicy() }

func loadBootstrap() (*Policy, error) {
	p := &Policy{Loc: map[string]source.Location{}}
	for _, f := range []string{"cluster-roles", "controller-roles", "cluster-role-bindings", "controller-role-bindings", "namespace-roles", "namespace-role-bindings"} {
		name := "bootstrap/" + f + ".yaml"
		data, err := bootstrapFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		loc := source.Builtin("kubernetes bootstrap policy " + f)
		for _, raw := range list.Items {
			var meta struct {
				Kind string `json:"kind"`
			}
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			switch meta.Kind {
			case "ClusterRole":
				var o rbacv1.ClusterRole
				if err := json.Unmarshal(raw, &o); err != nil {
					return nil, err
				}
				p.ClusterRoles = append(p.ClusterRoles, o)
				p.Loc["ClusterRole//"+o.Name] = loc
			case "ClusterRoleBinding":
				var o rbacv1.ClusterRoleBinding
				if err := json.Unmarshal(raw, &o); err != nil {
					return nil, err
				}
				p.ClusterRoleBindings = append(p.ClusterRoleBindings, o)
				p.Loc["ClusterRoleBinding//"+o.Name] = loc
			case "Role":
				var o rbacv1.Role
				if err := json.Unmarshal(raw, &o); err != nil {
					return nil, err
				}
				p.Roles = append(p.Roles, o)
				p.Loc["Role/"+o.Namespace+"/"+o.Name] = loc
			case "RoleBinding":
				var o rbacv1.RoleBinding
				if err := json.Unmarshal(raw, &o); err != nil {
					return nil, err
				}
				p.RoleBindings = append(p.RoleBindings, o)
				p.Loc["RoleBinding/"+o.Namespace+"/"+o.Name] = loc
			default:
				return nil, fmt.Errorf("%s: unexpected kind %q", name, meta.Kind)
			}
		}
	}
	return p, nil
}
