// Package scan runs every layer of akssec on one Environment: the findings
// of each layer engine, the cross-layer attack paths of the graph, and the
// defense-in-depth scorecard. It prepares each engine once and shares it
// between the layer checks and the graph.
package scan

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/akssec/akssec/internal/admission"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/finding"
	"github.com/akssec/akssec/internal/graph"
	"github.com/akssec/akssec/internal/images"
	"github.com/akssec/akssec/internal/netpol"
	"github.com/akssec/akssec/internal/rbac"
	"github.com/akssec/akssec/internal/secretsstore"
	"github.com/akssec/akssec/internal/source"
)

// Result is everything a scan found.
type Result struct {
	Env       *env.Environment
	Graph     *graph.Graph
	Findings  []finding.Finding
	Paths     []AttackPath
	Scorecard []LayerScore
	// Notes say what could not be checked and which assumptions applied.
	Notes []string
}

// AttackPath is a way from an Entra principal to a Key Vault secret that
// runs through the cluster.
type AttackPath struct {
	// Sources are the Entra principals (UPNs or names) that can take it,
	// the first MaxListedSources of them in node order; SourceCount says
	// how many there are in all.
	Sources     []string `json:"sources"`
	SourceCount int      `json:"sourceCount"`
	// Path is the shortest path of the first source.
	Path *graph.Path `json:"path"`
	// Via is the ServiceAccount the path becomes, the chokepoint.
	Via string `json:"via"`
	// Targets are every secret the identity behind Via may read; Path
	// ends at the first.
	Targets []string `json:"targets"`
}

// Stage names what Run is doing, for progress display.
type Stage string

// Options tune a scan.
type Options struct {
	// Progress, when set, is told when each stage starts.
	Progress func(Stage)
}

// Run scans e.
func Run(ctx context.Context, e *env.Environment, opts Options) (*Result, error) {
	progress := func(s Stage) {
		if opts.Progress != nil {
			opts.Progress(s)
		}
	}
	progress("preparing engines")
	authz := rbac.New(e)
	adm, err := graph.Admitter(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("admission: %w", err)
	}
	ss := secretsstore.New(e)
	net := netpol.New(e)

	progress("checking layers")
	checks := []func(context.Context) []finding.Finding{
		authz.Check,
		adm.Check,
		net.Check,
		ss.Check,
		func(ctx context.Context) []finding.Finding { return images.Check(ctx, e) },
	}
	results := make([][]finding.Finding, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = c(ctx)
		}()
	}
	var g *graph.Graph
	var gerr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		g, gerr = graph.BuildWith(ctx, e, authz, adm, ss)
	}()
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if gerr != nil {
		return nil, fmt.Errorf("graph: %w", gerr)
	}
	r := &Result{Env: e, Graph: g}
	for _, fs := range results {
		r.Findings = append(r.Findings, fs...)
	}
	progress("finding attack paths")
	r.Paths = AttackPaths(e, g)
	r.Findings = append(r.Findings, pathFindings(r.Paths)...)
	finding.Sort(r.Findings)
	r.Notes = notes(e)
	r.Scorecard = Score(e, r.Findings)
	return r, nil
}

// Rules lists every rule of every layer, plus the scan's own.
func Rules() []finding.Rule {
	var out []finding.Rule
	out = append(out, rbac.Rules()...)
	out = append(out, admission.Rules()...)
	out = append(out, netpol.Rules()...)
	out = append(out, secretsstore.Rules()...)
	out = append(out, images.Rules()...)
	out = append(out, ruleAttackPath)
	return out
}

var ruleAttackPath = finding.Rule{ID: "AKS-PATH-001", Layer: finding.LayerSecrets, Severity: finding.High,
	Title: "Entra principals outside the admin groups can read a Key Vault secret by running a pod as a federated ServiceAccount"}

// AttackPaths finds, for every ServiceAccount federated to an identity that
// may read Key Vault secrets, the Entra principals that can become that
// ServiceAccount, with one shortest path each. Members of the cluster's
// admin groups are left out: they hold cluster-admin by design.
func AttackPaths(e *env.Environment, g *graph.Graph) []AttackPath {
	admins := map[string]bool{}
	if e.Cluster != nil && e.Cluster.AADProfile != nil {
		for _, gid := range e.Cluster.AADProfile.AdminGroupObjectIDs {
			for _, m := range e.Directory.TransitiveMembers(gid) {
				admins[strings.ToLower(m.ID)] = true
			}
		}
	}
	sources := map[string]bool{}
	for _, s := range g.Sources() {
		sources[s] = true
	}
	isHub := func(id string) bool {
		switch g.Node(id).Kind {
		case graph.NodeAccess, graph.ImpersonateUsers, graph.ImpersonateGroups:
			return true
		}
		return false
	}
	eligible := func(id string) bool { return sources[id] && !admins[strings.TrimPrefix(id, "entra:")] }
	hubs := map[string]map[string]*graph.Edge{} // hub → Toward(hub)
	behindHubs := map[string]*hubSources{}      // sorted hub IDs joined → the sources behind them
	reachOf := func(ids []string) *hubSources {
		key := strings.Join(ids, "\x00")
		if hs := behindHubs[key]; hs != nil {
			return hs
		}
		hs := &hubSources{set: map[string]bool{}, via: map[string]string{}}
		for _, h := range ids {
			if hubs[h] == nil {
				hubs[h] = g.Toward(h, 0)
			}
			for src := range hubs[h] {
				if eligible(src) && !hs.set[src] {
					hs.set[src] = true
					hs.via[src] = h
					hs.sources = append(hs.sources, src)
				}
			}
		}
		sort.Strings(hs.sources)
		behindHubs[key] = hs
		return hs
	}
	var out []AttackPath
	for _, n := range g.Nodes() {
		if n.Kind != graph.ServiceAccount {
			continue
		}
		for _, fed := range g.Out(n.ID) {
			if g.Node(fed.To).Kind != graph.ManagedIdentity {
				continue
			}
			var reads []*graph.Edge
			for _, read := range g.Out(fed.To) {
				if g.Node(read.To).Kind == graph.KeyVaultSecret {
					reads = append(reads, read)
				}
			}
			if len(reads) == 0 {
				continue
			}
			sort.Slice(reads, func(i, j int) bool { return reads[i].To < reads[j].To })
			// Search back to the principals, but not past a hub (root on a
			// node, impersonation): what reaches a hub is found once and
			// shared by every ServiceAccount behind it.
			next := g.TowardExcept(n.ID, isHub)
			var direct []string // eligible sources found without a hub
			var hubIDs []string // hubs the ServiceAccount is reached through
			for id := range next {
				if eligible(id) {
					direct = append(direct, id)
				}
				if isHub(id) && id != n.ID {
					hubIDs = append(hubIDs, id)
				}
			}
			sort.Strings(direct)
			sort.Strings(hubIDs)
			behind := reachOf(hubIDs) // sorted sources behind the hubs, found once per hub set
			srcs, count := mergeSources(direct, behind.sources, behind.set, MaxListedSources)
			if count == 0 {
				continue
			}
			var p *graph.Path
			if hub, ok := behind.via[srcs[0]]; ok && !contains(direct, srcs[0]) {
				p = g.Follow(hubs[hub], srcs[0]) // source → hub
				rest := g.Follow(next, hub)      // hub → ServiceAccount
				p.Edges = append(p.Edges, rest.Edges...)
				p.Nodes = append(p.Nodes, rest.Nodes[1:]...)
			} else {
				p = g.Follow(next, srcs[0])
			}
			p.Edges = append(p.Edges, fed, reads[0])
			p.Nodes = append(p.Nodes, g.Node(fed.To), g.Node(reads[0].To))
			names := make([]string, len(srcs))
			for i, s := range srcs {
				names[i] = strings.TrimPrefix(g.Node(s).Label, "user ")
			}
			targets := make([]string, len(reads))
			for i, r := range reads {
				targets[i] = strings.TrimPrefix(g.Node(r.To).Label, "Key Vault secret ")
			}
			out = append(out, AttackPath{Sources: names, SourceCount: count, Path: p, Via: n.Label, Targets: targets})
		}
	}
	return out
}

// MaxListedSources bounds AttackPath.Sources: when every principal can
// escape to a node, each path has tens of thousands of them.
const MaxListedSources = 100

// hubSources are the eligible sources behind a set of hub nodes, sorted,
// with the hub each reaches the path through.
type hubSources struct {
	sources []string
	set     map[string]bool
	via     map[string]string
}

// mergeSources returns the first max of the union of the sorted lists a
// and b (bset is b as a set), and the size of the union.
func mergeSources(a, b []string, bset map[string]bool, max int) ([]string, int) {
	count := len(b)
	for _, x := range a {
		if !bset[x] {
			count++
		}
	}
	var out []string
	i, j := 0, 0
	for len(out) < max && (i < len(a) || j < len(b)) {
		switch {
		case j >= len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i >= len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default: // equal
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out, count
}

func contains(sorted []string, x string) bool {
	i := sort.SearchStrings(sorted, x)
	return i < len(sorted) && sorted[i] == x
}

func pathFindings(paths []AttackPath) []finding.Finding {
	var out []finding.Finding
	for _, ap := range paths {
		var ev []finding.Evidence
		for _, e := range ap.Path.Edges {
			for _, x := range e.Evidence {
				ev = append(ev, finding.Evidence{Loc: x.Loc, Text: e.Action + ": " + x.Text})
			}
		}
		target := strings.Join(ap.Targets, ", ")
		who := strings.Join(ap.Sources, ", ")
		if ap.SourceCount > 5 {
			who = fmt.Sprintf("%s and %d more", strings.Join(ap.Sources[:5], ", "), ap.SourceCount-5)
		}
		ns, sa, _ := strings.Cut(strings.TrimPrefix(ap.Via, "ServiceAccount "), "/")
		loc := ap.Path.Edges[len(ap.Path.Edges)-2].Evidence
		f := ruleAttackPath.New(finding.Object{Kind: "ServiceAccount", Namespace: ns, Name: sa}, firstLoc(loc),
			fmt.Sprintf("%s can reach %s: %s (layers crossed: %s)", who, target, ap.Path, layerList(ap.Path.Layers())),
			fmt.Sprintf("Break the chain at the cheapest layer: remove the right to create pods in %s from these principals (RBAC), or give %s its own namespace that only its deployer can write to, or narrow the identity's Key Vault role to the secrets this workload needs.", ns, sa),
			ev...)
		out = append(out, f)
	}
	return out
}

func firstLoc(ev []finding.Evidence) (l source.Location) {
	if len(ev) > 0 {
		return ev[0].Loc
	}
	return l
}

func layerList(ls []finding.Layer) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = string(l)
	}
	return strings.Join(s, " → ")
}

func notes(e *env.Environment) []string {
	var out []string
	if e.Cluster == nil {
		out = append(out, "no azure/aks.json: Entra ID, API server authentication and Azure RBAC were not checked; the network layer assumed upstream NetworkPolicy semantics")
	}
	if len(e.Azure.Users)+len(e.Azure.Groups) == 0 {
		out = append(out, "no Entra users or groups in azure/: group subjects could not be resolved and attack paths start at Kubernetes subjects only")
	}
	if len(e.Azure.Vaults) == 0 {
		out = append(out, "no Key Vaults in azure/keyvaults: Key Vault authorization was not checked")
	}
	return out
}
