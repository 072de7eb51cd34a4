package secretsstore

import (
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/keyvault"
	"github.com/akssec/akssec/internal/source"
)

// Reader is a principal Key Vault lets get a secret's value.
type Reader struct {
	Vault, Secret string
	PrincipalID   string
	// Principal is the directory object (nil when the directory lacks it).
	Principal *entra.Principal
	// Identity is set when the principal is a user-assigned managed
	// identity of the snapshot.
	Identity *azure.Identity
	// Model is "rbac" or "access policy"; Via names the role assignment or
	// access policy that grants.
	Model, Via string
	Evidence   []source.Location
}

// Name names the reader for people.
func (rd Reader) Name() string {
	switch {
	case rd.Identity != nil:
		return "managed identity " + rd.Identity.Name
	case rd.Principal != nil:
		return rd.Principal.String()
	}
	return "principal " + rd.PrincipalID
}

// Readers returns every principal that may get the secret, as Key Vault
// decides (groups are returned as groups; expand them with the directory).
// The secret need not be in the snapshot's secret list.
func (r *Resolver) Readers(vaultName, secret string) []Reader {
	v := r.Vault(vaultName)
	if v == nil {
		return nil
	}
	candidates := map[string]bool{}
	if v.RBAC() {
		res := strings.TrimSuffix(v.ID, "/") + "/secrets/" + secret
		for _, a := range r.kv.Roles().All() {
			if azrole.ScopeContains(a.Scope, res) {
				candidates[strings.ToLower(a.PrincipalID)] = true
			}
		}
	} else {
		for _, p := range v.Properties.AccessPolicies {
			if p.ApplicationID == nil || *p.ApplicationID == "" {
				candidates[strings.ToLower(p.ObjectID)] = true
			}
		}
	}
	ids := make([]string, 0, len(candidates))
	for id := range candidates {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Reader
	for _, id := range ids {
		p := r.e.Directory.ByID(id)
		c := keyvault.Caller{ObjectID: id, TenantID: v.Properties.TenantID}
		if p != nil {
			c.ApplicationID = p.AppID
		}
		d := r.kv.Authorize(v, c, keyvault.SecretGet, secret)
		if !d.Allowed {
			continue
		}
		rd := Reader{Vault: v.Name, Secret: secret, PrincipalID: id, Principal: p, Model: d.Model, Via: d.Reason, Evidence: d.Evidence}
		if p != nil && p.Identity != nil {
			rd.Identity = p.Identity
		} else {
			for _, mi := range r.fed.Identities() {
				if strings.EqualFold(mi.PrincipalID, id) {
					rd.Identity = mi
				}
			}
		}
		out = append(out, rd)
	}
	return out
}

// AllReaders returns the readers of every secret of every vault's secret
// list in the snapshot, for the cross-layer graph.
func (r *Resolver) AllReaders() []Reader {
	var out []Reader
	vaults := make([]string, 0, len(r.vaults))
	for n := range r.vaults {
		vaults = append(vaults, n)
	}
	sort.Strings(vaults)
	for _, vn := range vaults {
		names := make([]string, 0, len(r.secrets[vn]))
		for _, it := range r.secrets[vn] {
			names = append(names, it.SecretName())
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, r.Readers(r.vaults[vn].Name, n)...)
		}
	}
	return out
}

// Consumer is a pod whose secrets-store volume authenticates as an identity:
// the pod (and whoever can create pods with its ServiceAccount, or any pod
// on the node for VM managed identities) becomes the identity.
type Consumer struct {
	Namespace, Pod, ServiceAccount string
	PodRef                         string
	Class                          string
	Mode                           IdentityMode
	Identity                       *azure.Identity
	Vault                          string
	Status                         Status
	Loc                            source.Location
}

// Consumers resolves every pod's secrets-store volumes.
func (r *Resolver) Consumers() []Consumer {
	var out []Consumer
	for _, p := range r.e.Pods {
		if len(SecretsStoreVolumes(p.Pod)) == 0 {
			continue
		}
		m := r.Resolve(p)
		sa := p.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		for _, v := range m.Volumes {
			c := Consumer{Namespace: p.Namespace, Pod: p.Name, PodRef: p.Ref(), ServiceAccount: sa, Class: v.Class, Mode: v.Mode, Identity: v.Identity, Status: v.Status, Loc: p.Loc}
			if v.Vault != nil {
				c.Vault = v.Vault.Name
			}
			out = append(out, c)
		}
	}
	return out
}
