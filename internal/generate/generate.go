// Package generate writes deterministic synthetic snapshots at the scales of
// DESIGN.md ("Scale and performance"), the input of every benchmark.
//
// The shapes are those of real clusters rather than uniform noise: pods of
// one app share label sets and named ports, namespaces carry team labels,
// network policies select apps and allow traffic from other apps and team
// namespaces, Entra groups nest, RoleBindings bind groups by object ID (and
// a few by display name, as people do), identities carry federated
// credentials for ServiceAccounts that pods use, and vaults mix access
// policies and RBAC. The same seed always writes the same bytes.
package generate

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// Scale is the size of a generated snapshot.
type Scale struct {
	Name            string
	Namespaces      int
	Pods            int
	NetworkPolicies int
	RBACBindings    int
	Users, Groups   int
	Identities      int
	FICs            int
	Vaults          int
}

// Scales are the sizes of DESIGN.md.
var Scales = map[string]Scale{
	"small":  {Name: "small", Namespaces: 5, Pods: 100, NetworkPolicies: 20, RBACBindings: 100, Users: 200, Groups: 20, Identities: 10, FICs: 20, Vaults: 2},
	"medium": {Name: "medium", Namespaces: 50, Pods: 2000, NetworkPolicies: 200, RBACBindings: 1000, Users: 5000, Groups: 500, Identities: 100, FICs: 200, Vaults: 20},
	"large":  {Name: "large", Namespaces: 200, Pods: 20000, NetworkPolicies: 2000, RBACBindings: 10000, Users: 50000, Groups: 5000, Identities: 1000, FICs: 2000, Vaults: 200},
}

// Stats counts what Write wrote.
type Stats struct {
	Files, KubernetesObjects, AzureObjects int
}

const (
	tenant    = "7e1a0b2c-3d4e-4f50-8a6b-7c8d9e0f1a2b"
	sub       = "0c1d2e3f-4a5b-4c6d-8e7f-8a9b0c1d2e3f"
	rg        = "rg-synthetic"
	issuerURL = "https://eastus.oic.prod-aks.azure.com/" + tenant + "/1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d/"
)

var (
	apps   = []string{"web", "api", "worker", "cache", "db", "gateway", "auth", "search", "billing", "reports", "ingest", "notify"}
	tiers  = map[string]string{"web": "frontend", "gateway": "frontend", "api": "backend", "auth": "backend", "search": "backend", "billing": "backend", "worker": "batch", "ingest": "batch", "reports": "batch", "notify": "batch", "cache": "data", "db": "data"}
	teams  = []string{"alpha", "beta", "gamma", "delta", "omega"}
	verbsR = []string{"get", "list", "watch"}
	verbsW = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
)

type gen struct {
	r     *rand.Rand
	sc    Scale
	dir   string
	stats Stats
	// nsFirst is each namespace's first app: the one that uses workload
	// identity (in every third namespace) and that federated credentials name.
	nsFirst []string
}

// id makes a deterministic GUID from a kind byte and a number.
func id(kind byte, n int) string {
	return fmt.Sprintf("%02x%06x-0000-4000-8000-%012x", kind, n>>24, n&0xffffffffffff)
}

// Write writes a snapshot of scale sc into dir, the same for the same seed.
// dir must not exist or be empty.
func Write(ctx context.Context, dir string, sc Scale, seed int64) (Stats, error) {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return Stats{}, fmt.Errorf("generate: %s is not empty", dir)
	}
	g := &gen{r: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15)), sc: sc, dir: dir}
	steps := []func() error{g.entra, g.kubernetes, g.azure}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return g.stats, err
		}
		if err := step(); err != nil {
			return g.stats, fmt.Errorf("generate: %w", err)
		}
	}
	return g.stats, nil
}

type obj = map[string]any

func (g *gen) write(rel string, v any) error {
	p := filepath.Join(g.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	g.stats.Files++
	return f.Close()
}

func (g *gen) list(rel string, items []obj) error {
	g.stats.KubernetesObjects += len(items)
	return g.write(rel, obj{"apiVersion": "v1", "kind": "List", "metadata": obj{"resourceVersion": ""}, "items": items})
}

func (g *gen) azList(rel string, items []obj) error {
	g.stats.AzureObjects += len(items)
	if items == nil {
		items = []obj{}
	}
	return g.write(rel, items)
}

func nsName(i int) string { return fmt.Sprintf("%s-%s-%d", teams[i%len(teams)], apps[i%len(apps)], i) }

// --- Entra: users, nested groups, memberships, service principals ---

func (g *gen) entra() error {
	sc := g.sc
	users := make([]obj, sc.Users)
	for i := range users {
		upn := fmt.Sprintf("user%d@synthetic.example", i)
		if i%50 == 49 {
			upn = fmt.Sprintf("guest%d_partner.example#EXT#@synthetic.onmicrosoft.com", i)
		}
		users[i] = obj{"id": id(0x1a, i), "displayName": fmt.Sprintf("User %d", i), "userPrincipalName": upn, "mail": nil, "businessPhones": []any{}}
	}
	if err := g.azList("azure/users.json", users); err != nil {
		return err
	}
	groups := make([]obj, sc.Groups)
	for i := range groups {
		groups[i] = obj{"id": id(0x2b, i), "displayName": groupName(i), "securityEnabled": true, "mailEnabled": false, "groupTypes": []any{}, "mailNickname": groupName(i)}
	}
	if err := g.azList("azure/groups.json", groups); err != nil {
		return err
	}
	// Each user joins one to three groups; one group in ten nests in a
	// group with a lower number (no cycles, as Entra forbids them).
	members := make([][]obj, sc.Groups)
	for i := range users {
		for k := 0; k < 1+g.r.IntN(3); k++ {
			gi := g.r.IntN(sc.Groups)
			members[gi] = append(members[gi], obj{"@odata.type": "#microsoft.graph.user", "id": id(0x1a, i), "displayName": users[i]["displayName"], "userPrincipalName": users[i]["userPrincipalName"]})
		}
	}
	for gi := 1; gi < sc.Groups; gi++ {
		if gi%10 == 0 {
			parent := g.r.IntN(gi)
			members[parent] = append(members[parent], obj{"@odata.type": "#microsoft.graph.group", "id": id(0x2b, gi), "displayName": groupName(gi)})
		}
	}
	for gi := range members {
		if err := g.azList(fmt.Sprintf("azure/members/%s.json", id(0x2b, gi)), members[gi]); err != nil {
			return err
		}
	}
	return nil
}

func groupName(i int) string { return fmt.Sprintf("grp-%s-%d", teams[i%len(teams)], i) }

// --- Kubernetes: namespaces, pods, services, policies, RBAC, SPCs ---

func (g *gen) kubernetes() error {
	sc := g.sc
	var nsItems []obj
	for i := 0; i < sc.Namespaces; i++ {
		labels := obj{"kubernetes.io/metadata.name": nsName(i), "team": teams[i%len(teams)]}
		switch i % 4 {
		case 0:
			labels["pod-security.kubernetes.io/enforce"] = "restricted"
		case 1:
			labels["pod-security.kubernetes.io/enforce"] = "baseline"
			labels["pod-security.kubernetes.io/warn"] = "restricted"
		case 2:
			labels["pod-security.kubernetes.io/audit"] = "restricted"
		}
		nsItems = append(nsItems, obj{"apiVersion": "v1", "kind": "Namespace", "metadata": obj{"name": nsName(i), "labels": labels}})
	}
	if err := g.list("kubernetes/namespaces.json", nsItems); err != nil {
		return err
	}
	clusterRoles, crbs := g.clusterRBAC()
	if err := g.list("kubernetes/cluster-rbac.json", append(clusterRoles, crbs...)); err != nil {
		return err
	}
	podsPerNS := sc.Pods / sc.Namespaces
	polPerNS := sc.NetworkPolicies / sc.Namespaces
	bindPerNS := (sc.RBACBindings - len(crbs)) / sc.Namespaces
	for i := 0; i < sc.Namespaces; i++ {
		ns := nsName(i)
		var items []obj
		nsApps := g.appsFor(i)
		g.nsFirst = append(g.nsFirst, nsApps[0])
		for _, a := range nsApps {
			items = append(items, obj{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": g.saMeta(ns, i, a)})
			items = append(items, g.service(ns, a))
		}
		items = append(items, obj{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": obj{"name": "default", "namespace": ns}})
		for p := 0; p < podsPerNS; p++ {
			items = append(items, g.pod(ns, i, p, nsApps[p%len(nsApps)]))
		}
		items = append(items, g.policies(ns, i, nsApps, polPerNS)...)
		items = append(items, g.rbac(ns, i, nsApps, bindPerNS)...)
		items = append(items, g.spc(ns, i, nsApps[0]))
		if err := g.list(fmt.Sprintf("kubernetes/namespaces/%s.json", ns), items); err != nil {
			return err
		}
	}
	return nil
}

// appsFor picks the apps of namespace i: four to eight of them.
func (g *gen) appsFor(i int) []string {
	n := 4 + g.r.IntN(5)
	start := g.r.IntN(len(apps))
	out := make([]string, n)
	for k := range out {
		out[k] = apps[(start+k)%len(apps)]
	}
	return out
}

// identityIndex maps a namespace's first app to one of the identities, so that
// FICs and SPC clientIDs point at real ServiceAccounts.
func (g *gen) identityIndex(nsIndex int) int { return nsIndex % g.sc.Identities }

func (g *gen) saMeta(ns string, nsIndex int, app string) obj {
	md := obj{"name": app + "-sa", "namespace": ns}
	if g.usesWorkloadIdentity(nsIndex, app) {
		md["annotations"] = obj{"azure.workload.identity/client-id": id(0xc1, g.identityIndex(nsIndex)), "azure.workload.identity/tenant-id": tenant}
	}
	return md
}

// usesWorkloadIdentity: the first app of every third namespace.
func (g *gen) usesWorkloadIdentity(nsIndex int, app string) bool {
	return nsIndex%3 == 0 && app == g.nsFirst[nsIndex]
}

func (g *gen) service(ns, app string) obj {
	return obj{"apiVersion": "v1", "kind": "Service", "metadata": obj{"name": app, "namespace": ns},
		"spec": obj{"selector": obj{"app": app}, "ports": []obj{{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}}}}
}

func (g *gen) pod(ns string, nsIndex, p int, app string) obj {
	labels := obj{"app": app, "tier": tiers[app], "team": teams[nsIndex%len(teams)], "pod-template-hash": fmt.Sprintf("%x", (nsIndex*31+len(app))%4096)}
	if app == "web" || app == "api" {
		labels["version"] = []string{"v1", "v2"}[p%2]
	}
	sc := obj{"allowPrivilegeEscalation": false, "capabilities": obj{"drop": []string{"ALL"}}, "readOnlyRootFilesystem": true}
	podSC := obj{"runAsNonRoot": true, "runAsUser": 10001, "seccompProfile": obj{"type": "RuntimeDefault"}}
	switch g.r.IntN(20) {
	case 0:
		sc = obj{"privileged": true}
	case 1, 2:
		sc, podSC = obj{}, obj{}
	}
	registry := "synthetic.azurecr.io"
	if g.r.IntN(25) == 0 {
		registry = "docker.io/library"
	}
	c := obj{"name": app, "image": fmt.Sprintf("%s/%s:1.%d.%d", registry, app, nsIndex%10, p%7),
		"ports":           []obj{{"name": "http", "containerPort": 8080, "protocol": "TCP"}, {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}},
		"securityContext": sc}
	spec := obj{"serviceAccountName": app + "-sa", "securityContext": podSC, "containers": []obj{c}, "nodeName": fmt.Sprintf("aks-apps-%d", p%12)}
	if app == "db" {
		spec["containers"] = []obj{c, {"name": "exporter", "image": "synthetic.azurecr.io/pg-exporter:0.15.0", "ports": []obj{{"name": "exporter", "containerPort": 9187, "protocol": "TCP"}}}}
	}
	if g.usesWorkloadIdentity(nsIndex, app) {
		labels["azure.workload.identity/use"] = "true"
		spec["volumes"] = []obj{{"name": "secrets-store", "csi": obj{"driver": "secrets-store.csi.k8s.io", "readOnly": true, "volumeAttributes": obj{"secretProviderClass": "app-secrets"}}}}
	}
	return obj{"apiVersion": "v1", "kind": "Pod",
		"metadata": obj{"name": fmt.Sprintf("%s-%05d", app, p), "namespace": ns, "labels": labels},
		"spec":     spec,
		"status":   obj{"phase": "Running", "podIP": fmt.Sprintf("10.%d.%d.%d", 100+nsIndex/250, nsIndex%250, p%250+1)}}
}

func (g *gen) policies(ns string, nsIndex int, nsApps []string, n int) []obj {
	var out []obj
	mk := func(name string, spec obj) {
		out = append(out, obj{"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": obj{"name": name, "namespace": ns}, "spec": spec})
	}
	if nsIndex%5 != 4 {
		mk("default-deny", obj{"podSelector": obj{}, "policyTypes": []string{"Ingress"}})
	}
	for k := 0; len(out) < n; k++ {
		dst := nsApps[k%len(nsApps)]
		src := nsApps[(k+1)%len(nsApps)]
		switch k % 5 {
		case 0:
			mk(fmt.Sprintf("allow-%s-to-%s", src, dst), obj{"podSelector": obj{"matchLabels": obj{"app": dst}},
				"ingress": []obj{{"from": []obj{{"podSelector": obj{"matchLabels": obj{"app": src}}}}, "ports": []obj{{"port": "http", "protocol": "TCP"}}}}})
		case 1:
			mk(fmt.Sprintf("allow-team-to-%s-%d", dst, k), obj{"podSelector": obj{"matchLabels": obj{"app": dst}},
				"ingress": []obj{{"from": []obj{{"namespaceSelector": obj{"matchLabels": obj{"team": teams[(nsIndex+k)%len(teams)]}}, "podSelector": obj{"matchExpressions": []obj{{"key": "tier", "operator": "In", "values": []string{"frontend", "backend"}}}}}}, "ports": []obj{{"port": 8080, "protocol": "TCP"}}}}})
		case 2:
			mk(fmt.Sprintf("allow-metrics-%d", k), obj{"podSelector": obj{}, "ingress": []obj{{"from": []obj{{"namespaceSelector": obj{"matchLabels": obj{"kubernetes.io/metadata.name": "monitoring"}}}}, "ports": []obj{{"port": "metrics", "protocol": "TCP"}}}}})
		case 3:
			mk(fmt.Sprintf("egress-%s-%d", dst, k), obj{"podSelector": obj{"matchLabels": obj{"app": dst}}, "policyTypes": []string{"Egress"},
				"egress": []obj{{"to": []obj{{"namespaceSelector": obj{"matchLabels": obj{"kubernetes.io/metadata.name": "kube-system"}}, "podSelector": obj{"matchLabels": obj{"k8s-app": "kube-dns"}}}}, "ports": []obj{{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}}},
					{"to": []obj{{"ipBlock": obj{"cidr": "10.0.0.0/8", "except": []string{"10.0.0.0/16"}}}}, "ports": []obj{{"port": 5432, "endPort": 5440, "protocol": "TCP"}}}}})
		case 4:
			mk(fmt.Sprintf("allow-lb-%s-%d", dst, k), obj{"podSelector": obj{"matchLabels": obj{"tier": tiers[dst]}}, "ingress": []obj{{"from": []obj{{"ipBlock": obj{"cidr": "0.0.0.0/0", "except": []string{"10.0.0.0/8"}}}}, "ports": []obj{{"port": 8080, "protocol": "TCP"}}}}})
		}
	}
	return out
}

func (g *gen) clusterRBAC() (roles, bindings []obj) {
	roles = append(roles,
		obj{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": obj{"name": "synthetic-aggregate-reader"},
			"aggregationRule": obj{"clusterRoleSelectors": []obj{{"matchLabels": obj{"synthetic/aggregate-to-reader": "true"}}}}},
		obj{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": obj{"name": "synthetic-pod-reader", "labels": obj{"synthetic/aggregate-to-reader": "true"}},
			"rules": []obj{{"apiGroups": []string{""}, "resources": []string{"pods", "pods/log"}, "verbs": verbsR}}},
		obj{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": obj{"name": "synthetic-deployer", "labels": obj{"synthetic/aggregate-to-reader": "true"}},
			"rules": []obj{{"apiGroups": []string{"apps"}, "resources": []string{"deployments", "replicasets"}, "verbs": verbsW}, {"apiGroups": []string{""}, "resources": []string{"pods", "services", "configmaps"}, "verbs": verbsW}}},
		obj{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": obj{"name": "synthetic-secret-reader"},
			"rules": []obj{{"apiGroups": []string{""}, "resources": []string{"secrets"}, "verbs": []string{"get"}}}},
	)
	n := g.sc.RBACBindings / 100
	for i := 0; i < n; i++ {
		role := []string{"view", "synthetic-aggregate-reader", "synthetic-secret-reader", "cluster-admin"}[i%4]
		bindings = append(bindings, obj{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": obj{"name": fmt.Sprintf("synthetic-crb-%d", i)},
			"subjects": []obj{{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": id(0x2b, g.r.IntN(g.sc.Groups))}},
			"roleRef":  obj{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}})
	}
	return roles, bindings
}

func (g *gen) rbac(ns string, nsIndex int, nsApps []string, n int) []obj {
	out := []obj{
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": obj{"name": "developer", "namespace": ns},
			"rules": []obj{{"apiGroups": []string{"", "apps"}, "resources": []string{"pods", "deployments", "services", "configmaps"}, "verbs": verbsW}, {"apiGroups": []string{""}, "resources": []string{"pods/exec", "pods/log"}, "verbs": []string{"get", "create"}}}},
		{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": obj{"name": "reader", "namespace": ns},
			"rules": []obj{{"apiGroups": []string{"*"}, "resources": []string{"*"}, "verbs": verbsR}}},
	}
	for k := 0; k < n; k++ {
		var subj obj
		switch k % 4 {
		case 0, 1:
			gi := g.r.IntN(g.sc.Groups)
			name := id(0x2b, gi)
			if g.r.IntN(40) == 0 {
				name = groupName(gi) // bound by display name, as people do
			}
			subj = obj{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}
		case 2:
			subj = obj{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": fmt.Sprintf("user%d@synthetic.example", g.r.IntN(g.sc.Users))}
		case 3:
			subj = obj{"kind": "ServiceAccount", "name": nsApps[k%len(nsApps)] + "-sa", "namespace": ns}
		}
		ref := []obj{{"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "developer"}, {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
			{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}, {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "synthetic-aggregate-reader"}}[k%4]
		out = append(out, obj{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": obj{"name": fmt.Sprintf("binding-%d", k), "namespace": ns},
			"subjects": []obj{subj}, "roleRef": ref})
	}
	return out
}

func (g *gen) spc(ns string, nsIndex int, app string) obj {
	ident := g.identityIndex(nsIndex)
	vault := nsIndex % g.sc.Vaults
	return obj{"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass", "metadata": obj{"name": "app-secrets", "namespace": ns},
		"spec": obj{"provider": "azure", "parameters": obj{"usePodIdentity": "false", "clientID": id(0xc1, ident), "keyvaultName": vaultName(vault), "tenantId": tenant,
			"objects": fmt.Sprintf("array:\n  - |\n    objectName: secret-%d\n    objectType: secret\n  - |\n    objectName: secret-%d\n    objectType: secret\n", nsIndex%10, (nsIndex+1)%10)}}}
}

func vaultName(i int) string { return fmt.Sprintf("kv-synthetic-%d", i) }

// --- Azure: cluster, identities with FICs, vaults, role and policy assignments ---

func (g *gen) azure() error {
	sc := g.sc
	clusterID := "/subscriptions/" + sub + "/resourcegroups/" + rg + "/providers/Microsoft.ContainerService/managedClusters/aks-synthetic"
	aks := obj{"id": clusterID, "name": "aks-synthetic", "location": "eastus", "resourceGroup": rg, "type": "Microsoft.ContainerService/ManagedClusters",
		"kubernetesVersion": "1.33.4", "disableLocalAccounts": false, "enableRbac": true, "nodeResourceGroup": "MC_" + rg + "_aks-synthetic_eastus",
		"aadProfile":        obj{"managed": true, "enableAzureRbac": false, "adminGroupObjectIDs": []string{id(0x2b, 0)}, "tenantId": tenant},
		"oidcIssuerProfile": obj{"enabled": true, "issuerUrl": issuerURL},
		"securityProfile":   obj{"workloadIdentity": obj{"enabled": true}},
		"networkProfile":    obj{"networkPlugin": "azure", "networkPolicy": "azure", "podCidr": "10.100.0.0/14", "serviceCidr": "10.0.0.0/16", "dnsServiceIp": "10.0.0.10"},
		"identityProfile":   obj{"kubeletidentity": obj{"clientId": id(0xc1, 0xfffff), "objectId": id(0xd1, 0xfffff), "resourceId": "/subscriptions/" + sub + "/resourcegroups/MC_rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/aks-synthetic-agentpool"}},
		"agentPoolProfiles": []obj{{"name": "apps", "mode": "System", "osType": "Linux", "count": 12, "vmSize": "Standard_D8ds_v5"}}}
	g.stats.AzureObjects++
	if err := g.write("azure/aks.json", aks); err != nil {
		return err
	}
	var idents, sps []obj
	for i := 0; i < sc.Identities; i++ {
		name := fmt.Sprintf("id-synthetic-%d", i)
		rid := "/subscriptions/" + sub + "/resourcegroups/" + rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
		idents = append(idents, obj{"id": rid, "name": name, "clientId": id(0xc1, i), "principalId": id(0xd1, i), "tenantId": tenant, "resourceGroup": rg, "location": "eastus", "type": "Microsoft.ManagedIdentity/userAssignedIdentities"})
		sps = append(sps, obj{"id": id(0xd1, i), "appId": id(0xc1, i), "displayName": name, "servicePrincipalType": "ManagedIdentity", "alternativeNames": []string{"isExplicit=True", rid}})
		var fics []obj
		per := sc.FICs / sc.Identities
		for k := 0; k < per; k++ {
			// Identity i serves namespaces i, i+Identities, ...; the first
			// credential is right, later ones drift (issuer slash, subject).
			nsIndex := i + k*sc.Identities
			if nsIndex >= sc.Namespaces {
				nsIndex = i % sc.Namespaces
			}
			iss := issuerURL
			if g.r.IntN(20) == 0 {
				iss = issuerURL[:len(issuerURL)-1]
			}
			fics = append(fics, obj{"name": fmt.Sprintf("fic-%d", k), "issuer": iss, "subject": fmt.Sprintf("system:serviceaccount:%s:%s-sa", nsName(nsIndex), g.nsFirst[nsIndex]),
				"audiences": []string{"api://AzureADTokenExchange"}, "resourceGroup": rg, "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
				"id": rid + "/federatedIdentityCredentials/" + fmt.Sprintf("fic-%d", k)})
		}
		if err := g.azList(fmt.Sprintf("azure/federated-credentials/%s.json", name), fics); err != nil {
			return err
		}
	}
	if err := g.azList("azure/identities.json", idents); err != nil {
		return err
	}
	if err := g.azList("azure/service-principals.json", sps); err != nil {
		return err
	}
	var ras []obj
	for v := 0; v < sc.Vaults; v++ {
		name := vaultName(v)
		vid := "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.KeyVault/vaults/" + name
		rbac := v%2 == 0
		var policies []obj
		if !rbac {
			for k := 0; k < 5; k++ {
				perms := []string{"get", "list"}
				if k == 4 {
					perms = []string{"list"}
				}
				policies = append(policies, obj{"tenantId": tenant, "objectId": id(0xd1, (v+k*sc.Vaults)%sc.Identities), "applicationId": nil, "permissions": obj{"secrets": perms, "keys": []string{}, "certificates": []string{}}})
			}
		} else {
			for k := 0; k < 5; k++ {
				role, rid := "Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6"
				if k == 4 {
					role, rid = "Key Vault Reader", "21090545-7ca7-4776-b22c-e363652d74d2"
				}
				ras = append(ras, obj{"id": vid + "/providers/Microsoft.Authorization/roleAssignments/" + id(0xa7, v*10+k), "name": id(0xa7, v*10+k),
					"principalId": id(0xd1, (v+k*sc.Vaults)%sc.Identities), "principalType": "ServicePrincipal", "roleDefinitionName": role,
					"roleDefinitionId": "/subscriptions/" + sub + "/providers/Microsoft.Authorization/roleDefinitions/" + rid, "scope": vid})
			}
		}
		g.stats.AzureObjects++
		if err := g.write(fmt.Sprintf("azure/keyvaults/%s.json", name), obj{"id": vid, "name": name, "location": "eastus", "resourceGroup": rg, "type": "Microsoft.KeyVault/vaults",
			"properties": obj{"tenantId": tenant, "vaultUri": "https://" + name + ".vault.azure.net/", "enableRbacAuthorization": rbac, "enableSoftDelete": true, "accessPolicies": policies}}); err != nil {
			return err
		}
		var secrets []obj
		for s := 0; s < 10; s++ {
			secrets = append(secrets, obj{"id": fmt.Sprintf("https://%s.vault.azure.net/secrets/secret-%d", name, s), "name": fmt.Sprintf("secret-%d", s), "attributes": obj{"enabled": true}})
		}
		if err := g.azList(fmt.Sprintf("azure/keyvaults/%s.secrets.json", name), secrets); err != nil {
			return err
		}
	}
	if err := g.azList("azure/role-assignments.json", ras); err != nil {
		return err
	}
	pa := func(name, display, def string, params obj) obj {
		return obj{"id": clusterID + "/providers/Microsoft.Authorization/policyAssignments/" + name, "name": name, "displayName": display, "scope": clusterID, "enforcementMode": "Default",
			"policyDefinitionId": "/providers/Microsoft.Authorization/policyDefinitions/" + def, "parameters": params}
	}
	return g.azList("azure/policy-assignments.json", []obj{
		pa("allowed-images", "Kubernetes cluster containers should only use allowed images", "febd0533-8e55-448f-b837-bd0e06f16469", obj{"effect": obj{"value": "deny"}, "allowedContainerImagesRegex": obj{"value": "^synthetic\\.azurecr\\.io/.+$"}}),
		pa("no-privileged", "Kubernetes cluster should not allow privileged containers", "95edb821-ddaf-4404-9732-666045e056b4", obj{"effect": obj{"value": "deny"}}),
		pa("readonly-rootfs", "Kubernetes cluster containers should run with a read only root file system", "df49d893-a74c-421d-bc95-c663042e5b80", obj{"effect": obj{"value": "audit"}}),
	})
}
