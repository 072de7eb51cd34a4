// Package keyvault decides Azure Key Vault data-plane authorization exactly
// as Key Vault does: by access policies (objectId or a group of the caller,
// tenantId, optional applicationId compound identity that requires the
// on-behalf-of flow, per-type permission lists with "all") when
// enableRbacAuthorization is not true, and by Azure RBAC role assignments
// (data actions of the role, at the vault or the object scope or above)
// when it is. Denials carry Key Vault's status, error codes and message.
//
// Authorize is the one-call form; New prepares an Authorizer (role
// assignments indexed by principal) for many decisions. Both are safe for
// concurrent use and never see a secret value.
package keyvault

import (
	"fmt"
	"strings"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// SecretAction is a secret data-plane operation, named as access policies
// name the permission.
type SecretAction string

// The secret operations.
const (
	SecretGet     SecretAction = "get"
	SecretList    SecretAction = "list"
	SecretSet     SecretAction = "set"
	SecretDelete  SecretAction = "delete"
	SecretRecover SecretAction = "recover"
	SecretPurge   SecretAction = "purge"
	SecretBackup  SecretAction = "backup"
	SecretRestore SecretAction = "restore"
)

// SecretActions lists every secret operation.
var SecretActions = []SecretAction{SecretGet, SecretList, SecretSet, SecretDelete, SecretRecover, SecretPurge, SecretBackup, SecretRestore}

// ObjectType is a Key Vault object type as the CSI provider names it.
type ObjectType string

// The object types.
const (
	TypeSecret ObjectType = "secret"
	TypeKey    ObjectType = "key"
	TypeCert   ObjectType = "cert"
)

// Caller is the principal in the access token: oid, tid, appid. OnBehalfOf
// is true for a token obtained through the OBO flow (a user via an
// application); tokens of managed identities and workload identity never are.
type Caller struct {
	ObjectID, TenantID, ApplicationID string
	OnBehalfOf                        bool
	// NumGroups is the number of groups in the token's groups claim; Key
	// Vault names it in messages when non-zero (tokens of managed
	// identities carry none).
	NumGroups int
}

// String renders the caller as Key Vault does in its error messages.
func (c Caller) String() string {
	if c.NumGroups > 0 {
		return fmt.Sprintf("appid=%s;oid=%s;numgroups=%d;iss=https://sts.windows.net/%s/", c.ApplicationID, c.ObjectID, c.NumGroups, c.TenantID)
	}
	return fmt.Sprintf("appid=%s;oid=%s;iss=https://sts.windows.net/%s/", c.ApplicationID, c.ObjectID, c.TenantID)
}

// Models.
const (
	ModelAccessPolicy = "access policy"
	ModelRBAC         = "rbac"
)

// Decision is Key Vault's answer to one operation.
type Decision struct {
	Allowed bool
	// Model is "access policy" or "rbac".
	Model string
	// Status is the HTTP status Key Vault returns: 200, 401 or 403.
	Status int
	// Code is the error code ("Forbidden", "Unauthorized"), InnerCode the
	// innererror code ("AccessDenied" for a missing access-policy
	// permission, "ForbiddenByPolicy" for a compound identity without OBO,
	// "ForbiddenByRbac" for RBAC). Empty when allowed.
	Code, InnerCode string
	// Message is Key Vault's error message; empty when allowed.
	Message string
	// Action is what was checked: the access-policy permission
	// ("secrets get") or the RBAC data action.
	Action string
	// Resource is the ARM ID of the vault or object the action applies to.
	Resource string
	// Reason says in one line why, for people ("access policy for object
	// 1234 grants secrets get, list").
	Reason string
	// Evidence are the vault, access policy and role assignments decided on.
	Evidence []source.Location
	// Grants are the role assignments that allow (RBAC).
	Grants []azrole.Grant
	// Conditional are assignments that would grant if their ABAC condition
	// holds; akssec does not evaluate conditions.
	Conditional []azrole.Grant
}

// Authorizer decides Key Vault operations for one Environment.
type Authorizer struct {
	dir   *entra.Directory
	roles *azrole.Index
}

// New prepares an Authorizer: the role assignments indexed by principal.
func New(e *env.Environment) *Authorizer {
	return &Authorizer{dir: e.Directory, roles: azrole.NewIndex(e.Azure.RoleAssignments, e.Directory)}
}

// Roles is the prepared role-assignment index.
func (a *Authorizer) Roles() *azrole.Index { return a.roles }

// Authorize decides a secret operation on a vault for a caller, as Key
// Vault does (see the package comment). secretName is ignored for list
// (a vault-level operation). It prepares an index on every call; use New
// for many decisions.
func Authorize(e *env.Environment, vault *azure.Vault, c Caller, action SecretAction, secretName string) Decision {
	return New(e).Authorize(vault, c, action, secretName)
}

// Authorize decides a secret operation (see the package-level Authorize).
func (a *Authorizer) Authorize(vault *azure.Vault, c Caller, action SecretAction, secretName string) Decision {
	return a.AuthorizeObject(vault, c, TypeSecret, string(action), secretName)
}

// dataAction maps (type, permission) to the RBAC data action and the
// resource collection Key Vault checks.
func dataAction(t ObjectType, perm string) (op, collection string) {
	switch t {
	case TypeKey:
		switch perm {
		case "get", "list":
			return "Microsoft.KeyVault/vaults/keys/read", "keys"
		case "delete":
			return "Microsoft.KeyVault/vaults/keys/delete", "keys"
		case "create", "import", "update", "backup", "restore", "recover", "purge", "encrypt", "decrypt", "sign", "verify", "release", "rotate":
			return "Microsoft.KeyVault/vaults/keys/" + perm + "/action", "keys"
		case "wrapkey":
			return "Microsoft.KeyVault/vaults/keys/wrap/action", "keys"
		case "unwrapkey":
			return "Microsoft.KeyVault/vaults/keys/unwrap/action", "keys"
		}
		return "Microsoft.KeyVault/vaults/keys/" + perm + "/action", "keys"
	case TypeCert:
		switch perm {
		case "get", "list":
			return "Microsoft.KeyVault/vaults/certificates/read", "certificates"
		case "delete":
			return "Microsoft.KeyVault/vaults/certificates/delete", "certificates"
		}
		return "Microsoft.KeyVault/vaults/certificates/" + perm + "/action", "certificates"
	}
	switch perm {
	case "get":
		return "Microsoft.KeyVault/vaults/secrets/getSecret/action", "secrets"
	case "list":
		return "Microsoft.KeyVault/vaults/secrets/readMetadata/action", "secrets"
	case "set":
		return "Microsoft.KeyVault/vaults/secrets/setSecret/action", "secrets"
	case "delete":
		return "Microsoft.KeyVault/vaults/secrets/delete", "secrets"
	}
	return "Microsoft.KeyVault/vaults/secrets/" + perm + "/action", "secrets"
}

// policyCategory is the access-policy permission list and its name in
// messages ("secrets", "keys", "certificates").
func policyCategory(p azure.Permissions, t ObjectType) ([]string, string) {
	switch t {
	case TypeKey:
		return p.Keys, "keys"
	case TypeCert:
		return p.Certificates, "certificates"
	}
	return p.Secrets, "secrets"
}

// AuthorizeObject decides an operation on a secret, key or certificate.
// perm is the access-policy permission name in lower case ("get", "list",
// "set", "wrapkey", ...). List operations apply to the vault, the others to
// the object.
func (a *Authorizer) AuthorizeObject(vault *azure.Vault, c Caller, t ObjectType, perm, name string) Decision {
	perm = strings.ToLower(perm)
	op, coll := dataAction(t, perm)
	resource := vault.ID
	if perm != "list" && name != "" {
		resource = strings.TrimSuffix(vault.ID, "/") + "/" + coll + "/" + name
	}
	d := Decision{Resource: resource, Evidence: []source.Location{vault.Src}}
	if vault.RBAC() {
		d.Model, d.Action = ModelRBAC, op
	} else {
		_, cat := policyCategory(azure.Permissions{}, t)
		d.Model, d.Action = ModelAccessPolicy, cat+" "+perm
	}
	if vt := vault.Properties.TenantID; vt != "" && c.TenantID != "" && !strings.EqualFold(vt, c.TenantID) {
		d.Status, d.Code = 401, "Unauthorized"
		d.Message = fmt.Sprintf("AKV10032: Invalid issuer. Expected one of https://sts.windows.net/%s/, found https://sts.windows.net/%s/.", vt, c.TenantID)
		d.Reason = fmt.Sprintf("the token's tenant %s is not the vault's tenant %s", c.TenantID, vt)
		return d
	}
	if vault.RBAC() {
		return a.rbac(vault, c, op, d)
	}
	return a.accessPolicy(vault, c, t, perm, d)
}

func (a *Authorizer) accessPolicy(vault *azure.Vault, c Caller, t ObjectType, perm string, d Decision) Decision {
	ids := map[string]bool{strings.ToLower(c.ObjectID): true}
	if a.dir != nil {
		for _, g := range a.dir.TransitiveGroups(c.ObjectID) {
			ids[g] = true
		}
	}
	var granted []string
	obo := false
	for i := range vault.Properties.AccessPolicies {
		p := &vault.Properties.AccessPolicies[i]
		if !ids[strings.ToLower(p.ObjectID)] || !strings.EqualFold(p.TenantID, c.TenantID) {
			continue
		}
		perms, _ := policyCategory(p.Permissions, t)
		if p.ApplicationID != nil && *p.ApplicationID != "" {
			// Compound identity: the entry applies only to a user calling
			// through that application with the OBO flow.
			if !c.OnBehalfOf || !strings.EqualFold(*p.ApplicationID, c.ApplicationID) {
				if hasPerm(perms, perm) {
					obo = true
				}
				continue
			}
		}
		if hasPerm(perms, perm) {
			granted = append(granted, "access policy for object "+p.ObjectID)
		}
	}
	if len(granted) > 0 {
		d.Allowed, d.Status = true, 200
		d.Reason = strings.Join(granted, "; ") + " grants " + d.Action
		return d
	}
	d.Status, d.Code = 403, "Forbidden"
	if obo {
		d.InnerCode = "ForbiddenByPolicy"
		d.Message = fmt.Sprintf("The policy requires the caller '%s' to use on-behalf-of (OBO) flow. For more information on OBO, please see https://go.microsoft.com/fwlink/?linkid=2152310", c)
		d.Reason = "the only access policy granting " + d.Action + " is a compound identity (applicationId set), which requires the on-behalf-of flow"
		return d
	}
	d.InnerCode = "AccessDenied"
	d.Message = fmt.Sprintf("The user, group or application '%s' does not have %s permission on key vault '%s;location=%s'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287", c, d.Action, vault.Name, vault.Location)
	d.Reason = "no access policy of the vault grants " + d.Action + " to object " + c.ObjectID + " or its groups"
	return d
}

// hasPerm reports whether a permission list holds perm or "all",
// case-insensitively (the portal writes "Get", the CLI "get").
func hasPerm(perms []string, perm string) bool {
	for _, p := range perms {
		if strings.EqualFold(p, perm) || strings.EqualFold(p, "all") {
			return true
		}
	}
	return false
}

func (a *Authorizer) rbac(vault *azure.Vault, c Caller, op string, d Decision) Decision {
	grants, cond := a.roles.DataActionGrants(c.ObjectID, d.Resource, op)
	d.Grants, d.Conditional = grants, cond
	for _, g := range grants {
		d.Evidence = append(d.Evidence, g.Assignment.Src)
	}
	for _, g := range cond {
		d.Evidence = append(d.Evidence, g.Assignment.Src)
	}
	if len(grants) > 0 {
		d.Allowed, d.Status = true, 200
		names := make([]string, len(grants))
		for i, g := range grants {
			names[i] = fmt.Sprintf("%s at %s", g.Role.Name, g.Assignment.Scope)
		}
		d.Reason = strings.Join(names, "; ") + " grants " + op
		return d
	}
	d.Status, d.Code, d.InnerCode = 403, "Forbidden", "ForbiddenByRbac"
	d.Message = fmt.Sprintf("Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: %s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nDenyAssignmentId: null\r\nDecisionReason: 'DeniedWithNoValidRBAC' \r\nVault: %s;location=%s\r\n",
		c, op, strings.ToLower(d.Resource), vault.Name, vault.Location)
	d.Reason = "no role assignment of object " + c.ObjectID + " or its groups grants " + op + " at " + d.Resource + " or above"
	if len(cond) > 0 {
		d.Reason += fmt.Sprintf(" (%d conditional assignment(s) would, if their ABAC condition holds; akssec does not evaluate conditions)", len(cond))
	}
	return d
}

// ErrorBody is Key Vault's JSON error body for a denial, as the REST API
// returns it: {"error":{"code","message","innererror":{"code"}}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the error object.
type ErrorDetail struct {
	Code       string      `json:"code"`
	Message    string      `json:"message"`
	InnerError *InnerError `json:"innererror,omitempty"`
}

// InnerError is the innererror object.
type InnerError struct {
	Code string `json:"code"`
}

// Body returns the REST error body of a denial (zero value when allowed).
func (d Decision) Body() ErrorBody {
	if d.Allowed {
		return ErrorBody{}
	}
	b := ErrorBody{Error: ErrorDetail{Code: d.Code, Message: d.Message}}
	if d.InnerCode != "" {
		b.Error.InnerError = &InnerError{Code: d.InnerCode}
	}
	return b
}

// SecretNotFound is Key Vault's 404 for a secret that does not exist
// (checked after authorization).
func SecretNotFound(name string) ErrorBody {
	return ErrorBody{Error: ErrorDetail{Code: "SecretNotFound", Message: fmt.Sprintf("A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name)}}
}
