// Package azrole decides what Azure role assignments grant: the built-in
// role definitions akssec reasons about (Key Vault data roles, AcrPull,
// Owner, Contributor, ...) by their stable GUIDs, action and data-action
// wildcard matching as Azure RBAC does it (case-insensitive, `*` matches any
// run of characters), and scope containment (an assignment at a management
// group, subscription, resource group or resource applies to everything
// below it).
//
// An Index is built once from a snapshot's `az role assignment list --all`
// output and is safe for concurrent use.
package azrole

import (
	"strings"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/entra"
)

// Definition is a role definition's permissions (a single permissions
// block, as every built-in role akssec knows has).
type Definition struct {
	GUID           string
	Name           string
	Actions        []string
	NotActions     []string
	DataActions    []string
	NotDataActions []string
}

// Built-in role GUIDs (Azure built-in roles, security and containers pages).
const (
	Owner                               = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	Contributor                         = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	Reader                              = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	UserAccessAdministrator             = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	ManagedIdentityOperator             = "f1a07417-d97a-45cb-824c-7a7467783830"
	ManagedIdentityContributor          = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"
	AcrPull                             = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
	AcrPush                             = "8311e382-0749-4cb8-b61a-304f252e45ec"
	KeyVaultAdministrator               = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
	KeyVaultSecretsOfficer              = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	KeyVaultSecretsUser                 = "4633458b-17de-408a-b874-0445c86b69e6"
	KeyVaultReader                      = "21090545-7ca7-4776-b22c-e363652d74d2"
	KeyVaultCertificateUser             = "db79e9a7-68ee-4b58-9aeb-b90e7c24fcba"
	KeyVaultCertificatesOfficer         = "a4417e6f-fecd-4de8-b567-7b0420556985"
	KeyVaultCryptoOfficer               = "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
	KeyVaultCryptoUser                  = "12338af0-0e69-4776-bea7-57ae8d297424"
	KeyVaultCryptoServiceEncryptionUser = "e147488a-f6f5-4113-8e2d-b22465e65bf6"
	KeyVaultCryptoServiceReleaseUser    = "08bbd89e-9f13-488c-ac41-acfcb10c90ab"
	KeyVaultDataAccessAdministrator     = "8b54135c-b56d-4d72-a534-26097cfdc8d8"
	KeyVaultContributor                 = "f25e0fa2-a7c8-4377-a976-54943a77a395"
	KeyVaultPurgeOperator               = "a68e7c17-0ab2-4c09-9a58-125dae29748c"
)

var kvRead = []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
	"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*", "Microsoft.KeyVault/checkNameAvailability/read",
	"Microsoft.KeyVault/deletedVaults/read", "Microsoft.KeyVault/locations/*/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/operations/read"}

var builtins = builtinTable()

func builtinTable() map[string]*Definition {
	m := map[string]*Definition{}
	for _, d := range []*Definition{
		{GUID: Owner, Name: "Owner", Actions: []string{"*"}},
		{GUID: Contributor, Name: "Contributor", Actions: []string{"*"},
			NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete",
				"Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write", "Microsoft.Purview/consents/delete",
				"Microsoft.Resources/deploymentStacks/manageDenySetting/action", "Microsoft.Subscription/cancel/action", "Microsoft.Subscription/enable/action"}},
		{GUID: Reader, Name: "Reader", Actions: []string{"*/read"}},
		{GUID: UserAccessAdministrator, Name: "User Access Administrator", Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}},
		{GUID: ManagedIdentityOperator, Name: "Managed Identity Operator", Actions: []string{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Resources/deployments/*", "Microsoft.Support/*"}},
		{GUID: ManagedIdentityContributor, Name: "Managed Identity Contributor", Actions: []string{"Microsoft.ManagedIdentity/userAssignedIdentities/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/write", "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
			"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/subscriptions/resourceGroups/read",
			"Microsoft.Resources/deployments/*", "Microsoft.Support/*"}},
		{GUID: AcrPull, Name: "AcrPull", Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read"}},
		{GUID: AcrPush, Name: "AcrPush", Actions: []string{"Microsoft.ContainerRegistry/registries/pull/read", "Microsoft.ContainerRegistry/registries/push/write"}},
		{GUID: KeyVaultAdministrator, Name: "Key Vault Administrator", Actions: kvRead, DataActions: []string{"Microsoft.KeyVault/vaults/*"}},
		{GUID: KeyVaultSecretsOfficer, Name: "Key Vault Secrets Officer", Actions: kvRead, DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}},
		{GUID: KeyVaultSecretsUser, Name: "Key Vault Secrets User", DataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"}},
		{GUID: KeyVaultReader, Name: "Key Vault Reader", Actions: kvRead, DataActions: []string{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action"}},
		{GUID: KeyVaultCertificateUser, Name: "Key Vault Certificate User", DataActions: []string{"Microsoft.KeyVault/vaults/certificates/read",
			"Microsoft.KeyVault/vaults/secrets/getSecret/action", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", "Microsoft.KeyVault/vaults/keys/read"}},
		{GUID: KeyVaultCertificatesOfficer, Name: "Key Vault Certificates Officer", Actions: kvRead, DataActions: []string{"Microsoft.KeyVault/vaults/certificatecas/*",
			"Microsoft.KeyVault/vaults/certificates/*", "Microsoft.KeyVault/vaults/certificatecontacts/write"}},
		{GUID: KeyVaultCryptoOfficer, Name: "Key Vault Crypto Officer", Actions: kvRead, DataActions: []string{"Microsoft.KeyVault/vaults/keys/*", "Microsoft.KeyVault/vaults/keyrotationpolicies/*"}},
		{GUID: KeyVaultCryptoUser, Name: "Key Vault Crypto User", DataActions: []string{"Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/update/action",
			"Microsoft.KeyVault/vaults/keys/backup/action", "Microsoft.KeyVault/vaults/keys/encrypt/action", "Microsoft.KeyVault/vaults/keys/decrypt/action",
			"Microsoft.KeyVault/vaults/keys/wrap/action", "Microsoft.KeyVault/vaults/keys/unwrap/action", "Microsoft.KeyVault/vaults/keys/sign/action",
			"Microsoft.KeyVault/vaults/keys/verify/action"}},
		{GUID: KeyVaultCryptoServiceEncryptionUser, Name: "Key Vault Crypto Service Encryption User", Actions: []string{"Microsoft.EventGrid/eventSubscriptions/write",
			"Microsoft.EventGrid/eventSubscriptions/read", "Microsoft.EventGrid/eventSubscriptions/delete"},
			DataActions: []string{"Microsoft.KeyVault/vaults/keys/read", "Microsoft.KeyVault/vaults/keys/wrap/action", "Microsoft.KeyVault/vaults/keys/unwrap/action"}},
		{GUID: KeyVaultCryptoServiceReleaseUser, Name: "Key Vault Crypto Service Release User", DataActions: []string{"Microsoft.KeyVault/vaults/keys/release/action"}},
		{GUID: KeyVaultDataAccessAdministrator, Name: "Key Vault Data Access Administrator", Actions: []string{"Microsoft.Authorization/roleAssignments/write",
			"Microsoft.Authorization/roleAssignments/delete", "Microsoft.Authorization/*/read", "Microsoft.Resources/deployments/*",
			"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.KeyVault/vaults/*/read", "Microsoft.Support/*"}},
		{GUID: KeyVaultContributor, Name: "Key Vault Contributor", Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*",
			"Microsoft.KeyVault/*", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"},
			NotActions: []string{"Microsoft.KeyVault/locations/deletedVaults/purge/action", "Microsoft.KeyVault/hsmPools/*", "Microsoft.KeyVault/managedHsms/*"}},
		{GUID: KeyVaultPurgeOperator, Name: "Key Vault Purge Operator", Actions: []string{"Microsoft.Authorization/*/read", "Microsoft.KeyVault/locations/deletedVaults/purge/action"}},
	} {
		m[d.GUID] = d
	}
	return m
}

// Builtin returns the built-in role with the GUID (case-insensitive), or nil.
func Builtin(guid string) *Definition { return builtins[strings.ToLower(guid)] }

// Definition of an assignment: the built-in role its roleDefinitionId names,
// or, when the GUID is unknown, a built-in whose name equals
// roleDefinitionName. Nil for custom roles the snapshot does not define.
func DefinitionOf(a *azure.RoleAssignment) *Definition {
	if d := Builtin(a.RoleDefinitionGUID()); d != nil {
		return d
	}
	for _, d := range builtins {
		if a.RoleDefinitionName != "" && strings.EqualFold(d.Name, a.RoleDefinitionName) {
			return d
		}
	}
	return nil
}

// Match reports whether an action pattern (with `*` wildcards) matches an
// operation, case-insensitively, as Azure RBAC compares them.
func Match(pattern, op string) bool {
	return glob(strings.ToLower(pattern), strings.ToLower(op))
}

func glob(p, s string) bool {
	// Iterative wildcard match with backtracking on the last star.
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && p[pi] == s[si]:
			pi++
			si++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// AllowsAction reports whether the definition grants a control-plane action.
func (d *Definition) AllowsAction(op string) bool {
	return anyMatch(d.Actions, op) && !anyMatch(d.NotActions, op)
}

// AllowsDataAction reports whether the definition grants a data action.
func (d *Definition) AllowsDataAction(op string) bool {
	return anyMatch(d.DataActions, op) && !anyMatch(d.NotDataActions, op)
}

func anyMatch(ps []string, op string) bool {
	for _, p := range ps {
		if Match(p, op) {
			return true
		}
	}
	return false
}

// ScopeContains reports whether an assignment at scope applies to the
// resource ID: equal, or an ancestor by whole path segments,
// case-insensitively ("/" contains everything). Management-group scopes
// contain nothing here: the snapshot does not say which subscriptions a
// management group holds.
func ScopeContains(scope, resource string) bool {
	s := strings.ToLower(strings.TrimSuffix(scope, "/"))
	r := strings.ToLower(strings.TrimSuffix(resource, "/"))
	if s == "" {
		return true
	}
	return r == s || strings.HasPrefix(r, s+"/")
}

// Index holds the role assignments by principal.
type Index struct {
	dir         *entra.Directory
	byPrincipal map[string][]*azure.RoleAssignment
	all         []*azure.RoleAssignment
}

// NewIndex indexes role assignments; dir (may be nil) resolves the groups a
// principal belongs to, since assignments to a group apply to its members.
func NewIndex(assignments []*azure.RoleAssignment, dir *entra.Directory) *Index {
	ix := &Index{dir: dir, byPrincipal: map[string][]*azure.RoleAssignment{}, all: assignments}
	for _, a := range assignments {
		k := strings.ToLower(a.PrincipalID)
		ix.byPrincipal[k] = append(ix.byPrincipal[k], a)
	}
	return ix
}

// All returns every assignment.
func (ix *Index) All() []*azure.RoleAssignment { return ix.all }

// For returns the assignments that apply to a principal: its own (in
// snapshot order), then those of every group it belongs to transitively
// (groups by ID).
func (ix *Index) For(principalID string) []*azure.RoleAssignment {
	own := ix.byPrincipal[strings.ToLower(principalID)]
	if ix.dir == nil {
		return own
	}
	groups := ix.dir.TransitiveGroups(principalID)
	if len(groups) == 0 {
		return own
	}
	out := append([]*azure.RoleAssignment(nil), own...)
	for _, g := range groups {
		out = append(out, ix.byPrincipal[g]...)
	}
	return out
}

// Grant is one assignment that grants an operation.
type Grant struct {
	Assignment *azure.RoleAssignment
	Role       *Definition
}

// DataActionGrants returns the assignments of a principal, unconditional
// and at a scope containing resource, whose role grants the data action.
// Conditional assignments (ABAC) are returned separately: akssec does not
// evaluate conditions, and Azure grants only when the condition holds.
func (ix *Index) DataActionGrants(principalID, resource, op string) (grants, conditional []Grant) {
	for _, a := range ix.For(principalID) {
		d := DefinitionOf(a)
		if d == nil || !ScopeContains(a.Scope, resource) || !d.AllowsDataAction(op) {
			continue
		}
		if a.Condition != nil && strings.TrimSpace(*a.Condition) != "" {
			conditional = append(conditional, Grant{a, d})
			continue
		}
		grants = append(grants, Grant{a, d})
	}
	return grants, conditional
}

// ActionGrants returns the assignments of a principal at a scope containing
// resource whose role grants the control-plane action.
func (ix *Index) ActionGrants(principalID, resource, op string) []Grant {
	var out []Grant
	for _, a := range ix.For(principalID) {
		d := DefinitionOf(a)
		if d != nil && ScopeContains(a.Scope, resource) && d.AllowsAction(op) {
			out = append(out, Grant{a, d})
		}
	}
	return out
}
