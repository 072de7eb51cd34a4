package netpol

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// loadEnv writes the manifests (and an aks.json naming the network policy
// engine unless plugin is "") into a snapshot and loads it.
func loadEnv(t testing.TB, plugin string, docs ...string) *env.Environment {
	t.Helper()
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "kubernetes"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "kubernetes", "objects.yaml"), []byte(strings.Join(docs, "\n---\n")), 0o644))
	if plugin != "" {
		must(t, os.MkdirAll(filepath.Join(dir, "azure"), 0o755))
		pools := `[{"name":"nodepool1","mode":"System","osType":"Linux","count":3}]`
		engine := plugin
		if plugin == "azure-windows" {
			engine = "azure"
			pools = `[{"name":"nodepool1","mode":"System","osType":"Linux","count":3},{"name":"win","mode":"User","osType":"Windows","count":2}]`
		}
		aks := fmt.Sprintf(`{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c","name":"c","networkProfile":{"networkPlugin":"azure","networkPolicy":%q,"podCidr":"10.244.0.0/16"},"agentPoolProfiles":%s}`, engine, pools)
		must(t, os.WriteFile(filepath.Join(dir, "azure", "aks.json"), []byte(aks), 0o644))
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatalf("loading snapshot: %v", err)
	}
	return env.New(s)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func nsDoc(name string, labels ...string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels: {%s}\n", name, strings.Join(labels, ", "))
}

// podDoc makes a pod; extra is appended under spec (indented by 2).
func podDoc(ns, name, labels string, extra ...string) string {
	spec := "  containers:\n  - name: c\n    image: nginx\n    ports:\n    - {name: http, containerPort: 8080}\n    - {name: dns, containerPort: 5353, protocol: UDP}\n"
	status := ""
	for _, e := range extra {
		if strings.HasPrefix(e, "podIP:") {
			status = "status:\n  " + e + "\n"
			continue
		}
		spec += "  " + e + "\n"
	}
	return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata:\n  name: %s\n  namespace: %s\n  labels: {%s}\nspec:\n%s%s", name, ns, labels, spec, status)
}

func npDoc(ns, name, spec string) string {
	return fmt.Sprintf("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s", name, ns, indent(spec, "  "))
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = by + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}
