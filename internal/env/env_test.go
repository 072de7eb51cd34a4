package env

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/akssec/akssec/internal/snapshot"
)

func load(t *testing.T, files map[string]string) *Environment {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return New(s)
}

func podRefs(ps []*Pod) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Ref())
	}
	return out
}

const deploy = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: x}]
`

func TestWorkloadExpansion(t *testing.T) {
	t.Run("a workload alone makes its template pod", func(t *testing.T) {
		e := load(t, map[string]string{"kubernetes/d.yaml": deploy})
		if diff := cmp.Diff([]string{"prod/deployment/web (pod template)"}, podRefs(e.Pods)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		p := e.Pods[0]
		if !p.Synthesized || p.Workload.Replicas != 3 || p.Labels["app"] != "web" || p.Spec.ServiceAccountName != "default" {
			t.Errorf("template pod = %+v", p)
		}
	})
	t.Run("live ReplicaSet and pods stand for the Deployment", func(t *testing.T) {
		e := load(t, map[string]string{"kubernetes/d.yaml": deploy + `---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-5d8f
  namespace: prod
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: u1}]
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: x}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d8f-abcde
  namespace: prod
  labels: {app: web}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, uid: u2}]
spec:
  containers: [{name: c, image: x}]
`})
		if diff := cmp.Diff([]string{"prod/web-5d8f-abcde"}, podRefs(e.Pods)); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if e.Pods[0].Workload == nil || e.Pods[0].Workload.Name != "web-5d8f" || e.Pods[0].Workload.Owner.Name != "web" {
			t.Errorf("ownership not linked: %+v", e.Pods[0].Workload)
		}
	})
}

func TestPodsMatching(t *testing.T) {
	e := load(t, map[string]string{"kubernetes/p.yaml": `apiVersion: v1
kind: Pod
metadata: {name: a, namespace: ns1, labels: {app: web, tier: fe}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: b, namespace: ns1, labels: {app: api, tier: be}}
spec: {containers: [{name: c, image: x}]}
---
apiVersion: v1
kind: Pod
metadata: {name: c, namespace: other, labels: {app: web}}
spec: {containers: [{name: c, image: x}]}
`})
	tests := []struct {
		sel  string
		want []string
	}{
		{"app=web", []string{"ns1/a"}},
		{"app in (web,api)", []string{"ns1/a", "ns1/b"}},
		{"tier!=fe", []string{"ns1/b"}},
		{"", []string{"ns1/a", "ns1/b"}},
		{"app=web,tier=be", nil},
	}
	for _, tt := range tests {
		sel, err := labels.Parse(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, podRefs(e.PodsMatching("ns1", sel))); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.sel, diff)
		}
	}
}

func TestExampleDirectory(t *testing.T) {
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := New(s)
	dave, err := e.Directory.Resolve("dave@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	// dave is in compliance-auditors, which is nested in aks-viewers.
	want := []string{"2b222222-0000-4000-8000-000000000002", "2b222222-0000-4000-8000-000000000005"}
	if diff := cmp.Diff(want, e.Directory.TransitiveGroups(dave.ID)); diff != "" {
		t.Errorf("transitive groups (-want +got):\n%s", diff)
	}
	if _, err := e.Directory.Resolve("nobody"); err == nil {
		t.Error("resolving an unknown principal succeeded")
	}
	if mi := e.Directory.IdentityByClientID("c1000000-0000-4000-8000-000000000001"); mi == nil || mi.DisplayName != "myapp-identity" {
		t.Errorf("identity by client ID = %+v", mi)
	}
	if sa := e.ServiceAccount("default", "myapp-sa"); sa == nil || sa.Loc.File != "kubernetes/serviceaccounts.json" {
		t.Errorf("ServiceAccount lookup = %+v", sa)
	}
	// Every template pod names where its template is.
	for _, p := range e.Pods {
		if p.Loc.File == "" || p.Loc.Line == 0 {
			t.Errorf("pod %s has no location", p.Ref())
		}
	}
}

func TestApply(t *testing.T) {
	e := load(t, map[string]string{"kubernetes/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: old}}\n"})
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.yaml"), []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {x: new}}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n"), 0o644)
	objs, err := snapshot.LoadManifests([]string{filepath.Join(dir, "m.yaml")}, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	after := e.Apply(objs)
	if got := after.Namespace("a").Obj.Labels["x"]; got != "new" {
		t.Errorf("applied namespace a has x=%q, want new", got)
	}
	if after.Namespace("b") == nil || len(after.Namespaces) != 2 {
		t.Errorf("namespaces after apply: %d", len(after.Namespaces))
	}
	if e.Namespace("a").Obj.Labels["x"] != "old" || e.Namespace("b") != nil {
		t.Error("Apply changed the original Environment")
	}
}
