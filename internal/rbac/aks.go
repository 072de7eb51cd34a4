package rbac

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/env"
)

// Names of the ClusterRoleBindings AKS's addon manager reconciles on every
// cluster (observed names, rbac-and-entra.md section 2.2).
const (
	AKSAdminGroupBinding = "aks-cluster-admin-binding-aad"
	AKSLocalAdminBinding = "aks-cluster-admin-binding"
)

// aksBindings returns the bindings AKS reconciles for the cluster of e:
// aks-cluster-admin-binding-aad gives cluster-admin to the groups of
// aadProfile.adminGroupObjectIDs, aks-cluster-admin-binding to the local
// users clusterAdmin and clusterUser. Without aks.json there are none.
func aksBindings(e *env.Environment) []rbacv1.ClusterRoleBinding {
	if e.Cluster == nil {
		return nil
	}
	labels := map[string]string{"addonmanager.kubernetes.io/mode": "Reconcile", "kubernetes.io/cluster-service": "true"}
	ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"}
	var out []rbacv1.ClusterRoleBinding
	if groups := authn.AdminGroups(e.Cluster); len(groups) > 0 {
		b := rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: AKSAdminGroupBinding, Labels: labels}, RoleRef: ref}
		for _, g := range e.Cluster.AADProfile.AdminGroupObjectIDs {
			b.Subjects = append(b.Subjects, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: g})
		}
		out = append(out, b)
	}
	out = append(out, rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: AKSLocalAdminBinding, Labels: labels}, RoleRef: ref,
		Subjects: []rbacv1.Subject{
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "clusterAdmin"},
			{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "clusterUser"},
		}})
	return out
}
