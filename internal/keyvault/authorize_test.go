package keyvault

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/source"
)

const (
	tenant  = "5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60"
	rg      = "/subscriptions/sub1/resourceGroups/rg-bank"
	vaultID = rg + "/providers/Microsoft.KeyVault/vaults/myKV"
	apID    = rg + "/providers/Microsoft.KeyVault/vaults/complianceKV"
)

func ptr[T any](v T) *T { return &v }

func rbacVault() *azure.Vault {
	return &azure.Vault{ID: vaultID, Name: "myKV", Location: "eastus", Src: source.Location{File: "azure/keyvaults/myKV.json"},
		Properties: azure.VaultProperties{TenantID: tenant, EnableRBACAuthorization: ptr(true),
			// ignored under RBAC
			AccessPolicies: []azure.AccessPolicy{{TenantID: tenant, ObjectID: "oid-nobody", Permissions: azure.Permissions{Secrets: []string{"all"}}}}}}
}

func policyVault() *azure.Vault {
	return &azure.Vault{ID: apID, Name: "complianceKV", Location: "eastus", Src: source.Location{File: "azure/keyvaults/complianceKV.json"},
		Properties: azure.VaultProperties{TenantID: tenant, EnableRBACAuthorization: ptr(false), AccessPolicies: []azure.AccessPolicy{
			{TenantID: tenant, ObjectID: "oid-reports", Permissions: azure.Permissions{Secrets: []string{"list"}}},
			{TenantID: tenant, ObjectID: "oid-admin", Permissions: azure.Permissions{Secrets: []string{"All"}, Keys: []string{"get"}}},
			{TenantID: tenant, ObjectID: "oid-group", Permissions: azure.Permissions{Secrets: []string{"Get", "List"}}},
			{TenantID: tenant, ObjectID: "oid-user", ApplicationID: ptr("app-web"), Permissions: azure.Permissions{Secrets: []string{"get"}}},
			{TenantID: "other-tenant", ObjectID: "oid-foreign", Permissions: azure.Permissions{Secrets: []string{"get"}}},
		}}}
}

func assign(principal, roleGUID, scope string) *azure.RoleAssignment {
	return &azure.RoleAssignment{PrincipalID: principal, Scope: scope, RoleDefinitionID: "/subscriptions/sub1/providers/Microsoft.Authorization/roleDefinitions/" + roleGUID}
}

func testEnv() *env.Environment {
	cond := assign("oid-cond", azrole.KeyVaultSecretsUser, vaultID)
	cond.Condition = ptr("@Resource[Microsoft.KeyVault/vaults/secrets:name] StringEquals 'db-password'")
	d := azure.Data{
		Vaults:  []*azure.Vault{rbacVault(), policyVault()},
		Groups:  []*azure.Group{{ID: "oid-group", DisplayName: "readers"}},
		Members: []*azure.GroupMembers{{GroupID: "oid-group", Members: []*azure.Member{{ID: "oid-member", ODataType: "#microsoft.graph.servicePrincipal"}}}},
		RoleAssignments: []*azure.RoleAssignment{
			assign("oid-myapp", azrole.KeyVaultSecretsUser, vaultID),
			assign("oid-one", azrole.KeyVaultSecretsUser, vaultID+"/secrets/db-password"),
			assign("oid-officer", azrole.KeyVaultSecretsOfficer, rg),
			assign("oid-owner", azrole.Owner, "/subscriptions/sub1"),
			assign("oid-reader", azrole.KeyVaultReader, vaultID),
			assign("oid-group", azrole.KeyVaultAdministrator, "/subscriptions/SUB1"),
			assign("oid-certuser", azrole.KeyVaultCertificateUser, vaultID),
			assign("oid-prefix", azrole.KeyVaultSecretsUser, vaultID+"2"),
			cond,
		},
	}
	return env.New(&snapshot.Snapshot{Azure: d})
}

type result struct {
	Allowed                 bool
	Model                   string
	Status                  int
	Code, InnerCode, Action string
	Message                 string
}

func TestAuthorize(t *testing.T) {
	e := testEnv()
	mi := func(oid string) Caller { return Caller{ObjectID: oid, TenantID: tenant, ApplicationID: "app-" + oid} }
	rbacDeny := func(c Caller, action, resource string) result {
		return result{Model: "rbac", Status: 403, Code: "Forbidden", InnerCode: "ForbiddenByRbac", Action: action,
			Message: "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid=" + c.ApplicationID + ";oid=" + c.ObjectID + ";iss=https://sts.windows.net/" + tenant + "/\r\nAction: '" + action + "'\r\nResource: '" + resource + "'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: myKV;location=eastus\r\n"}
	}
	const get = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	const list = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	const dbRes = "/subscriptions/sub1/resourcegroups/rg-bank/providers/microsoft.keyvault/vaults/mykv/secrets/db-password"
	apDeny := func(c Caller, perm string) result {
		return result{Model: "access policy", Status: 403, Code: "Forbidden", InnerCode: "AccessDenied", Action: "secrets " + perm,
			Message: "The user, group or application 'appid=" + c.ApplicationID + ";oid=" + c.ObjectID + ";iss=https://sts.windows.net/" + tenant + "/' does not have secrets " + perm + " permission on key vault 'complianceKV;location=eastus'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"}
	}
	tests := []struct {
		name   string
		vault  *azure.Vault
		caller Caller
		action SecretAction
		secret string
		want   result
	}{
		{"rbac secrets user at vault gets", rbacVault(), mi("oid-myapp"), SecretGet, "db-password", result{Allowed: true, Model: "rbac", Status: 200, Action: get}},
		{"rbac secrets user lists", rbacVault(), mi("oid-myapp"), SecretList, "", result{Allowed: true, Model: "rbac", Status: 200, Action: list}},
		{"rbac secrets user cannot set", rbacVault(), mi("oid-myapp"), SecretSet, "db-password",
			rbacDeny(mi("oid-myapp"), "Microsoft.KeyVault/vaults/secrets/setSecret/action", dbRes)},
		{"rbac secret-scoped assignment gets that secret", rbacVault(), mi("oid-one"), SecretGet, "db-password", result{Allowed: true, Model: "rbac", Status: 200, Action: get}},
		{"rbac secret-scoped assignment, other secret", rbacVault(), mi("oid-one"), SecretGet, "api-key",
			rbacDeny(mi("oid-one"), get, "/subscriptions/sub1/resourcegroups/rg-bank/providers/microsoft.keyvault/vaults/mykv/secrets/api-key")},
		{"rbac secret-scoped assignment cannot list the vault", rbacVault(), mi("oid-one"), SecretList, "",
			rbacDeny(mi("oid-one"), list, "/subscriptions/sub1/resourcegroups/rg-bank/providers/microsoft.keyvault/vaults/mykv")},
		{"rbac officer at resource group purges", rbacVault(), mi("oid-officer"), SecretPurge, "db-password", result{Allowed: true, Model: "rbac", Status: 200, Action: "Microsoft.KeyVault/vaults/secrets/purge/action"}},
		{"rbac owner has no data actions", rbacVault(), mi("oid-owner"), SecretGet, "db-password", rbacDeny(mi("oid-owner"), get, dbRes)},
		{"rbac reader reads metadata only", rbacVault(), mi("oid-reader"), SecretList, "", result{Allowed: true, Model: "rbac", Status: 200, Action: list}},
		{"rbac reader cannot get", rbacVault(), mi("oid-reader"), SecretGet, "db-password", rbacDeny(mi("oid-reader"), get, dbRes)},
		{"rbac via group, case-insensitive scope", rbacVault(), mi("oid-member"), SecretDelete, "db-password", result{Allowed: true, Model: "rbac", Status: 200, Action: "Microsoft.KeyVault/vaults/secrets/delete"}},
		{"rbac certificate user gets secrets", rbacVault(), mi("oid-certuser"), SecretGet, "db-password", result{Allowed: true, Model: "rbac", Status: 200, Action: get}},
		{"rbac scope prefix of another vault name does not contain", rbacVault(), mi("oid-prefix"), SecretGet, "db-password", rbacDeny(mi("oid-prefix"), get, dbRes)},
		{"rbac conditional assignment not granted", rbacVault(), mi("oid-cond"), SecretGet, "db-password", rbacDeny(mi("oid-cond"), get, dbRes)},
		{"rbac ignores access policies", rbacVault(), mi("oid-nobody"), SecretGet, "db-password", rbacDeny(mi("oid-nobody"), get, dbRes)},
		{"access policy list only cannot get", policyVault(), mi("oid-reports"), SecretGet, "report", apDeny(mi("oid-reports"), "get")},
		{"access policy list allows list", policyVault(), mi("oid-reports"), SecretList, "", result{Allowed: true, Model: "access policy", Status: 200, Action: "secrets list"}},
		{"access policy All allows purge", policyVault(), mi("oid-admin"), SecretPurge, "x", result{Allowed: true, Model: "access policy", Status: 200, Action: "secrets purge"}},
		{"access policy via group, capitalised permission", policyVault(), mi("oid-member"), SecretGet, "x", result{Allowed: true, Model: "access policy", Status: 200, Action: "secrets get"}},
		{"access policy ignores role assignments", policyVault(), mi("oid-myapp"), SecretGet, "x", apDeny(mi("oid-myapp"), "get")},
		{"compound identity without OBO", policyVault(), mi("oid-user"), SecretGet, "x",
			result{Model: "access policy", Status: 403, Code: "Forbidden", InnerCode: "ForbiddenByPolicy", Action: "secrets get",
				Message: "The policy requires the caller 'appid=app-oid-user;oid=oid-user;iss=https://sts.windows.net/" + tenant + "/' to use on-behalf-of (OBO) flow. For more information on OBO, please see https://go.microsoft.com/fwlink/?linkid=2152310"}},
		{"compound identity with OBO through the application", policyVault(), Caller{ObjectID: "oid-user", TenantID: tenant, ApplicationID: "app-web", OnBehalfOf: true}, SecretGet, "x",
			result{Allowed: true, Model: "access policy", Status: 200, Action: "secrets get"}},
		{"policy tenant must match the caller's", policyVault(), Caller{ObjectID: "oid-foreign", TenantID: tenant, ApplicationID: "a"}, SecretGet, "x",
			apDeny(Caller{ObjectID: "oid-foreign", TenantID: tenant, ApplicationID: "a"}, "get")},
		{"groups claim counted in the message", policyVault(), Caller{ObjectID: "oid-reports", TenantID: tenant, ApplicationID: "a", NumGroups: 2}, SecretGet, "x",
			result{Model: "access policy", Status: 403, Code: "Forbidden", InnerCode: "AccessDenied", Action: "secrets get",
				Message: "The user, group or application 'appid=a;oid=oid-reports;numgroups=2;iss=https://sts.windows.net/" + tenant + "/' does not have secrets get permission on key vault 'complianceKV;location=eastus'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287"}},
		{"token from another tenant", policyVault(), Caller{ObjectID: "oid-admin", TenantID: "other-tenant", ApplicationID: "a"}, SecretGet, "x",
			result{Model: "access policy", Status: 401, Code: "Unauthorized", Action: "secrets get",
				Message: "AKV10032: Invalid issuer. Expected one of https://sts.windows.net/" + tenant + "/, found https://sts.windows.net/other-tenant/."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Authorize(e, tt.vault, tt.caller, tt.action, tt.secret)
			got := result{Allowed: d.Allowed, Model: d.Model, Status: d.Status, Code: d.Code, InnerCode: d.InnerCode, Action: d.Action, Message: d.Message}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Authorize (-want +got):\n%s", diff)
			}
			if d.Reason == "" || len(d.Evidence) == 0 {
				t.Errorf("decision has no reason or evidence: %+v", d)
			}
		})
	}
}

func TestAuthorizeObjectTypes(t *testing.T) {
	e := testEnv()
	a := New(e)
	tests := []struct {
		name   string
		vault  *azure.Vault
		oid    string
		typ    ObjectType
		allow  bool
		action string
	}{
		{"cert user reads certificates", rbacVault(), "oid-certuser", TypeCert, true, "Microsoft.KeyVault/vaults/certificates/read"},
		{"secrets user cannot read keys", rbacVault(), "oid-myapp", TypeKey, false, "Microsoft.KeyVault/vaults/keys/read"},
		{"access policy keys get", policyVault(), "oid-admin", TypeKey, true, "keys get"},
		{"access policy secrets all does not give certificates", policyVault(), "oid-admin", TypeCert, false, "certificates get"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := a.AuthorizeObject(tt.vault, Caller{ObjectID: tt.oid, TenantID: tenant}, tt.typ, "get", "obj")
			if d.Allowed != tt.allow || d.Action != tt.action {
				t.Errorf("AuthorizeObject = allowed %v action %q, want %v %q (%s)", d.Allowed, d.Action, tt.allow, tt.action, d.Message)
			}
		})
	}
}
