package secretsstore

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/crd"
	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/workloadid"
)

// TestCheckRules triggers each rule from the valid fixture, which itself
// has no finding.
func TestCheckRules(t *testing.T) {
	tests := []struct {
		name  string
		tweak func(f *fixture)
		want  []string // rule ID and object
		has   string   // in the first finding's reason
	}{
		{name: "valid setup", want: nil},
		{name: "WI-001 SA annotated, pod not labelled", tweak: func(f *fixture) { delete(f.pod.Labels, workloadid.LabelUse) },
			want: []string{"AKS-WI-001 Pod/shop/app"}, has: "lacks the label azure.workload.identity/use"},
		{name: "WI-002 pod labelled, SA without client-id", tweak: func(f *fixture) { f.sa.Annotations = nil },
			want: []string{"AKS-WI-002 Pod/shop/app"}, has: "no client ID specified"},
		{name: "WI-003 issuer without trailing slash", tweak: func(f *fixture) { f.az.FederatedCredentials[0].Issuer = strings.TrimSuffix(fxIssuer, "/") },
			want: []string{"AKS-KV-003 Pod/shop/app", "AKS-WI-003 FederatedIdentityCredential/shop/app-id/fic"}, has: "trailing slash"},
		{name: "WI-004 SA client-id names no identity", tweak: func(f *fixture) { f.sa.Annotations[workloadid.AnnotationClientID] = "ghost" },
			want: []string{"AKS-WI-004 ServiceAccount/shop/app-sa"}, has: "AADSTS700016"},
		{name: "WI-005 no federated credential for the SA", tweak: func(f *fixture) { f.az.FederatedCredentials[0].Subject = "system:serviceaccount:shop:other" },
			want: []string{"AKS-KV-003 Pod/shop/app", "AKS-WI-005 ServiceAccount/shop/app-sa"}, has: "AADSTS700213"},
		{name: "WI-006 audience", tweak: func(f *fixture) { f.az.FederatedCredentials[0].Audiences = []string{"api://other"} },
			want: []string{"AKS-KV-003 Pod/shop/app", "AKS-WI-006 ServiceAccount/shop/app-sa"}, has: "AADSTS700212"},
		{name: "WI-007 webhook rejects the pod", tweak: func(f *fixture) { f.pod.Annotations = map[string]string{workloadid.AnnotationTokenExpiration: "600"} },
			want: []string{"AKS-WI-007 Pod/shop/app"}, has: "token expiration 600 not valid"},
		{name: "WI-008 aad-pod-identity label and objects", tweak: func(f *fixture) {
			f.pod.Labels["aadpodidbinding"] = "app"
			u := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"clientID": "c1"}}}
			f.extra = append(f.extra, &snapshot.Object{Group: "aadpodidentity.k8s.io", Kind: "AzureIdentity", Namespace: "shop", Name: "app", Typed: u})
		}, want: []string{"AKS-WI-008 AzureIdentity/shop/app", "AKS-WI-008 Pod/shop/app"}},
		{name: "WI-008 SecretProviderClass usePodIdentity", tweak: func(f *fixture) {
			delete(f.spc.Spec.Parameters, "clientID")
			f.spc.Spec.Parameters["usePodIdentity"] = "true"
		}, want: []string{"AKS-KV-003 Pod/shop/app", "AKS-WI-008 SecretProviderClass/shop/spc"}}, // no AzureIdentityBinding selects the pod: NMI 404
		{name: "WI-009 proxy sidecar", tweak: func(f *fixture) {
			f.pod.Annotations = map[string]string{workloadid.AnnotationInjectProxySidecar: "true"}
		},
			want: []string{"AKS-WI-009 Pod/shop/app"}, has: "privileged"},
		{name: "WI-010 workload identity off", tweak: func(f *fixture) { f.cluster.SecurityProfile.WorkloadIdentity.Enabled = false },
			want: []string{"AKS-WI-010 ManagedCluster/aks"}},
		{name: "WI-011 add-on identity reads Key Vault", tweak: func(f *fixture) {
			f.az.RoleAssignments = append(f.az.RoleAssignments, &azure.RoleAssignment{PrincipalID: "addon-p", Scope: fxVault, RoleDefinitionID: "/x/roleDefinitions/" + azrole.KeyVaultSecretsUser})
		}, want: []string{"AKS-WI-011 ManagedCluster/aks/azureKeyvaultSecretsProvider add-on identity"}, has: "IMDS"},
		{name: "WI-011 kubelet Contributor on the subscription", tweak: func(f *fixture) {
			f.cluster.IdentityProfile = map[string]*azure.UserIdentity{"kubeletidentity": {ClientID: "kc", ObjectID: "kubelet-p"}}
			f.az.RoleAssignments = append(f.az.RoleAssignments,
				&azure.RoleAssignment{PrincipalID: "kubelet-p", Scope: "/subscriptions/s", RoleDefinitionID: "/x/roleDefinitions/" + azrole.Contributor},
				&azure.RoleAssignment{PrincipalID: "kubelet-p", Scope: fxRG + "/providers/Microsoft.ContainerRegistry/registries/r", RoleDefinitionID: "/x/roleDefinitions/" + azrole.AcrPull})
		}, want: []string{"AKS-WI-011 ManagedCluster/aks/kubelet identity"}, has: "can write resources"},
		{name: "KV-001 class clientID unknown", tweak: func(f *fixture) { f.spc.Spec.Parameters["clientID"] = "ghost" },
			want: []string{"AKS-KV-001 SecretProviderClass/shop/spc"}, has: "AADSTS700016"},
		{name: "KV-002 identity lacks permission", tweak: func(f *fixture) { f.az.RoleAssignments = nil },
			want: []string{"AKS-KV-002 Pod/shop/app"}, has: "403"},
		{name: "KV-003 secret not found", tweak: func(f *fixture) { f.az.Secrets[0].Name = "other" },
			want: []string{"AKS-KV-003 Pod/shop/app"}, has: "SecretNotFound"},
		{name: "KV-004 Secrets Officer", tweak: func(f *fixture) {
			f.az.RoleAssignments[0].RoleDefinitionID = "/x/roleDefinitions/" + azrole.KeyVaultSecretsOfficer
		},
			want: []string{"AKS-KV-004 ManagedIdentity/app-id"}, has: "setSecret"},
		{name: "KV-004 Secrets User on the resource group", tweak: func(f *fixture) { f.az.RoleAssignments[0].Scope = fxRG },
			want: []string{"AKS-KV-004 ManagedIdentity/app-id"}, has: "above the vault"},
		{name: "KV-004 and KV-005 access policy with list and get", tweak: func(f *fixture) {
			f.az.Vaults[0].Properties.EnableRBACAuthorization = ptr(false)
			f.az.Vaults[0].Properties.AccessPolicies = []azure.AccessPolicy{{TenantID: fxTenant, ObjectID: "p1", Permissions: azure.Permissions{Secrets: []string{"Get", "List"}}}}
		}, want: []string{"AKS-KV-004 ManagedIdentity/app-id", "AKS-KV-005 KeyVault/kv1"}, has: "List"},
		{name: "KV-006 rotation off", tweak: func(f *fixture) {
			f.cluster.AddonProfiles["azureKeyvaultSecretsProvider"].Config["enableSecretRotation"] = "false"
		}, want: []string{"AKS-KV-006 ManagedCluster/aks"}},
		{name: "KV-007 synced secret", tweak: func(f *fixture) {
			f.spc.Spec.SecretObjects = []*crd.SecretObject{{SecretName: "app-env", Type: "Opaque", Data: []*crd.SecretObjectData{{ObjectName: "s1", Key: "PW"}}}}
		}, want: []string{"AKS-KV-007 SecretProviderClass/shop/spc"}},
		{name: "KV-008 VM managed identity", tweak: func(f *fixture) {
			f.spc.Spec.Parameters = map[string]string{"useVMManagedIdentity": "true", "userAssignedIdentityID": "addon-c", "keyvaultName": "kv1", "tenantId": fxTenant, "objects": f.spc.Spec.Parameters["objects"]}
			f.az.RoleAssignments[0].PrincipalID = "addon-p"
		}, want: []string{"AKS-KV-008 SecretProviderClass/shop/spc", "AKS-WI-011 ManagedCluster/aks/azureKeyvaultSecretsProvider add-on identity"}, has: "every pod"},
		{name: "KV-009 service principal secret", tweak: func(f *fixture) {
			delete(f.spc.Spec.Parameters, "clientID")
			f.pod.Spec.Volumes[0].CSI.NodePublishSecretRef = &corev1.LocalObjectReference{Name: "sp"}
		}, want: []string{"AKS-KV-009 Pod/shop/app"}},
		{name: "KV-010 env from a synced secret without the mount", tweak: func(f *fixture) {
			f.spc.Spec.SecretObjects = []*crd.SecretObject{{SecretName: "app-env", Type: "Opaque", Data: []*crd.SecretObjectData{{ObjectName: "s1", Key: "PW"}}}}
			other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: "shop"}, Spec: corev1.PodSpec{ServiceAccountName: "app-sa",
				Containers: []corev1.Container{{Name: "w", Image: "x", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "app-env"}}}}}}}}
			other.Labels = map[string]string{workloadid.LabelUse: "true"}
			f.extra = append(f.extra, &snapshot.Object{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: "worker", Typed: other})
		}, want: []string{"AKS-KV-007 SecretProviderClass/shop/spc", "AKS-KV-010 Pod/shop/worker"}, has: "CreateContainerConfigError"},
		{name: "KV-011 purge protection off", tweak: func(f *fixture) { f.az.Vaults[0].Properties.EnablePurgeProtection = nil },
			want: []string{"AKS-KV-011 KeyVault/kv1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			if tt.tweak != nil {
				tt.tweak(f)
			}
			fs := Check(context.Background(), f.env())
			var got []string
			for _, x := range fs {
				got = append(got, x.RuleID+" "+x.Object.String())
			}
			sort.Strings(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if tt.has != "" {
				found := false
				for _, x := range fs {
					found = found || strings.Contains(x.Reason, tt.has) || strings.Contains(x.Fix, tt.has)
				}
				if !found {
					t.Errorf("no finding mentions %q", tt.has)
				}
			}
		})
	}
}
