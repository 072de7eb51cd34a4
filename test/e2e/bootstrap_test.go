package e2e

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// TestBootstrapPolicyMatchesTheAPIServer checks that the bootstrap RBAC
// policy akssec embeds (internal/rbac/bootstrap) is the one the real
// kube-apiserver v1.37.2 creates: every ClusterRole and ClusterRoleBinding
// by name, with its rules, aggregation rule, role reference and subjects.
func TestBootstrapPolicyMatchesTheAPIServer(t *testing.T) {
	requireCluster(t)
	ctx := context.Background()
	read := func(file string, into any) {
		t.Helper()
		b, err := os.ReadFile("../../internal/rbac/bootstrap/" + file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, into); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	var roles rbacv1.ClusterRoleList
	read("cluster-roles.yaml", &roles)
	var bindings rbacv1.ClusterRoleBindingList
	read("cluster-role-bindings.yaml", &bindings)
	var controllerRoles rbacv1.ClusterRoleList
	read("controller-roles.yaml", &controllerRoles)
	roles.Items = append(roles.Items, controllerRoles.Items...)
	var controllerBindings rbacv1.ClusterRoleBindingList
	read("controller-role-bindings.yaml", &controllerBindings)
	bindings.Items = append(bindings.Items, controllerBindings.Items...)
	if len(roles.Items) < 50 || len(bindings.Items) < 40 {
		t.Fatalf("embedded policy has %d roles and %d bindings: not the bootstrap policy", len(roles.Items), len(bindings.Items))
	}
	served, err := suite.client.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]rbacv1.ClusterRole{}
	for _, r := range served.Items {
		byName[r.Name] = r
	}
	empty := cmpopts.EquateEmpty()
	for _, want := range roles.Items {
		got, ok := byName[want.Name]
		if !ok {
			t.Errorf("ClusterRole %s is embedded but the API server has none", want.Name)
			continue
		}
		if want.AggregationRule != nil {
			// The API server stores no rules for an aggregated role until
			// the aggregation controller (not running here) fills them.
			if diff := cmp.Diff(want.AggregationRule, got.AggregationRule, empty); diff != "" {
				t.Errorf("ClusterRole %s aggregation (-embedded +served):\n%s", want.Name, diff)
			}
			continue
		}
		if diff := cmp.Diff(want.Rules, got.Rules, empty); diff != "" {
			t.Errorf("ClusterRole %s rules (-embedded +served):\n%s", want.Name, diff)
		}
	}
	servedBindings, err := suite.client.RbacV1().ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bindingByName := map[string]rbacv1.ClusterRoleBinding{}
	for _, b := range servedBindings.Items {
		bindingByName[b.Name] = b
	}
	for _, want := range bindings.Items {
		got, ok := bindingByName[want.Name]
		if !ok {
			t.Errorf("ClusterRoleBinding %s is embedded but the API server has none", want.Name)
			continue
		}
		if diff := cmp.Diff(want.RoleRef, got.RoleRef); diff != "" {
			t.Errorf("ClusterRoleBinding %s roleRef (-embedded +served):\n%s", want.Name, diff)
		}
		if diff := cmp.Diff(want.Subjects, got.Subjects, empty); diff != "" {
			t.Errorf("ClusterRoleBinding %s subjects (-embedded +served):\n%s", want.Name, diff)
		}
	}
}
