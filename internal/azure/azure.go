// Package azure holds the Azure side of a snapshot as the az CLI prints it:
// the AKS cluster, the Entra directory (users, groups, memberships, service
// principals), managed identities and their federated credentials, Key Vaults
// and their secret lists, role assignments and policy assignments.
//
// The types keep only the fields akssec decides on; the JSON tags are the
// az CLI's camelCase output names, so files are read unchanged. Every object
// records its source location. Secret values are never part of this model:
// `az keyvault secret list` prints names and attributes only.
package azure

import (
	"strings"

	"github.com/akssec/akssec/internal/source"
)

// Data is everything loaded from a snapshot's azure/ directory.
type Data struct {
	Cluster              *ManagedCluster
	Users                []*User
	Groups               []*Group
	Members              []*GroupMembers // one per `az ad group member list --group ID` file
	ServicePrincipals    []*ServicePrincipal
	Identities           []*Identity
	FederatedCredentials []*FederatedCredential
	Vaults               []*Vault
	Secrets              []*SecretItem
	RoleAssignments      []*RoleAssignment
	PolicyAssignments    []*PolicyAssignment
}

// Empty reports whether nothing at all was loaded from azure/.
func (d *Data) Empty() bool {
	return d.Cluster == nil && len(d.Users) == 0 && len(d.Groups) == 0 && len(d.ServicePrincipals) == 0 &&
		len(d.Identities) == 0 && len(d.Vaults) == 0 && len(d.RoleAssignments) == 0 && len(d.PolicyAssignments) == 0
}

// ManagedCluster is `az aks show` output.
type ManagedCluster struct {
	Src                  source.Location          `json:"-"`
	ID                   string                   `json:"id"`
	Name                 string                   `json:"name"`
	Location             string                   `json:"location"`
	ResourceGroup        string                   `json:"resourceGroup"`
	NodeResourceGroup    string                   `json:"nodeResourceGroup"`
	KubernetesVersion    string                   `json:"kubernetesVersion"`
	CurrentKubernetesVer string                   `json:"currentKubernetesVersion"`
	FQDN                 string                   `json:"fqdn"`
	DisableLocalAccounts *bool                    `json:"disableLocalAccounts"`
	EnableRBAC           *bool                    `json:"enableRbac"`
	AADProfile           *AADProfile              `json:"aadProfile"`
	OIDCIssuerProfile    *OIDCIssuerProfile       `json:"oidcIssuerProfile"`
	SecurityProfile      *SecurityProfile         `json:"securityProfile"`
	NetworkProfile       *NetworkProfile          `json:"networkProfile"`
	AddonProfiles        map[string]*AddonProfile `json:"addonProfiles"`
	IdentityProfile      map[string]*UserIdentity `json:"identityProfile"`
	Identity             *ClusterIdentity         `json:"identity"`
	AgentPoolProfiles    []AgentPool              `json:"agentPoolProfiles"`
	APIServerAccess      *APIServerAccessProfile  `json:"apiServerAccessProfile"`
}

// LocalAccountsEnabled reports whether the static admin credential exists:
// local accounts are on unless disableLocalAccounts is true.
func (c *ManagedCluster) LocalAccountsEnabled() bool {
	return c.DisableLocalAccounts == nil || !*c.DisableLocalAccounts
}

// IssuerURL is the cluster's OIDC issuer URL exactly as AKS publishes it
// (with its trailing slash), or "" when the issuer is not enabled.
func (c *ManagedCluster) IssuerURL() string {
	if c.OIDCIssuerProfile == nil || !c.OIDCIssuerProfile.Enabled {
		return ""
	}
	return c.OIDCIssuerProfile.IssuerURL
}

// NetworkPolicyEngine is networkProfile.networkPolicy ("azure", "calico",
// "cilium", "none" or "" when unset, which means none).
func (c *ManagedCluster) NetworkPolicyEngine() string {
	if c.NetworkProfile == nil || c.NetworkProfile.NetworkPolicy == "" {
		return "none"
	}
	return strings.ToLower(c.NetworkProfile.NetworkPolicy)
}

// Addon returns the named add-on profile matched case-insensitively (az
// prints "azurepolicy" and "azureKeyvaultSecretsProvider"), or nil.
func (c *ManagedCluster) Addon(name string) *AddonProfile {
	for k, v := range c.AddonProfiles {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

// KubeletIdentity is identityProfile.kubeletidentity, or nil.
func (c *ManagedCluster) KubeletIdentity() *UserIdentity {
	for k, v := range c.IdentityProfile {
		if strings.EqualFold(k, "kubeletidentity") {
			return v
		}
	}
	return nil
}

// AADProfile is the managed Entra ID integration of a cluster.
type AADProfile struct {
	Managed             bool     `json:"managed"`
	EnableAzureRBAC     bool     `json:"enableAzureRbac"`
	AdminGroupObjectIDs []string `json:"adminGroupObjectIDs"`
	TenantID            string   `json:"tenantId"`
}

// OIDCIssuerProfile is the cluster's service-account token issuer.
type OIDCIssuerProfile struct {
	Enabled   bool   `json:"enabled"`
	IssuerURL string `json:"issuerUrl"`
}

// SecurityProfile holds the workload identity switch.
type SecurityProfile struct {
	WorkloadIdentity *struct {
		Enabled bool `json:"enabled"`
	} `json:"workloadIdentity"`
}

// NetworkProfile names the CNI and the network policy engine.
type NetworkProfile struct {
	NetworkPlugin     string `json:"networkPlugin"`
	NetworkPluginMode string `json:"networkPluginMode"`
	NetworkPolicy     string `json:"networkPolicy"`
	NetworkDataplane  string `json:"networkDataplane"`
	PodCIDR           string `json:"podCidr"`
	ServiceCIDR       string `json:"serviceCidr"`
	DNSServiceIP      string `json:"dnsServiceIp"`
}

// AddonProfile is one entry of addonProfiles.
type AddonProfile struct {
	Enabled  bool              `json:"enabled"`
	Config   map[string]string `json:"config"`
	Identity *UserIdentity     `json:"identity"`
}

// UserIdentity names a user-assigned managed identity by its three IDs.
type UserIdentity struct {
	ClientID   string `json:"clientId"`
	ObjectID   string `json:"objectId"`
	ResourceID string `json:"resourceId"`
}

// ClusterIdentity is the control plane's identity.
type ClusterIdentity struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	TenantID    string `json:"tenantId"`
}

// AgentPool is one node pool.
type AgentPool struct {
	Name               string `json:"name"`
	Mode               string `json:"mode"`
	OSType             string `json:"osType"`
	OSSKU              string `json:"osSku"`
	Count              int    `json:"count"`
	VMSize             string `json:"vmSize"`
	EnableNodePublicIP bool   `json:"enableNodePublicIp"`
}

// APIServerAccessProfile limits who reaches the API server.
type APIServerAccessProfile struct {
	EnablePrivateCluster bool     `json:"enablePrivateCluster"`
	AuthorizedIPRanges   []string `json:"authorizedIpRanges"`
}

// User is one element of `az ad user list` (Microsoft Graph user).
type User struct {
	Src               source.Location `json:"-"`
	ID                string          `json:"id"`
	DisplayName       string          `json:"displayName"`
	UserPrincipalName string          `json:"userPrincipalName"`
	Mail              string          `json:"mail"`
	UserType          string          `json:"userType"`
	AccountEnabled    *bool           `json:"accountEnabled"`
}

// Guest reports whether the user is a guest (B2B) account: userType Guest or,
// since `az ad user list` does not select userType, an #EXT# UPN.
func (u *User) Guest() bool {
	return strings.EqualFold(u.UserType, "Guest") || strings.Contains(strings.ToUpper(u.UserPrincipalName), "#EXT#")
}

// Group is one element of `az ad group list`.
type Group struct {
	Src             source.Location `json:"-"`
	ID              string          `json:"id"`
	DisplayName     string          `json:"displayName"`
	MailNickname    string          `json:"mailNickname"`
	SecurityEnabled bool            `json:"securityEnabled"`
	MailEnabled     bool            `json:"mailEnabled"`
	GroupTypes      []string        `json:"groupTypes"`
}

// GroupMembers is one `az ad group member list --group ID` file: the direct
// members of one group.
type GroupMembers struct {
	Src     source.Location
	GroupID string
	Members []*Member
}

// Member is one direct member of a group as Graph lists it.
type Member struct {
	Src               source.Location `json:"-"`
	ODataType         string          `json:"@odata.type"`
	ID                string          `json:"id"`
	DisplayName       string          `json:"displayName"`
	UserPrincipalName string          `json:"userPrincipalName"`
}

// Kind is the member's type: "user", "group", "servicePrincipal" or "" when
// the @odata.type is absent.
func (m *Member) Kind() string {
	return strings.TrimPrefix(m.ODataType, "#microsoft.graph.")
}

// ServicePrincipal is one element of `az ad sp list`. Managed identities
// appear here with servicePrincipalType "ManagedIdentity".
type ServicePrincipal struct {
	Src                  source.Location `json:"-"`
	ID                   string          `json:"id"`
	AppID                string          `json:"appId"`
	DisplayName          string          `json:"displayName"`
	ServicePrincipalType string          `json:"servicePrincipalType"`
	AppOwnerTenantID     string          `json:"appOwnerOrganizationId"`
	AlternativeNames     []string        `json:"alternativeNames"`
}

// Identity is one element of `az identity list`.
type Identity struct {
	Src           source.Location   `json:"-"`
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	ResourceGroup string            `json:"resourceGroup"`
	Location      string            `json:"location"`
	ClientID      string            `json:"clientId"`
	PrincipalID   string            `json:"principalId"`
	TenantID      string            `json:"tenantId"`
	Tags          map[string]string `json:"tags"`
}

// FederatedCredential is one element of `az identity federated-credential
// list`; Identity is filled from the file (the --identity-name argument).
type FederatedCredential struct {
	Src                      source.Location   `json:"-"`
	Identity                 string            `json:"-"`
	ID                       string            `json:"id"`
	Name                     string            `json:"name"`
	Issuer                   string            `json:"issuer"`
	Subject                  string            `json:"subject"`
	Audiences                []string          `json:"audiences"`
	ResourceGroup            string            `json:"resourceGroup"`
	ClaimsMatchingExpression *ClaimsExpression `json:"claimsMatchingExpression"`
}

// IdentityName is the user-assigned identity the credential belongs to,
// taken from the file name or, failing that, from the resource ID.
func (f *FederatedCredential) IdentityName() string {
	if f.Identity != "" {
		return f.Identity
	}
	parts := strings.Split(f.ID, "/")
	for i, p := range parts {
		if strings.EqualFold(p, "userAssignedIdentities") && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

// ClaimsExpression is a flexible federated credential's matching expression.
type ClaimsExpression struct {
	LanguageVersion int    `json:"languageVersion"`
	Value           string `json:"value"`
}

// Vault is `az keyvault show` output.
type Vault struct {
	Src           source.Location `json:"-"`
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	Location      string          `json:"location"`
	ResourceGroup string          `json:"resourceGroup"`
	Properties    VaultProperties `json:"properties"`
}

// VaultProperties is the properties block of a vault.
type VaultProperties struct {
	TenantID                  string         `json:"tenantId"`
	VaultURI                  string         `json:"vaultUri"`
	EnableRBACAuthorization   *bool          `json:"enableRbacAuthorization"`
	EnableSoftDelete          *bool          `json:"enableSoftDelete"`
	EnablePurgeProtection     *bool          `json:"enablePurgeProtection"`
	SoftDeleteRetentionInDays int            `json:"softDeleteRetentionInDays"`
	PublicNetworkAccess       string         `json:"publicNetworkAccess"`
	AccessPolicies            []AccessPolicy `json:"accessPolicies"`
	NetworkACLs               *NetworkACLs   `json:"networkAcls"`
}

// RBAC reports whether the vault authorizes data-plane calls with Azure RBAC
// rather than access policies.
func (v *Vault) RBAC() bool {
	return v.Properties.EnableRBACAuthorization != nil && *v.Properties.EnableRBACAuthorization
}

// AccessPolicy is one access-policy entry of a vault.
type AccessPolicy struct {
	TenantID      string      `json:"tenantId"`
	ObjectID      string      `json:"objectId"`
	ApplicationID *string     `json:"applicationId"`
	Permissions   Permissions `json:"permissions"`
}

// Permissions are an access policy's per-type permission lists.
type Permissions struct {
	Keys         []string `json:"keys"`
	Secrets      []string `json:"secrets"`
	Certificates []string `json:"certificates"`
	Storage      []string `json:"storage"`
}

// NetworkACLs is the vault firewall.
type NetworkACLs struct {
	Bypass        string `json:"bypass"`
	DefaultAction string `json:"defaultAction"`
}

// SecretItem is one element of `az keyvault secret list`: a name and
// attributes, never a value. Vault is filled from the file.
type SecretItem struct {
	Src         source.Location   `json:"-"`
	Vault       string            `json:"-"`
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	ContentType string            `json:"contentType"`
	Managed     *bool             `json:"managed"`
	Tags        map[string]string `json:"tags"`
	Attributes  struct {
		Enabled       *bool  `json:"enabled"`
		Expires       string `json:"expires"`
		NotBefore     string `json:"notBefore"`
		RecoveryLevel string `json:"recoveryLevel"`
	} `json:"attributes"`
}

// SecretName is the secret's name, from the name field or the id URL.
func (s *SecretItem) SecretName() string {
	if s.Name != "" {
		return s.Name
	}
	parts := strings.Split(strings.TrimSuffix(s.ID, "/"), "/")
	for i, p := range parts {
		if p == "secrets" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

// RoleAssignment is one element of `az role assignment list --all`.
type RoleAssignment struct {
	Src                source.Location `json:"-"`
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	PrincipalID        string          `json:"principalId"`
	PrincipalName      string          `json:"principalName"`
	PrincipalType      string          `json:"principalType"`
	RoleDefinitionID   string          `json:"roleDefinitionId"`
	RoleDefinitionName string          `json:"roleDefinitionName"`
	Scope              string          `json:"scope"`
	Condition          *string         `json:"condition"`
	ConditionVersion   *string         `json:"conditionVersion"`
}

// RoleDefinitionGUID is the last segment of roleDefinitionId, the built-in
// role's stable ID.
func (r *RoleAssignment) RoleDefinitionGUID() string {
	i := strings.LastIndex(r.RoleDefinitionID, "/")
	return strings.ToLower(r.RoleDefinitionID[i+1:])
}

// PolicyAssignment is one element of `az policy assignment list`.
type PolicyAssignment struct {
	Src                source.Location           `json:"-"`
	ID                 string                    `json:"id"`
	Name               string                    `json:"name"`
	DisplayName        string                    `json:"displayName"`
	Description        string                    `json:"description"`
	PolicyDefinitionID string                    `json:"policyDefinitionId"`
	Scope              string                    `json:"scope"`
	NotScopes          []string                  `json:"notScopes"`
	EnforcementMode    string                    `json:"enforcementMode"`
	Parameters         map[string]ParameterValue `json:"parameters"`
}

// ParameterValue is one assignment parameter, `{"value": ...}`.
type ParameterValue struct {
	Value any `json:"value"`
}

// DefinitionGUID is the last segment of policyDefinitionId.
func (p *PolicyAssignment) DefinitionGUID() string {
	i := strings.LastIndex(p.PolicyDefinitionID, "/")
	return strings.ToLower(p.PolicyDefinitionID[i+1:])
}

// IsInitiative reports whether the assignment assigns a policy set.
func (p *PolicyAssignment) IsInitiative() bool {
	return strings.Contains(strings.ToLower(p.PolicyDefinitionID), "/policysetdefinitions/")
}
