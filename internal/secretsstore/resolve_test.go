package secretsstore

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/crd"
)

func TestResolve(t *testing.T) {
	objs := func(yaml string) func(f *fixture) {
		return func(f *fixture) { f.spc.Spec.Parameters["objects"] = yaml }
	}
	tests := []struct {
		name       string
		tweak      func(f *fixture)
		status     Status
		failedStep string
		errHas     string
		files      []File
	}{
		{name: "ok", status: StatusOK, files: []File{{Container: "app", Path: "/mnt/kv/s1", Mode: "0644", Object: "s1", Type: "secret"}}},
		{name: "alias, permission and version history", tweak: objs("array:\n  - |\n    objectName: s1\n    objectType: secret\n    objectAlias: db/pw\n    filePermission: \"0400\"\n    objectVersionHistory: 2\n"),
			status: StatusOK, files: []File{{Container: "app", Path: "/mnt/kv/db/pw/0", Mode: "0400", Object: "s1", Type: "secret"}, {Container: "app", Path: "/mnt/kv/db/pw/1", Mode: "0400", Object: "s1", Type: "secret"}}},
		{name: "volume not read-only", tweak: func(f *fixture) { f.pod.Spec.Volumes[0].CSI.ReadOnly = nil }, status: StatusFailed, failedStep: "pod", errHas: "Readonly is not true in request"},
		{name: "class missing is reported before read-only", tweak: func(f *fixture) { f.spc = nil; f.pod.Spec.Volumes[0].CSI.ReadOnly = nil }, status: StatusFailed, failedStep: "secret provider class",
			errHas: `failed to get secretproviderclass shop/spc, error: secretproviderclasses.secrets-store.csi.x-k8s.io "spc" not found`},
		{name: "no attributes", tweak: func(f *fixture) { f.pod.Spec.Volumes[0].CSI.VolumeAttributes = nil }, status: StatusFailed, failedStep: "pod", errHas: "Volume attributes missing in request"},
		{name: "class without provider", tweak: func(f *fixture) { f.spc.Spec.Provider = "" }, status: StatusFailed, failedStep: "secret provider class", errHas: "providerName is not set"},
		{name: "class without tenant", tweak: func(f *fixture) { delete(f.spc.Spec.Parameters, "tenantID") }, status: StatusFailed, failedStep: "secret provider class", errHas: "tenantId is not set"},
		{name: "unknown client", tweak: func(f *fixture) { f.spc.Spec.Parameters["clientID"] = "nope" }, status: StatusFailed, failedStep: "identity", errHas: "AADSTS700016: Application with identifier 'nope'"},
		{name: "wrong tenant in class", tweak: func(f *fixture) { f.spc.Spec.Parameters["tenantID"] = "other" }, status: StatusFailed, failedStep: "identity", errHas: "was not found in the directory 'other'"},
		{name: "subject mismatch", tweak: func(f *fixture) { f.pod.Spec.ServiceAccountName = "other-sa" }, status: StatusFailed, failedStep: "federated credential",
			errHas: "AADSTS700213: No matching federated identity record found for presented assertion subject 'system:serviceaccount:shop:other-sa'"},
		{name: "audience mismatch", tweak: func(f *fixture) { f.az.FederatedCredentials[0].Audiences = []string{"api://AKSIdentityBinding"} }, status: StatusFailed, failedStep: "federated credential", errHas: "AADSTS700212"},
		{name: "issuer off", tweak: func(f *fixture) { f.cluster.OIDCIssuerProfile.Enabled = false }, status: StatusFailed, failedStep: "federated credential", errHas: "OIDC issuer is not enabled"},
		{name: "no role", tweak: func(f *fixture) { f.az.RoleAssignments = nil }, status: StatusFailed, failedStep: "object s1",
			errHas: "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\\r\\nResource: '/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv1/secrets/s1'"}, // JSON-escaped in the body
		{name: "secret-scoped role on another secret", tweak: func(f *fixture) { f.az.RoleAssignments[0].Scope = fxVault + "/secrets/s2" }, status: StatusFailed, failedStep: "object s1", errHas: `"code": "ForbiddenByRbac"`},
		{name: "history needs list", tweak: func(f *fixture) {
			f.az.RoleAssignments[0].Scope = fxVault + "/secrets/s1"
			f.spc.Spec.Parameters["objects"] = "array:\n  - |\n    objectName: s1\n    objectType: secret\n    objectVersionHistory: 3\n"
		}, status: StatusFailed, failedStep: "object s1", errHas: "GET https://kv1.vault.azure.net/secrets/s1/versions"},
		{name: "secret missing", tweak: objs("array:\n  - |\n    objectName: s9\n    objectType: secret\n"), status: StatusFailed, failedStep: "object s9",
			errHas: `"message": "A secret with (name/id) s9 was not found in this key vault.`},
		{name: "secret names are case-insensitive", tweak: objs("array:\n  - |\n    objectName: S1\n    objectType: secret\n"), status: StatusOK,
			files: []File{{Container: "app", Path: "/mnt/kv/S1", Mode: "0644", Object: "S1", Type: "secret"}}},
		{name: "secret disabled", tweak: func(f *fixture) { f.az.Secrets[0].Attributes.Enabled = ptr(false) }, status: StatusFailed, failedStep: "object s1", errHas: "Operation get is not allowed on a disabled secret."},
		{name: "bad object type", tweak: objs("array:\n  - |\n    objectName: s1\n    objectType: secrets\n"), status: StatusFailed, failedStep: "object s1",
			errHas: "failed to get objectType:secrets, objectName:s1, objectVersion:: Invalid vaultObjectTypes. Should be secret, key, or cert"},
		{name: "vault not in snapshot", tweak: func(f *fixture) { f.az.Vaults = nil }, status: StatusUnknown,
			files: []File{{Container: "app", Path: "/mnt/kv/s1", Mode: "0644", Object: "s1", Type: "secret"}}},
		{name: "key existence unknown", tweak: func(f *fixture) {
			f.spc.Spec.Parameters["objects"] = "array:\n  - |\n    objectName: k1\n    objectType: key\n"
			f.az.RoleAssignments[0].RoleDefinitionID = "/x/roleDefinitions/" + azrole.KeyVaultCryptoUser
		}, status: StatusUnknown, files: []File{{Container: "app", Path: "/mnt/kv/k1", Mode: "0644", Object: "k1", Type: "key"}}},
		{name: "access policy vault, list only", tweak: func(f *fixture) {
			f.az.Vaults[0].Properties.EnableRBACAuthorization = ptr(false)
			f.az.Vaults[0].Properties.AccessPolicies = []azure.AccessPolicy{{TenantID: fxTenant, ObjectID: "p1", Permissions: azure.Permissions{Secrets: []string{"list"}}}}
		}, status: StatusFailed, failedStep: "object s1", errHas: "does not have secrets get permission on key vault 'kv1;location=eastus'"},
		{name: "VM managed identity (add-on)", tweak: func(f *fixture) {
			f.spc.Spec.Parameters = map[string]string{"useVMManagedIdentity": "true", "userAssignedIdentityID": "addon-c", "keyvaultName": "kv1", "tenantId": fxTenant, "objects": f.spc.Spec.Parameters["objects"]}
			f.az.RoleAssignments[0].PrincipalID = "addon-p"
		}, status: StatusOK, files: []File{{Container: "app", Path: "/mnt/kv/s1", Mode: "0644", Object: "s1", Type: "secret"}}},
		{name: "VM managed identity not on the nodes", tweak: func(f *fixture) {
			f.spc.Spec.Parameters = map[string]string{"useVMManagedIdentity": "true", "userAssignedIdentityID": "ghost", "keyvaultName": "kv1", "tenantId": fxTenant, "objects": f.spc.Spec.Parameters["objects"]}
		}, status: StatusFailed, failedStep: "identity", errHas: "the requested identity isn't assigned to this resource"},
		{name: "service principal secret", tweak: func(f *fixture) {
			delete(f.spc.Spec.Parameters, "clientID")
			f.pod.Spec.Volumes[0].CSI.NodePublishSecretRef = &corev1.LocalObjectReference{Name: "sp-creds"}
		}, status: StatusUnknown, files: []File{{Container: "app", Path: "/mnt/kv/s1", Mode: "0644", Object: "s1", Type: "secret"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			if tt.tweak != nil {
				tt.tweak(f)
			}
			e := f.env()
			m := New(e).Resolve(e.Pods[0])
			if m.Status != tt.status {
				t.Fatalf("status %s, want %s; steps %+v", m.Status, tt.status, m.Volumes[0].Steps)
			}
			v := m.Volumes[0]
			if tt.failedStep != "" {
				var failed *Step
				for i := range v.Steps {
					if v.Steps[i].Status == StatusFailed {
						failed = &v.Steps[i]
						break
					}
				}
				if failed == nil || failed.Name != tt.failedStep {
					t.Fatalf("failed step %+v, want %q", failed, tt.failedStep)
				}
				if !strings.Contains(failed.Error, tt.errHas) || !strings.Contains(v.Event, tt.errHas) {
					t.Errorf("error/event lack %q:\n%s\n%s", tt.errHas, failed.Error, v.Event)
				}
				if failed.Fix == "" {
					t.Error("failed step has no fix")
				}
			}
			if diff := cmp.Diff(tt.files, v.Files); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSyncedSecrets(t *testing.T) {
	f := newFixture()
	f.spc.Spec.SecretObjects = []*crd.SecretObject{
		{SecretName: "app-env", Type: "Opaque", Data: []*crd.SecretObjectData{{ObjectName: "s1", Key: "PASSWORD"}}},
		{SecretName: "bad", Type: "Opaque", Data: []*crd.SecretObjectData{{ObjectName: "nope", Key: "X"}}},
	}
	e := f.env()
	v := New(e).Resolve(e.Pods[0]).Volumes[0]
	want := []SyncedSecret{
		{Name: "app-env", Type: "Opaque", Keys: []string{"PASSWORD"}, Loc: v.ClassLoc},
		{Name: "bad", Type: "Opaque", Keys: []string{"X"}, Loc: v.ClassLoc, Error: "failed to get data in spc shop/spc for secret bad, err: file matching objectName nope not found in the pod"},
	}
	if diff := cmp.Diff(want, v.Synced); diff != "" {
		t.Errorf("synced (-want +got):\n%s", diff)
	}
}
