package workloadid

import (
	"strings"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
)

// Subject is the sub claim of a Kubernetes service account token, the
// subject a federated credential must name.
func Subject(namespace, serviceAccount string) string {
	return "system:serviceaccount:" + namespace + ":" + serviceAccount
}

// ParseSubject splits a Kubernetes service account subject; ok is false for
// any other subject.
func ParseSubject(sub string) (namespace, serviceAccount string, ok bool) {
	rest, found := strings.CutPrefix(sub, "system:serviceaccount:")
	if !found {
		return "", "", false
	}
	ns, sa, found := strings.Cut(rest, ":")
	if !found || ns == "" || sa == "" || strings.Contains(sa, ":") {
		return "", "", false
	}
	return ns, sa, true
}

// Federation is the prepared form of Exchange: identities indexed by client
// ID and their federated credentials. Immutable and safe for concurrent use.
type Federation struct {
	tenant     string
	issuer     string
	byClientID map[string]*azure.Identity
	byName     map[string][]*azure.Identity
	fics       map[*azure.Identity][]*azure.FederatedCredential
	identities []*azure.Identity
}

// NewFederation prepares the identities and credentials of an Environment.
func NewFederation(e *env.Environment) *Federation {
	f := &Federation{tenant: tenantOf(e), byClientID: map[string]*azure.Identity{}, byName: map[string][]*azure.Identity{},
		fics: map[*azure.Identity][]*azure.FederatedCredential{}, identities: e.Azure.Identities}
	if e.Cluster != nil {
		f.issuer = e.Cluster.IssuerURL()
	}
	byID := map[string]*azure.Identity{}
	for _, id := range e.Azure.Identities {
		if id.ClientID != "" {
			f.byClientID[strings.ToLower(id.ClientID)] = id
		}
		f.byName[strings.ToLower(id.Name)] = append(f.byName[strings.ToLower(id.Name)], id)
		if id.ID != "" {
			byID[strings.ToLower(id.ID)] = id
		}
	}
	for _, c := range e.Azure.FederatedCredentials {
		var owner *azure.Identity
		if i := strings.Index(strings.ToLower(c.ID), "/federatedidentitycredentials/"); i > 0 {
			owner = byID[strings.ToLower(c.ID[:i])]
		}
		if owner == nil {
			if ids := f.byName[strings.ToLower(c.IdentityName())]; len(ids) > 0 {
				owner = ids[0]
			}
		}
		if owner != nil {
			f.fics[owner] = append(f.fics[owner], c)
		}
	}
	return f
}

// Tenant is the directory's tenant ID.
func (f *Federation) Tenant() string { return f.tenant }

// Issuer is the cluster's OIDC issuer URL ("" without aks.json or with the
// issuer off).
func (f *Federation) Issuer() string { return f.issuer }

// Identities returns every user-assigned identity.
func (f *Federation) Identities() []*azure.Identity { return f.identities }

// Identity returns the identity with the client ID, or nil.
func (f *Federation) Identity(clientID string) *azure.Identity {
	return f.byClientID[strings.ToLower(clientID)]
}

// IdentityByName returns the identities with the name (one per resource
// group at most).
func (f *Federation) IdentityByName(name string) []*azure.Identity {
	return f.byName[strings.ToLower(name)]
}

// Credentials returns an identity's federated credentials.
func (f *Federation) Credentials(id *azure.Identity) []*azure.FederatedCredential { return f.fics[id] }

// Exchange decides a token exchange like the package-level Exchange.
func (f *Federation) Exchange(clientID, issuer, subject string, audiences []string) (*ExchangeResult, error) {
	id := f.Identity(clientID)
	if id == nil {
		return nil, ApplicationNotFound(clientID, f.tenant)
	}
	return exchangeWith(id, f.fics[id], issuer, subject, audiences)
}

// Binding is a ServiceAccount that can become an identity: a federated
// credential of the identity names the ServiceAccount's subject with the
// cluster's issuer and the token-exchange audience.
type Binding struct {
	Namespace, ServiceAccount string
	Identity                  *azure.Identity
	Credential                *azure.FederatedCredential
}

// Bindings returns, for every identity, the ServiceAccounts of this cluster
// that can exchange a token for it (issuer equal to the cluster's, subject
// system:serviceaccount:NS:SA, audience api://AzureADTokenExchange). The
// ServiceAccount need not exist yet: whoever creates it becomes the
// identity. Without the cluster's issuer, credentials are matched on
// subject and audience only.
func (f *Federation) Bindings() []Binding {
	var out []Binding
	for _, id := range f.identities {
		for _, c := range f.fics[id] {
			if f.issuer != "" && c.Issuer != f.issuer {
				continue
			}
			ns, sa, ok := ParseSubject(c.Subject)
			if !ok {
				continue
			}
			aud := false
			for _, a := range c.Audiences {
				aud = aud || a == TokenExchangeAudience
			}
			if aud {
				out = append(out, Binding{Namespace: ns, ServiceAccount: sa, Identity: id, Credential: c})
			}
		}
	}
	return out
}

// ExchangeInTenant decides an exchange sent to a tenant's token endpoint
// (/{tenant}/oauth2/v2.0/token): an identity of another tenant is not found
// there (AADSTS700016 naming that tenant). An empty tenant skips the check.
func (f *Federation) ExchangeInTenant(tenant, clientID, issuer, subject string, audiences []string) (*ExchangeResult, error) {
	id := f.Identity(clientID)
	if id == nil || (tenant != "" && id.TenantID != "" && !strings.EqualFold(tenant, id.TenantID)) {
		if tenant == "" {
			tenant = f.tenant
		}
		return nil, ApplicationNotFound(clientID, tenant)
	}
	return exchangeWith(id, f.fics[id], issuer, subject, audiences)
}

// ExchangeInTenant is the one-call form of Federation.ExchangeInTenant.
func ExchangeInTenant(e *env.Environment, tenant, clientID, issuer, subject string, audiences []string) (*ExchangeResult, error) {
	return NewFederation(e).ExchangeInTenant(tenant, clientID, issuer, subject, audiences)
}

// Unbound is a federated credential naming a ServiceAccount that cannot
// exchange its token for the identity, with the AADSTS error it would get.
type Unbound struct {
	Credential *azure.FederatedCredential
	Error      *AADSTSError
}

// Unbound returns the identity's credentials with a Kubernetes subject that
// do not bind on this cluster (issuer or audience mismatch). Empty when the
// cluster's issuer is unknown.
func (f *Federation) Unbound(id *azure.Identity) []Unbound {
	if f.issuer == "" {
		return nil
	}
	var out []Unbound
	for _, c := range f.fics[id] {
		if _, _, ok := ParseSubject(c.Subject); !ok {
			continue
		}
		_, err := exchangeWith(id, []*azure.FederatedCredential{c}, f.issuer, c.Subject, []string{TokenExchangeAudience})
		if ae, ok := err.(*AADSTSError); ok {
			out = append(out, Unbound{Credential: c, Error: ae})
		}
	}
	return out
}
