package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/source"
)

type inventoryParams struct {
	g        *globalOptions
	objects  bool
	problems bool
}

func newInventoryCommand(g *globalOptions) *cobra.Command {
	p := &inventoryParams{g: g}
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "List what was loaded from the snapshot: counts per kind, layer and namespace, every object with its source, and problems",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput("text", "json", "yaml"); err != nil {
				return err
			}
			return p.run(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&p.objects, "objects", true, "list every object with its source (text output)")
	return cmd
}

// Inventory is the machine-readable form of `akssec inventory`.
type Inventory struct {
	Snapshot   string             `json:"snapshot"`
	Files      int                `json:"files"`
	Kinds      map[string]int     `json:"kinds"`
	Layers     map[string]int     `json:"layers"`
	Namespaces map[string]int     `json:"namespaces"`
	Pods       PodCounts          `json:"pods"`
	Azure      map[string]int     `json:"azure"`
	Cluster    *ClusterSummary    `json:"cluster,omitempty"`
	Objects    []InventoryEntry   `json:"objects"`
	Problems   []snapshot.Problem `json:"problems"`
	Skipped    []string           `json:"skipped,omitempty"`
}

// PodCounts splits pods into those in the snapshot and those made from
// workload templates.
type PodCounts struct {
	InSnapshot   int `json:"inSnapshot"`
	FromTemplate int `json:"fromTemplate"`
}

// ClusterSummary is what az aks show says of the cluster's security setup.
type ClusterSummary struct {
	Name                 string `json:"name"`
	KubernetesVersion    string `json:"kubernetesVersion"`
	EntraIntegration     bool   `json:"entraIntegration"`
	AzureRBAC            bool   `json:"azureRbac"`
	LocalAccountsEnabled bool   `json:"localAccountsEnabled"`
	NetworkPolicy        string `json:"networkPolicy"`
	OIDCIssuer           string `json:"oidcIssuer,omitempty"`
}

// InventoryEntry is one loaded object.
type InventoryEntry struct {
	Layer     string          `json:"layer"`
	Kind      string          `json:"kind"`
	Namespace string          `json:"namespace,omitempty"`
	Name      string          `json:"name"`
	Known     bool            `json:"known"`
	Loc       source.Location `json:"location"`
}

// kindLayer places each kind in the layer that reads it.
func kindLayer(group, kind string) string {
	switch group + "/" + kind {
	case "rbac.authorization.k8s.io/Role", "rbac.authorization.k8s.io/ClusterRole",
		"rbac.authorization.k8s.io/RoleBinding", "rbac.authorization.k8s.io/ClusterRoleBinding", "/ServiceAccount":
		return "rbac"
	case "networking.k8s.io/NetworkPolicy", "projectcalico.org/NetworkPolicy", "projectcalico.org/GlobalNetworkPolicy", "/Service",
		"policy.networking.k8s.io/AdminNetworkPolicy", "policy.networking.k8s.io/BaselineAdminNetworkPolicy", "policy.networking.k8s.io/ClusterNetworkPolicy":
		return "network"
	case "/Namespace", "templates.gatekeeper.sh/ConstraintTemplate":
		return "admission"
	case "secrets-store.csi.x-k8s.io/SecretProviderClass", "/Secret", "/ConfigMap":
		return "secrets"
	case "/Pod", "apps/Deployment", "apps/ReplicaSet", "apps/StatefulSet", "apps/DaemonSet", "batch/Job", "batch/CronJob", "/Node":
		return "workloads"
	case "apiextensions.k8s.io/CustomResourceDefinition":
		return "api"
	}
	if group == snapshot.ConstraintGroup {
		return "admission"
	}
	return "other"
}

func buildInventory(e *env.Environment) *Inventory {
	s := e.Snapshot
	inv := &Inventory{Snapshot: s.Dir, Files: len(s.Files), Kinds: map[string]int{}, Layers: map[string]int{}, Namespaces: map[string]int{},
		Azure: map[string]int{}, Problems: s.Problems, Skipped: s.Skipped}
	if inv.Problems == nil {
		inv.Problems = []snapshot.Problem{}
	}
	for _, o := range s.Objects {
		layer := kindLayer(o.Group, o.Kind)
		inv.Kinds[o.Kind]++
		inv.Layers[layer]++
		if o.Namespace != "" {
			inv.Namespaces[o.Namespace]++
		}
		inv.Objects = append(inv.Objects, InventoryEntry{Layer: layer, Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Known: o.Known, Loc: o.Loc})
	}
	for _, p := range e.Pods {
		if p.Synthesized {
			inv.Pods.FromTemplate++
		} else {
			inv.Pods.InSnapshot++
		}
	}
	a := e.Azure
	add := func(kind, layer string, loc source.Location, name string) {
		inv.Azure[kind]++
		inv.Layers[layer]++
		inv.Objects = append(inv.Objects, InventoryEntry{Layer: layer, Kind: kind, Name: name, Known: true, Loc: loc})
	}
	if c := a.Cluster; c != nil {
		add("ManagedCluster", "cluster", c.Src, c.Name)
		cs := &ClusterSummary{Name: c.Name, KubernetesVersion: c.KubernetesVersion, LocalAccountsEnabled: c.LocalAccountsEnabled(),
			NetworkPolicy: c.NetworkPolicyEngine(), OIDCIssuer: c.IssuerURL()}
		if c.AADProfile != nil {
			cs.EntraIntegration = c.AADProfile.Managed
			cs.AzureRBAC = c.AADProfile.EnableAzureRBAC
		}
		inv.Cluster = cs
	}
	for _, u := range a.Users {
		add("EntraUser", "entra", u.Src, u.UserPrincipalName)
	}
	for _, g := range a.Groups {
		add("EntraGroup", "entra", g.Src, g.DisplayName+" ("+g.ID+")")
	}
	for _, gm := range a.Members {
		inv.Azure["EntraGroupMemberList"]++
		inv.Layers["entra"]++
		inv.Objects = append(inv.Objects, InventoryEntry{Layer: "entra", Kind: "EntraGroupMemberList", Name: fmt.Sprintf("%s (%d members)", gm.GroupID, len(gm.Members)), Known: true, Loc: gm.Src})
	}
	for _, sp := range a.ServicePrincipals {
		add("ServicePrincipal", "entra", sp.Src, sp.DisplayName+" ("+sp.ID+")")
	}
	for _, i := range a.Identities {
		add("ManagedIdentity", "identity", i.Src, i.Name)
	}
	for _, f := range a.FederatedCredentials {
		add("FederatedCredential", "identity", f.Src, f.IdentityName()+"/"+f.Name)
	}
	for _, v := range a.Vaults {
		add("KeyVault", "keyvault", v.Src, v.Name)
	}
	for _, sec := range a.Secrets {
		add("KeyVaultSecret", "keyvault", sec.Src, sec.Vault+"/"+sec.SecretName())
	}
	for _, r := range a.RoleAssignments {
		add("RoleAssignment", "azure-rbac", r.Src, r.RoleDefinitionName+" → "+r.PrincipalName)
	}
	for _, p := range a.PolicyAssignments {
		add("PolicyAssignment", "azure-policy", p.Src, p.DisplayName)
	}
	return inv
}

func (p *inventoryParams) run(ctx context.Context) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	inv := buildInventory(e)
	switch p.g.output {
	case "json":
		return writeJSON(p.g.streams.Out, inv)
	case "yaml":
		b, err := yaml.Marshal(inv)
		if err != nil {
			return err
		}
		_, err = p.g.streams.Out.Write(b)
		return err
	}
	return p.writeText(p.g.streams.Out, inv)
}

func (p *inventoryParams) writeText(out io.Writer, inv *Inventory) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Snapshot %s: %d files, %d Kubernetes objects, %d Azure objects\n", inv.Snapshot, inv.Files, len(inv.Objects)-sum(inv.Azure), sum(inv.Azure))
	if c := inv.Cluster; c != nil {
		fmt.Fprintf(w, "Cluster %s (Kubernetes %s): Entra ID %s, Azure RBAC %s, local accounts %s, network policy %s\n", c.Name, c.KubernetesVersion,
			onOff(c.EntraIntegration), onOff(c.AzureRBAC), onOff(c.LocalAccountsEnabled), c.NetworkPolicy)
	} else {
		fmt.Fprintln(w, "Cluster: no azure/aks.json; Azure-dependent checks will say what they could not check")
	}
	fmt.Fprintf(w, "Pods: %d in the snapshot, %d from workload templates\n\n", inv.Pods.InSnapshot, inv.Pods.FromTemplate)
	section := func(title string, m map[string]int) {
		fmt.Fprintf(w, "%s\tCOUNT\n", title)
		for _, k := range sortedKeys(m) {
			fmt.Fprintf(w, "%s\t%d\n", k, m[k])
		}
		fmt.Fprintln(w)
	}
	kinds := map[string]int{}
	for k, v := range inv.Kinds {
		kinds[k] = v
	}
	for k, v := range inv.Azure {
		kinds[k] = v
	}
	section("KIND", kinds)
	section("LAYER", inv.Layers)
	section("NAMESPACE", inv.Namespaces)
	if p.objects {
		fmt.Fprintln(w, "LAYER\tKIND\tNAMESPACE\tNAME\tSOURCE")
		for _, o := range inv.Objects {
			ns := o.Namespace
			if ns == "" {
				ns = "-"
			}
			kind := o.Kind
			if !o.Known {
				kind += " (not checked)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", o.Layer, kind, ns, o.Name, o.Loc)
		}
		fmt.Fprintln(w)
	}
	if len(inv.Problems) == 0 {
		fmt.Fprintln(w, "Problems: none")
	} else {
		fmt.Fprintf(w, "Problems: %d\n", len(inv.Problems))
		for _, pr := range inv.Problems {
			level := "error"
			if pr.Warning {
				level = "warning"
			}
			fmt.Fprintf(w, "  %s: %s\n", level, pr)
		}
	}
	for _, s := range inv.Skipped {
		fmt.Fprintf(w, "Skipped: %s\n", s)
	}
	return w.Flush()
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
