// Package entra is the Entra ID directory of a snapshot: users, groups with
// their direct and transitive memberships, service principals and managed
// identities, looked up by object ID, UPN, display name, app (client) ID.
//
// It decides nothing about Kubernetes; internal/authn maps a principal to the
// user info AKS produces. A Directory is built once and read-only afterwards,
// safe for concurrent use.
package entra

import (
	"fmt"
	"sort"
	"strings"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/source"
)

// Kind is the type of a directory object.
type Kind string

// The kinds of principal.
const (
	KindUser             Kind = "User"
	KindGroup            Kind = "Group"
	KindServicePrincipal Kind = "ServicePrincipal"
	KindManagedIdentity  Kind = "ManagedIdentity"
)

// Principal is one directory object.
type Principal struct {
	Kind        Kind
	ID          string // object ID
	DisplayName string
	UPN         string // users only
	AppID       string // service principals and managed identities: the client ID
	Guest       bool   // users from another tenant or B2B guests
	Loc         source.Location
	User        *azure.User
	Group       *azure.Group
	SP          *azure.ServicePrincipal
	Identity    *azure.Identity
}

// String names the principal for people: UPN, else display name, with kind.
func (p *Principal) String() string {
	name := p.UPN
	if name == "" {
		name = p.DisplayName
	}
	if name == "" {
		name = p.ID
	}
	return fmt.Sprintf("%s %s", strings.ToLower(string(p.Kind[:1]))+string(p.Kind[1:]), name)
}

// Directory indexes the Entra objects of a snapshot.
type Directory struct {
	TenantID string

	principals []*Principal
	byID       map[string]*Principal   // object ID (lower case)
	byUPN      map[string]*Principal   // UPN (lower case)
	byName     map[string][]*Principal // display name (lower case)
	byAppID    map[string]*Principal   // client ID (lower case)

	members    map[string][]string // group ID → direct member IDs
	parents    map[string][]string // member ID → direct group IDs
	ancestors  map[string][]string // group ID → all groups containing it, transitively (sorted)
	hasMembers map[string]bool     // groups whose member list was in the snapshot
	Problems   []string            // cycles, members of unknown groups
}

// New builds the directory from the az output of a snapshot.
func New(d *azure.Data) *Directory {
	dir := &Directory{
		byID: map[string]*Principal{}, byUPN: map[string]*Principal{}, byName: map[string][]*Principal{},
		byAppID: map[string]*Principal{}, members: map[string][]string{}, parents: map[string][]string{},
		ancestors: map[string][]string{}, hasMembers: map[string]bool{},
	}
	if d.Cluster != nil && d.Cluster.AADProfile != nil {
		dir.TenantID = d.Cluster.AADProfile.TenantID
	}
	for _, u := range d.Users {
		dir.add(&Principal{Kind: KindUser, ID: u.ID, DisplayName: u.DisplayName, UPN: u.UserPrincipalName, Guest: u.Guest(), Loc: u.Src, User: u})
	}
	for _, g := range d.Groups {
		dir.add(&Principal{Kind: KindGroup, ID: g.ID, DisplayName: g.DisplayName, Loc: g.Src, Group: g})
	}
	idByPrincipal := map[string]*azure.Identity{}
	for _, id := range d.Identities {
		idByPrincipal[strings.ToLower(id.PrincipalID)] = id
	}
	for _, sp := range d.ServicePrincipals {
		kind := KindServicePrincipal
		if strings.EqualFold(sp.ServicePrincipalType, "ManagedIdentity") {
			kind = KindManagedIdentity
		}
		p := &Principal{Kind: kind, ID: sp.ID, DisplayName: sp.DisplayName, AppID: sp.AppID, Loc: sp.Src, SP: sp}
		if mi := idByPrincipal[strings.ToLower(sp.ID)]; mi != nil {
			p.Kind, p.Identity = KindManagedIdentity, mi
		}
		dir.add(p)
	}
	// User-assigned identities are service principals in Entra; az ad sp
	// list may not have been captured, so add the ones it lacks.
	for _, mi := range d.Identities {
		if _, ok := dir.byID[strings.ToLower(mi.PrincipalID)]; ok {
			continue
		}
		dir.add(&Principal{Kind: KindManagedIdentity, ID: mi.PrincipalID, DisplayName: mi.Name, AppID: mi.ClientID, Loc: mi.Src, Identity: mi})
	}
	for _, gm := range d.Members {
		gid := strings.ToLower(gm.GroupID)
		dir.hasMembers[gid] = true
		if _, ok := dir.byID[gid]; !ok {
			dir.Problems = append(dir.Problems, fmt.Sprintf("%s lists members of group %s, which az ad group list did not return", gm.Src.File, gm.GroupID))
		}
		for _, m := range gm.Members {
			mid := strings.ToLower(m.ID)
			dir.members[gid] = append(dir.members[gid], mid)
			dir.parents[mid] = append(dir.parents[mid], gid)
			if _, ok := dir.byID[mid]; !ok {
				// A member the lists did not include: keep what the member
				// list says of it.
				kind := KindUser
				switch m.Kind() {
				case "group":
					kind = KindGroup
				case "servicePrincipal":
					kind = KindServicePrincipal
				}
				dir.add(&Principal{Kind: kind, ID: m.ID, DisplayName: m.DisplayName, UPN: m.UserPrincipalName, Loc: m.Src,
					Guest: strings.Contains(strings.ToUpper(m.UserPrincipalName), "#EXT#")})
			}
		}
	}
	for gid := range dir.byID {
		if p := dir.byID[gid]; p.Kind == KindGroup {
			dir.ancestors[gid] = dir.collectAncestors(gid)
		}
	}
	return dir
}

func (d *Directory) add(p *Principal) {
	id := strings.ToLower(p.ID)
	if _, dup := d.byID[id]; dup {
		return
	}
	d.principals = append(d.principals, p)
	d.byID[id] = p
	if p.UPN != "" {
		d.byUPN[strings.ToLower(p.UPN)] = p
	}
	if p.DisplayName != "" {
		n := strings.ToLower(p.DisplayName)
		d.byName[n] = append(d.byName[n], p)
	}
	if p.AppID != "" {
		d.byAppID[strings.ToLower(p.AppID)] = p
	}
}

// collectAncestors walks up the membership graph from group gid; cycles
// (which Entra forbids, but a snapshot may hold) end the walk.
func (d *Directory) collectAncestors(gid string) []string {
	seen := map[string]bool{gid: true}
	stack := append([]string(nil), d.parents[gid]...)
	var out []string
	for len(stack) > 0 {
		g := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[g] {
			continue
		}
		seen[g] = true
		out = append(out, g)
		stack = append(stack, d.parents[g]...)
	}
	sort.Strings(out)
	return out
}

// Principals returns every directory object in load order.
func (d *Directory) Principals() []*Principal { return d.principals }

// ByID finds an object by object ID (case-insensitive, as GUIDs are).
func (d *Directory) ByID(id string) *Principal { return d.byID[strings.ToLower(id)] }

// ByUPN finds a user by user principal name (case-insensitive, as Entra).
func (d *Directory) ByUPN(upn string) *Principal { return d.byUPN[strings.ToLower(upn)] }

// ByAppID finds a service principal or managed identity by client ID.
func (d *Directory) ByAppID(id string) *Principal { return d.byAppID[strings.ToLower(id)] }

// ByDisplayName finds every object with the display name (not unique in
// Entra, so a slice).
func (d *Directory) ByDisplayName(name string) []*Principal { return d.byName[strings.ToLower(name)] }

// Resolve finds a principal named by object ID, UPN, client ID or a unique
// display name, the ways users name principals on the command line.
func (d *Directory) Resolve(name string) (*Principal, error) {
	if p := d.ByID(name); p != nil {
		return p, nil
	}
	if p := d.ByUPN(name); p != nil {
		return p, nil
	}
	if p := d.ByAppID(name); p != nil {
		return p, nil
	}
	switch ps := d.ByDisplayName(name); len(ps) {
	case 0:
		return nil, fmt.Errorf("no Entra principal %q in the snapshot (looked up object ID, UPN, client ID and display name)", name)
	case 1:
		return ps[0], nil
	default:
		ids := make([]string, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		return nil, fmt.Errorf("display name %q is ambiguous: %s; name one by object ID", name, strings.Join(ids, ", "))
	}
}

// DirectGroups returns the IDs of the groups id is a direct member of.
func (d *Directory) DirectGroups(id string) []string { return d.parents[strings.ToLower(id)] }

// TransitiveGroups returns the IDs of every group id belongs to, directly or
// through nested groups, sorted.
func (d *Directory) TransitiveGroups(id string) []string {
	set := map[string]bool{}
	for _, g := range d.parents[strings.ToLower(id)] {
		set[g] = true
		for _, a := range d.ancestors[g] {
			set[a] = true
		}
	}
	out := make([]string, 0, len(set))
	for g := range set {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// DirectMembers returns the IDs of the direct members of a group.
func (d *Directory) DirectMembers(groupID string) []string {
	return d.members[strings.ToLower(groupID)]
}

// MembersKnown reports whether the snapshot holds the group's member list.
func (d *Directory) MembersKnown(groupID string) bool { return d.hasMembers[strings.ToLower(groupID)] }

// TransitiveMembers returns every non-group principal in the group, directly
// or through nested groups, sorted by ID.
func (d *Directory) TransitiveMembers(groupID string) []*Principal {
	seen := map[string]bool{}
	var out []*Principal
	var walk func(string)
	walk = func(g string) {
		if seen[g] {
			return
		}
		seen[g] = true
		for _, m := range d.members[g] {
			p := d.byID[m]
			if p == nil {
				continue
			}
			if p.Kind == KindGroup {
				walk(m)
			} else if !seen[m] {
				seen[m] = true
				out = append(out, p)
			}
		}
	}
	walk(strings.ToLower(groupID))
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// IdentityByClientID finds a managed identity by client ID.
func (d *Directory) IdentityByClientID(clientID string) *Principal {
	p := d.ByAppID(clientID)
	if p == nil || p.Kind != KindManagedIdentity {
		return nil
	}
	return p
}
