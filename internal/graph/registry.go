package graph

import (
	"fmt"
	"strings"

	"github.com/akssec/akssec/internal/azrole"
	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
)

// Registry is an Azure container registry.
const Registry NodeKind = "container-registry"

func registryID(name string) string { return "acr/" + strings.ToLower(name) }

// The registry operations Azure RBAC checks (AcrPull, AcrPush; Owner,
// Contributor and Reader match them through their wildcards).
const (
	acrPull = "Microsoft.ContainerRegistry/registries/pull/read"
	acrPush = "Microsoft.ContainerRegistry/registries/push/write"
)

const registryProvider = "/providers/microsoft.containerregistry/registries/"

type registry struct{ name, id string }

// registries are the container registries the role assignments name: the
// snapshot has no registry list, so a registry is known by an assignment
// scoped to it (or below it).
func registries(as []*azure.RoleAssignment) []registry {
	var out []registry
	seen := map[string]bool{}
	for _, a := range as {
		i := strings.Index(strings.ToLower(a.Scope), registryProvider)
		if i < 0 {
			continue
		}
		rest := a.Scope[i+len(registryProvider):]
		name, _, _ := strings.Cut(rest, "/")
		id := a.Scope[:i+len(registryProvider)+len(name)]
		if name == "" || seen[strings.ToLower(id)] {
			continue
		}
		seen[strings.ToLower(id)] = true
		out = append(out, registry{name, id})
	}
	return out
}

// addRegistries: an Azure role assignment whose role grants pull or push
// at a scope containing a registry lets its principal (a group's members,
// transitively) pull from or push to it, as azrole decides. Conditional
// assignments are not evaluated: they are left out, with a note.
func (g *Graph) addRegistries(e *env.Environment) {
	if e.Azure == nil {
		return
	}
	regs := registries(e.Azure.RoleAssignments)
	if len(regs) == 0 {
		return
	}
	dir := e.Directory
	for _, a := range e.Azure.RoleAssignments {
		d := azrole.DefinitionOf(a)
		if d == nil {
			continue
		}
		for _, r := range regs {
			if !azrole.ScopeContains(a.Scope, r.id) {
				continue
			}
			op, action := acrPush, "may push images to "+r.name
			if !d.AllowsAction(acrPush) {
				if !d.AllowsAction(acrPull) {
					continue
				}
				op, action = acrPull, "may pull images from "+r.name
			}
			if a.Condition != nil && strings.TrimSpace(*a.Condition) != "" {
				g.Notes = append(g.Notes, fmt.Sprintf("role assignment %s (%s on %s) has a condition akssec does not evaluate: left out", a.Name, d.Name, r.name))
				continue
			}
			to := g.node(registryID(r.name), Registry, "container registry "+r.name)
			ev := finding.Evidence{Loc: a.Src, Text: fmt.Sprintf("%s at %s grants %s", d.Name, a.Scope, op)}
			p := dir.ByID(a.PrincipalID)
			g.edge(g.azurePrincipalNode(e, a.PrincipalID, p), to, action, finding.LayerImages, ev)
			if p != nil && p.Kind == entra.KindGroup {
				gev := ev
				gev.Text += " to group " + p.String()
				for _, m := range dir.TransitiveMembers(p.ID) {
					if m.Kind != entra.KindGroup {
						g.edge(g.azurePrincipalNode(e, m.ID, m), to, action, finding.LayerImages, gev)
					}
				}
			}
		}
	}
}

// azurePrincipalNode is the node of an Azure principal: the managed
// identity's node for a user-assigned identity of the snapshot, else the
// Entra principal's.
func (g *Graph) azurePrincipalNode(e *env.Environment, id string, p *entra.Principal) string {
	if p != nil && p.Identity != nil {
		return g.node(identityID(p.Identity.Name), ManagedIdentity, "managed identity "+p.Identity.Name)
	}
	for _, mi := range e.Azure.Identities {
		if strings.EqualFold(mi.PrincipalID, id) {
			return g.node(identityID(mi.Name), ManagedIdentity, "managed identity "+mi.Name)
		}
	}
	pid := principalID(id)
	if _, ok := g.nodes[pid]; !ok {
		g.node(pid, EntraApp, "principal "+id)
	}
	return pid
}
