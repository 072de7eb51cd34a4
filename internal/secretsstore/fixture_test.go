package secretsstore

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/crd"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/source"
	"github.com/akssec/akssec/internal/workloadid"
)

const (
	fxTenant = "5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60"
	fxIssuer = "https://eastus.oic.prod-aks.azure.com/5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60/abc/"
	fxRG     = "/subscriptions/s/resourceGroups/rg"
	fxVault  = fxRG + "/providers/Microsoft.KeyVault/vaults/kv1"
	fxIdent  = fxRG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app-id"
)

// fixture is a small, valid workload identity setup: pod shop/app with
// ServiceAccount app-sa federated to identity app-id (client c1, principal
// p1), SecretProviderClass spc reading secret s1 of RBAC vault kv1, where
// app-id is Key Vault Secrets User.
type fixture struct {
	pod     *corev1.Pod
	sa      *corev1.ServiceAccount
	spc     *crd.SecretProviderClass
	extra   []*snapshot.Object
	cluster *azure.ManagedCluster
	az      azure.Data
}

func ptr[T any](v T) *T { return &v }

func newFixture() *fixture {
	f := &fixture{}
	f.pod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "shop", Labels: map[string]string{workloadid.LabelUse: "true"}},
		Spec: corev1.PodSpec{ServiceAccountName: "app-sa",
			Containers: []corev1.Container{{Name: "app", Image: "contoso.azurecr.io/app:1", VolumeMounts: []corev1.VolumeMount{{Name: "kv", MountPath: "/mnt/kv", ReadOnly: true}}}},
			Volumes: []corev1.Volume{{Name: "kv", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: Driver, ReadOnly: ptr(true),
				VolumeAttributes: map[string]string{"secretProviderClass": "spc"}}}}}}}
	f.sa = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "app-sa", Namespace: "shop", Annotations: map[string]string{workloadid.AnnotationClientID: "c1"}}}
	f.spc = &crd.SecretProviderClass{ObjectMeta: metav1.ObjectMeta{Name: "spc", Namespace: "shop"}, Spec: crd.SecretProviderClassSpec{Provider: "azure",
		Parameters: map[string]string{"clientID": "c1", "keyvaultName": "kv1", "tenantID": fxTenant, "objects": "array:\n  - |\n    objectName: s1\n    objectType: secret\n"}}}
	wi := &azure.SecurityProfile{}
	wi.WorkloadIdentity = &struct {
		Enabled bool `json:"enabled"`
	}{Enabled: true}
	f.cluster = &azure.ManagedCluster{Name: "aks", ResourceGroup: "rg", Src: source.Location{File: "azure/aks.json"},
		OIDCIssuerProfile: &azure.OIDCIssuerProfile{Enabled: true, IssuerURL: fxIssuer}, SecurityProfile: wi,
		AADProfile: &azure.AADProfile{TenantID: fxTenant},
		AddonProfiles: map[string]*azure.AddonProfile{"azureKeyvaultSecretsProvider": {Enabled: true, Config: map[string]string{"enableSecretRotation": "true"},
			Identity: &azure.UserIdentity{ClientID: "addon-c", ObjectID: "addon-p"}}}}
	f.az = azure.Data{
		Identities: []*azure.Identity{{ID: fxIdent, Name: "app-id", ResourceGroup: "rg", ClientID: "c1", PrincipalID: "p1", TenantID: fxTenant, Src: source.Location{File: "azure/identities.json", Line: 1}}},
		FederatedCredentials: []*azure.FederatedCredential{{ID: fxIdent + "/federatedIdentityCredentials/fic", Name: "fic", Identity: "app-id", Issuer: fxIssuer,
			Subject: "system:serviceaccount:shop:app-sa", Audiences: []string{workloadid.TokenExchangeAudience}, Src: source.Location{File: "azure/federated-credentials/app-id.json", Line: 2}}},
		Vaults: []*azure.Vault{{ID: fxVault, Name: "kv1", Location: "eastus", Src: source.Location{File: "azure/keyvaults/kv1.json"},
			Properties: azure.VaultProperties{TenantID: fxTenant, EnableRBACAuthorization: ptr(true), EnablePurgeProtection: ptr(true)}}},
		Secrets:         []*azure.SecretItem{{Vault: "kv1", Name: "s1", Src: source.Location{File: "azure/keyvaults/kv1.secrets.json"}}},
		RoleAssignments: []*azure.RoleAssignment{{ID: "ra1", PrincipalID: "p1", Scope: fxVault, RoleDefinitionID: "/x/roleDefinitions/" + azrole.KeyVaultSecretsUser, Src: source.Location{File: "azure/role-assignments.json", Line: 2}}},
	}
	return f
}

func (f *fixture) env() *env.Environment {
	objs := []*snapshot.Object{
		{Kind: "Pod", APIVersion: "v1", Namespace: f.pod.Namespace, Name: f.pod.Name, Typed: f.pod, Loc: source.Location{File: "kubernetes/pod.yaml", Line: 1}},
		{Kind: "ServiceAccount", APIVersion: "v1", Namespace: f.sa.Namespace, Name: f.sa.Name, Typed: f.sa, Loc: source.Location{File: "kubernetes/sa.yaml", Line: 1}},
	}
	if f.spc != nil {
		objs = append(objs, &snapshot.Object{Group: crd.SecretProviderClassGroup, Kind: "SecretProviderClass", APIVersion: crd.SecretProviderClassGroup + "/v1",
			Namespace: f.spc.Namespace, Name: f.spc.Name, Typed: f.spc, Loc: source.Location{File: "kubernetes/spc.yaml", Line: 1}})
	}
	objs = append(objs, f.extra...)
	d := f.az
	d.Cluster = f.cluster
	return env.New(&snapshot.Snapshot{Objects: objs, Azure: d})
}
