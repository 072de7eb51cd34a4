// Package managedid lists the managed identities of an AKS cluster and what
// each may do through Azure role assignments: the cluster (control plane)
// identity, the kubelet identity that pulls images, the add-on identities
// (azurekeyvaultsecretsprovider-<cluster>, azurepolicy-<cluster>, ...) that
// AKS assigns to the node pools, and the user-assigned identities workloads
// federate with.
package managedid

import (
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// Kind is the role an identity plays for the cluster.
type Kind string

// The kinds.
const (
	KindCluster      Kind = "cluster"       // the control plane's identity
	KindKubelet      Kind = "kubelet"       // identityProfile.kubeletidentity, on every node
	KindAddon        Kind = "add-on"        // addonProfiles.<name>.identity, on every node
	KindUserAssigned Kind = "user-assigned" // for workloads (federated) or anything else
)

// Grant is one role assignment that applies to the identity.
type Grant struct {
	Role  string          `json:"role"`
	Scope string          `json:"scope"`
	Loc   source.Location `json:"location"`
	// What summarizes the data-plane or control-plane power for this
	// model: "AcrPull", "Key Vault secrets read", "Contributor on the node
	// resource group", ...
	What string `json:"what,omitempty"`
}

// Identity is one managed identity with its grants.
type Identity struct {
	Kind        Kind            `json:"kind"`
	Name        string          `json:"name"`
	Addon       string          `json:"addon,omitempty"`
	ClientID    string          `json:"clientId,omitempty"`
	PrincipalID string          `json:"principalId"`
	ResourceID  string          `json:"resourceId,omitempty"`
	OnNodes     bool            `json:"onNodes"` // reachable from every pod through IMDS
	Loc         source.Location `json:"location"`
	Grants      []Grant         `json:"grants"`
	Object      *azure.Identity `json:"-"`
}

// Inventory returns the cluster's identities (cluster, kubelet, add-ons),
// then every other user-assigned identity, each with its grants.
func Inventory(e *env.Environment) []Identity {
	roles := azrole.NewIndex(e.Azure.RoleAssignments, e.Directory)
	byPrincipal := map[string]*azure.Identity{}
	for _, id := range e.Azure.Identities {
		byPrincipal[strings.ToLower(id.PrincipalID)] = id
	}
	seen := map[string]bool{}
	var out []Identity
	add := func(it Identity) {
		k := strings.ToLower(it.PrincipalID)
		if k == "" || seen[k] {
			return
		}
		seen[k] = true
		if obj := byPrincipal[k]; obj != nil {
			it.Object = obj
			if it.Name == "" {
				it.Name = obj.Name
			}
			if it.Loc.File == "" {
				it.Loc = obj.Src
			}
		}
		nodeRG := ""
		if e.Cluster != nil {
			nodeRG = e.Cluster.NodeResourceGroup
		}
		for _, a := range roles.For(it.PrincipalID) {
			g := Grant{Role: a.RoleDefinitionName, Scope: a.Scope, Loc: a.Src}
			d := azrole.DefinitionOf(a)
			if d != nil {
				g.Role = d.Name
				g.What = describe(d, a.Scope, nodeRG)
			}
			it.Grants = append(it.Grants, g)
		}
		out = append(out, it)
	}
	if c := e.Cluster; c != nil {
		if c.Identity != nil && c.Identity.PrincipalID != "" {
			add(Identity{Kind: KindCluster, Name: c.Name + " (" + c.Identity.Type + ")", PrincipalID: c.Identity.PrincipalID, Loc: c.Src})
		}
		if k := c.KubeletIdentity(); k != nil {
			add(Identity{Kind: KindKubelet, ClientID: k.ClientID, PrincipalID: k.ObjectID, ResourceID: k.ResourceID, OnNodes: true, Loc: c.Src, Name: lastSegment(k.ResourceID)})
		}
		names := make([]string, 0, len(c.AddonProfiles))
		for n := range c.AddonProfiles {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			a := c.AddonProfiles[n]
			if a == nil || !a.Enabled || a.Identity == nil {
				continue
			}
			add(Identity{Kind: KindAddon, Addon: n, ClientID: a.Identity.ClientID, PrincipalID: a.Identity.ObjectID, ResourceID: a.Identity.ResourceID, OnNodes: true, Loc: c.Src, Name: lastSegment(a.Identity.ResourceID)})
		}
	}
	for _, id := range e.Azure.Identities {
		add(Identity{Kind: KindUserAssigned, Name: id.Name, ClientID: id.ClientID, PrincipalID: id.PrincipalID, ResourceID: id.ID, Loc: id.Src})
	}
	return out
}

func lastSegment(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

// describe says what a role at a scope gives, in the terms that matter for
// this cluster.
func describe(d *azrole.Definition, scope, nodeRG string) string {
	var parts []string
	if d.AllowsAction("Microsoft.ContainerRegistry/registries/pull/read") && strings.Contains(strings.ToLower(scope), "/registries/") {
		parts = append(parts, "pulls images from registry "+lastSegment(scope))
	}
	switch {
	case d.AllowsDataAction("Microsoft.KeyVault/vaults/secrets/setSecret/action"):
		parts = append(parts, "reads and writes Key Vault secrets")
	case d.AllowsDataAction("Microsoft.KeyVault/vaults/secrets/getSecret/action"):
		parts = append(parts, "reads Key Vault secrets")
	}
	if d.AllowsAction("Microsoft.KeyVault/vaults/write") && !d.AllowsAction("Microsoft.Authorization/roleAssignments/write") {
		parts = append(parts, "can edit vault access policies (grant itself data access on access-policy vaults)")
	}
	if d.AllowsAction("Microsoft.Authorization/roleAssignments/write") {
		parts = append(parts, "can assign roles (grant itself anything in scope)")
	}
	if nodeRG != "" && d.AllowsAction("Microsoft.Compute/virtualMachineScaleSets/write") &&
		strings.HasSuffix(strings.ToLower(scope), "/resourcegroups/"+strings.ToLower(nodeRG)) {
		parts = append(parts, "controls the node resource group (VMSS, disks, network)")
	}
	if d.AllowsAction("Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write") {
		parts = append(parts, "can add federated credentials (let any issuer become the identity)")
	}
	return strings.Join(parts, "; ")
}
