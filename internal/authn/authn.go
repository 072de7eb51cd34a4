// Package authn decides who a caller is to Kubernetes on AKS: it maps an
// Entra ID principal of the snapshot's directory to the user info the AKS
// authentication webhook (Guard) produces, a Kubernetes identity given with
// kubectl's --as/--as-group to the user info the impersonation filter
// produces, a ServiceAccount to the user info its token authenticates as,
// and the local admin credential to its certificate identity.
//
// The mapping follows kubeguard/guard auth/providers/azure/azure.go as the
// reference (rbac-and-entra.md section 2.1) describes it: username is the
// upn claim, falling back to the object ID (guests, users of another
// tenant, service principals, managed identities); groups are the group
// object IDs of the token's groups claim; extra["oid"] is the object ID;
// with more than 200 groups the token carries an overage indicator and
// Guard resolves a user's groups from Graph getMemberGroups, while an
// application's token is rejected.
package authn

import (
	"fmt"
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/entra"
)

// Well-known groups and users of the Kubernetes authenticators
// (k8s.io/apiserver/pkg/authentication/user).
const (
	AllAuthenticated   = "system:authenticated"
	AllUnauthenticated = "system:unauthenticated"
	Anonymous          = "system:anonymous"
	SystemMasters      = "system:masters"

	// ServiceAccountUsernamePrefix starts every ServiceAccount username.
	ServiceAccountUsernamePrefix = "system:serviceaccount:"
	// ServiceAccountsGroup is the group of every ServiceAccount.
	ServiceAccountsGroup = "system:serviceaccounts"

	// GroupOverageLimit is the number of groups above which an Entra JWT
	// carries an overage indicator instead of the groups claim.
	GroupOverageLimit = 200

	// LocalAdminUser is the username of the local admin client
	// certificate as public AdmissionReview samples show it. The exact
	// name is UNVERIFIED in the reference (section 2.2); what decides is
	// its group system:masters.
	LocalAdminUser = "masterclient"
)

// UserInfo is the authenticated user as the Kubernetes authorizers see it
// (k8s.io/apiserver user.Info).
type UserInfo struct {
	Name   string              `json:"username"`
	UID    string              `json:"uid,omitempty"`
	Groups []string            `json:"groups,omitempty"`
	Extra  map[string][]string `json:"extra,omitempty"`
}

// InGroup reports whether the user has the group.
func (u *UserInfo) InGroup(g string) bool {
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// ServiceAccountUsername is the username of a ServiceAccount's tokens.
func ServiceAccountUsername(ns, name string) string {
	return ServiceAccountUsernamePrefix + ns + ":" + name
}

// SplitServiceAccountUsername parses system:serviceaccount:NS:NAME.
func SplitServiceAccountUsername(username string) (ns, name string, ok bool) {
	rest, found := strings.CutPrefix(username, ServiceAccountUsernamePrefix)
	if !found {
		return "", "", false
	}
	ns, name, ok = strings.Cut(rest, ":")
	if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
		return "", "", false
	}
	return ns, name, true
}

// ServiceAccountGroups are the groups a ServiceAccount token carries
// (serviceaccount.MakeGroupNames).
func ServiceAccountGroups(ns string) []string {
	return []string{ServiceAccountsGroup, ServiceAccountsGroup + ":" + ns}
}

// ServiceAccount is the user info of a ServiceAccount token: its username,
// its two ServiceAccount groups and system:authenticated.
func ServiceAccount(ns, name string) UserInfo {
	return UserInfo{Name: ServiceAccountUsername(ns, name), Groups: append(ServiceAccountGroups(ns), AllAuthenticated)}
}

// Impersonate is the user info kubectl's --as and --as-group produce, as
// the apiserver's impersonation filter builds it: groups are exactly the
// requested ones when any is given; a ServiceAccount username without
// groups gets its ServiceAccount groups; a non-anonymous user gets
// system:authenticated unless system:authenticated or
// system:unauthenticated was requested; the anonymous user gets
// system:unauthenticated.
func Impersonate(user string, groups []string) UserInfo {
	out := UserInfo{Name: user, Groups: append([]string(nil), groups...)}
	if len(groups) == 0 {
		if ns, _, ok := SplitServiceAccountUsername(user); ok {
			out.Groups = ServiceAccountGroups(ns)
		}
	}
	if user != Anonymous {
		add := true
		for _, g := range out.Groups {
			if g == AllAuthenticated || g == AllUnauthenticated {
				add = false
				break
			}
		}
		if add {
			out.Groups = append(out.Groups, AllAuthenticated)
		}
	} else {
		add := true
		for _, g := range out.Groups {
			if g == AllUnauthenticated {
				add = false
				break
			}
		}
		if add {
			out.Groups = append(out.Groups, AllUnauthenticated)
		}
	}
	return out
}

// Identity is an Entra principal authenticated to an AKS cluster.
type Identity struct {
	Principal *entra.Principal `json:"-"`
	// Kind is the principal's kind: User, ServicePrincipal, ManagedIdentity.
	Kind entra.Kind `json:"kind"`
	// User is the Kubernetes user info Guard produces; empty when
	// authentication fails (Err).
	User UserInfo `json:"user"`
	// UsernameFrom says which claim gave the username: "upn" or "oid".
	UsernameFrom string `json:"usernameFrom"`
	// Overage is true when the principal is in more than 200 groups so the
	// token carries the overage indicator instead of the groups claim.
	Overage bool `json:"overage,omitempty"`
	// GroupNames maps each group object ID of User.Groups to its display
	// name, for people.
	GroupNames map[string]string `json:"groupNames,omitempty"`
	// Notes explain the mapping (why the username is the object ID, how
	// groups were resolved).
	Notes []string `json:"notes,omitempty"`
	// Err is the authentication failure Guard returns, if any.
	Err string `json:"error,omitempty"`
}

// Authenticated reports whether Guard accepts the principal's token.
func (id *Identity) Authenticated() bool { return id.Err == "" }

// FromEntra resolves name (object ID, UPN, client ID or unique display
// name) in the directory and maps it as Guard does. Groups cannot sign in:
// naming a group is an error.
func FromEntra(dir *entra.Directory, name string) (*Identity, error) {
	p, err := dir.Resolve(name)
	if err != nil {
		return nil, err
	}
	if p.Kind == entra.KindGroup {
		return nil, fmt.Errorf("%s is a group; groups cannot sign in, name a user, service principal or managed identity", p)
	}
	return Map(dir, p), nil
}

// Map maps a principal to the identity Guard gives it.
func Map(dir *entra.Directory, p *entra.Principal) *Identity {
	id := &Identity{Principal: p, Kind: p.Kind, GroupNames: map[string]string{}}
	user := UserInfo{Extra: map[string][]string{"oid": {p.ID}}}
	switch {
	case p.Kind == entra.KindUser && !p.Guest && p.UPN != "" && !otherTenant(dir, p):
		user.Name, id.UsernameFrom = p.UPN, "upn"
	case p.Kind == entra.KindUser:
		user.Name, id.UsernameFrom = p.ID, "oid"
		id.Notes = append(id.Notes, "guest or other-tenant user: the token has no upn claim, so the Kubernetes username is the object ID "+p.ID)
	default:
		user.Name, id.UsernameFrom = p.ID, "oid"
		id.Notes = append(id.Notes, fmt.Sprintf("%s: the Kubernetes username is the service principal object ID %s (not the client ID); bind it as kind: User", p.Kind, p.ID))
	}

	all := dir.TransitiveGroups(p.ID)
	var security []string
	for _, g := range all {
		if securityGroup(dir.ByID(g)) {
			security = append(security, g)
		}
	}
	groups := security
	if len(security) > GroupOverageLimit {
		id.Overage = true
		if p.Kind != entra.KindUser {
			id.Err = "service principal with group membership exceeding 200 is not supported"
			id.Notes = append(id.Notes, fmt.Sprintf("%d groups: the token carries the overage indicator and Guard rejects application tokens with overage", len(security)))
			id.User = UserInfo{}
			return id
		}
		// getMemberGroups with securityEnabledOnly:false: every group.
		groups = all
		id.Notes = append(id.Notes, fmt.Sprintf("%d security groups exceed the token's limit of %d: Guard resolves the groups with Graph getMemberGroups (securityEnabledOnly: false), %d groups", len(security), GroupOverageLimit, len(all)))
	}
	for _, g := range groups {
		gp := dir.ByID(g)
		canonical := g
		if gp != nil {
			canonical = strings.ToLower(gp.ID)
			id.GroupNames[canonical] = gp.DisplayName
		}
		user.Groups = append(user.Groups, canonical)
	}
	user.Groups = append(user.Groups, AllAuthenticated)
	id.User = user
	return id
}

// otherTenant reports whether a user belongs to a tenant other than the
// cluster's: its UPN domain cannot tell, but a guest UPN (#EXT#) can, and
// the directory marks guests already; this keeps the check in one place.
func otherTenant(_ *entra.Directory, p *entra.Principal) bool {
	return strings.Contains(strings.ToUpper(p.UPN), "#EXT#")
}

// securityGroup reports whether a group is in the token's groups claim,
// which AKS's server application fills with security groups. A group the
// snapshot knows only from a member list, or listed with neither
// securityEnabled nor mailEnabled, counts as a security group; a
// mail-enabled group that is not security-enabled (a distribution list or
// a Microsoft 365 group) does not.
func securityGroup(p *entra.Principal) bool {
	if p == nil || p.Group == nil {
		return true
	}
	g := p.Group
	return g.SecurityEnabled || !g.MailEnabled
}

// LocalAccounts describes the static credentials of a cluster.
type LocalAccounts struct {
	Enabled bool
	// Admin is the identity of the local admin client certificate
	// (`az aks get-credentials --admin`) when local accounts are enabled.
	Admin *UserInfo
}

// Local returns the local-account state of a cluster (nil: unknown, no
// aks.json). When local accounts are enabled, the admin credential is a
// client certificate in system:masters, which the apiserver's superuser
// authorizer allows everything regardless of RBAC.
func Local(c *azure.ManagedCluster) *LocalAccounts {
	if c == nil {
		return nil
	}
	if !c.LocalAccountsEnabled() {
		return &LocalAccounts{}
	}
	return &LocalAccounts{Enabled: true, Admin: &UserInfo{Name: LocalAdminUser, Groups: []string{SystemMasters, AllAuthenticated}}}
}

// AdminGroups returns aadProfile.adminGroupObjectIDs, sorted.
func AdminGroups(c *azure.ManagedCluster) []string {
	if c == nil || c.AADProfile == nil {
		return nil
	}
	out := append([]string(nil), c.AADProfile.AdminGroupObjectIDs...)
	sort.Strings(out)
	return out
}
