package gkdiff

import (
	"context"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/akssec/akssec/internal/azurepolicy"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/gatekeeper"
	"github.com/akssec/akssec/internal/snapshot"
)

// TestContosoBank runs the constraints the Azure Policy add-on makes from
// the bundled example's policy assignments on every object of the
// example's snapshot, the pods its workloads create, and the manifests
// for `akssec admit`.
func TestContosoBank(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join("..", "..", "examples", "contoso-bank")
	s, err := snapshot.Load(ctx, dir, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := env.New(s)
	clusterID := ""
	if e.Cluster != nil {
		clusterID = e.Cluster.ID
	}
	set, err := azurepolicy.Build(s.Azure.PolicyAssignments, azurepolicy.Options{ClusterID: clusterID})
	if err != nil {
		t.Fatal(err)
	}
	for _, sk := range set.Skipped {
		t.Logf("assignment %s makes no constraint: %s", sk.Assignment.Name, sk.Reason)
	}
	ps := policySet{name: "contoso-bank", opts: gatekeeper.Options{Prefilters: azurepolicy.Prefilters()}}
	ts, cs := set.Items()
	for _, it := range ts {
		ps.templates = append(ps.templates, it.Obj)
	}
	for _, it := range cs {
		c := it.Obj.DeepCopy()
		if len(c.GetName()) > 63 {
			t.Errorf("constraint %s/%s: name over 63 bytes", c.GetKind(), c.GetName())
		}
		ps.constraints = append(ps.constraints, c)
	}
	if len(ps.constraints) < 3 {
		t.Fatalf("the example makes %d constraints, want at least 3", len(ps.constraints))
	}

	nss := map[string]*corev1.Namespace{}
	for _, n := range e.Namespaces {
		nss[n.Obj.Name] = n.Obj
	}
	var objs []*unstructured.Unstructured
	toU := func(v any) *unstructured.Unstructured {
		if u, ok := v.(*unstructured.Unstructured); ok {
			return u
		}
		return &unstructured.Unstructured{Object: jsonRoundTrip(v)}
	}
	for _, o := range s.Objects {
		objs = append(objs, toU(o.Typed))
	}
	for _, p := range e.Pods {
		if !p.Synthesized {
			continue // the bare pods are among the objects
		}
		pod := p.Pod.DeepCopy()
		pod.APIVersion, pod.Kind = "v1", "Pod"
		if pod.Name == "" {
			pod.Name = pod.GenerateName + "x7k2p" // the name the API server generates
		}
		objs = append(objs, toU(pod))
	}
	manifests, err := filepath.Glob(filepath.Join(dir, "manifests", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	mobjs, err := snapshot.LoadManifests(manifests, snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range mobjs {
		objs = append(objs, toU(o.Typed))
	}
	var reqs []*request
	for _, u := range objs {
		if u.GetAPIVersion() == "" || u.GetKind() == "" {
			t.Fatalf("object without apiVersion or kind: %v", u.Object["metadata"])
		}
		reqs = append(reqs, newRequest(u, nss))
	}
	n := compare(t, ctx, ps, reqs)
	logTally(t, "contoso-bank", n)
	if n.violating < 5 {
		t.Errorf("only %d violating reviews: the example's faults (unanchored image regex, busybox init container, privileged debug-tools, read-only root filesystem audit) should show", n.violating)
	}
}
