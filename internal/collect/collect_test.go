package collect

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

// fakeLister serves objects in pages of the asked size, like the API
// server: items carry no kind, continue tokens are offsets.
type fakeLister struct {
	objects   map[string][]map[string]any // by resource.group
	forbidden map[string]bool
	expireAt  map[string]int // continue offset that expires once
	calls     map[string]int
	limits    []int64
}

func (f *fakeLister) List(_ context.Context, k Kind, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[k.String()]++
	f.limits = append(f.limits, opts.Limit)
	gr := schema.GroupResource{Group: k.GVR.Group, Resource: k.GVR.Resource}
	if f.forbidden[k.String()] {
		return nil, apierrors.NewForbidden(gr, "", errors.New(`User "eve" cannot list resource`))
	}
	objs, ok := f.objects[k.String()]
	if !ok {
		objs = nil
	}
	start := 0
	if opts.Continue != "" {
		start, _ = strconv.Atoi(opts.Continue)
		if at, ok := f.expireAt[k.String()]; ok && at == start {
			delete(f.expireAt, k.String())
			return nil, apierrors.NewResourceExpired("continue token expired")
		}
	}
	end := len(objs)
	if opts.Limit > 0 && start+int(opts.Limit) < end {
		end = start + int(opts.Limit)
	}
	l := &unstructured.UnstructuredList{}
	for _, o := range objs[start:end] {
		l.Items = append(l.Items, unstructured.Unstructured{Object: deepCopy(o)})
	}
	if end < len(objs) {
		l.SetContinue(strconv.Itoa(end))
	}
	return l, nil
}

func deepCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}

func meta(ns, name string) map[string]any {
	m := map[string]any{"name": name}
	if ns != "" {
		m["namespace"] = ns
	}
	return m
}

func pod(ns, name string) map[string]any {
	return map[string]any{"metadata": meta(ns, name), "spec": map[string]any{"containers": []any{map[string]any{"name": "c", "image": "nginx"}}}}
}

const secretValue = "hunter2-very-secret"

func secret(ns, name string) map[string]any {
	m := meta(ns, name)
	m["annotations"] = map[string]any{
		"kubectl.kubernetes.io/last-applied-configuration": `{"stringData":{"password":"` + secretValue + `"}}`,
		"team": "payments",
	}
	m["managedFields"] = []any{map[string]any{"manager": "kubectl", "operation": "Apply"}}
	return map[string]any{
		"metadata":   m,
		"type":       "Opaque",
		"data":       map[string]any{"password": base64.StdEncoding.EncodeToString([]byte(secretValue)), "user": "YWRtaW4="},
		"stringData": map[string]any{"token": secretValue},
	}
}

func TestKubernetes(t *testing.T) {
	var pods []map[string]any
	for i := range 7 {
		ns := "a"
		if i%2 == 1 {
			ns = "b"
		}
		pods = append(pods, pod(ns, "p"+strconv.Itoa(6-i)))
	}
	fl := &fakeLister{
		objects: map[string][]map[string]any{
			"namespaces": {{"metadata": meta("", "a")}, {"metadata": meta("", "b")}},
			"pods":       pods,
			"secrets":    {secret("a", "db")},
			"configmaps": {{"metadata": meta("a", "cfg"), "data": map[string]any{"url": "https://x"}}},
			"clusterroles.rbac.authorization.k8s.io": {{"metadata": meta("", "view"),
				"rules": []any{map[string]any{"apiGroups": []any{""}, "resources": []any{"pods"}, "verbs": []any{"get"}}}}},
		},
		forbidden: map[string]bool{"nodes": true},
		expireAt:  map[string]int{"pods": 4},
	}
	dir := t.TempDir()
	var progress []string
	res, err := Kubernetes(context.Background(), dir, fl, fixedKinds, Options{PageSize: 2, Progress: func(p Progress) {
		if p.Done {
			progress = append(progress, p.Kind.String()+"="+strconv.Itoa(p.Objects)+p.Skipped)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != 12 {
		t.Errorf("Objects = %d, want 12", res.Objects)
	}
	// pods: 7 objects in pages of 2 is 4 requests; the token at offset 4
	// expires once (the third request), so the kind is listed again from
	// the start: 3 + 4.
	if got := fl.calls["pods"]; got != 7 {
		t.Errorf("pod list requests = %d, want 7 (restarted once after the expired token)", got)
	}
	for _, l := range fl.limits {
		if l != 2 {
			t.Fatalf("a request asked for %d objects, want the page size 2", l)
		}
	}
	var skipped []string
	for _, k := range res.Skipped() {
		skipped = append(skipped, k.Kind)
		if !strings.HasPrefix(k.Skipped, "forbidden: ") {
			t.Errorf("%s skipped for %q, want forbidden", k.Kind, k.Skipped)
		}
	}
	if diff := cmp.Diff([]string{"nodes"}, skipped); diff != "" {
		t.Errorf("skipped kinds (-want +got):\n%s", diff)
	}
	if !contains(progress, "nodes=0forbidden: ") {
		t.Errorf("progress did not report nodes as forbidden: %v", progress)
	}

	var files []string
	for _, k := range res.Kinds {
		files = append(files, k.Files...)
	}
	sort.Strings(files)
	want := []string{
		"kubernetes/cluster/clusterroles.rbac.authorization.k8s.io.yaml",
		"kubernetes/cluster/namespaces.yaml",
		"kubernetes/namespaces/a/configmaps.yaml",
		"kubernetes/namespaces/a/pods.yaml",
		"kubernetes/namespaces/a/secrets.yaml",
		"kubernetes/namespaces/b/pods.yaml",
	}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}

	// No secret value anywhere on disk, in any encoding.
	b64 := base64.StdEncoding.EncodeToString([]byte(secretValue))
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, bad := range []string{secretValue, b64, "YWRtaW4=", "managedFields", "last-applied", "https://x"} {
			if strings.Contains(string(data), bad) {
				t.Errorf("%s holds %q", p, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The snapshot loads, every object known, in name order per file.
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatalf("loading the collected snapshot: %v", err)
	}
	var refs []string
	for _, o := range s.Objects {
		if !o.Known {
			t.Errorf("%s was not recognized by the loader", o.Ref())
		}
		refs = append(refs, o.Ref())
	}
	wantRefs := []string{
		"ClusterRole/view", "Namespace/a", "Namespace/b", "ConfigMap/a/cfg",
		"Pod/a/p0", "Pod/a/p2", "Pod/a/p4", "Pod/a/p6", "Secret/a/db", "Pod/b/p1", "Pod/b/p3", "Pod/b/p5",
	}
	if diff := cmp.Diff(wantRefs, refs); diff != "" {
		t.Errorf("loaded objects (-want +got):\n%s", diff)
	}
	e := env.New(s)
	if len(e.Secrets) != 1 {
		t.Fatalf("Secrets = %d, want 1", len(e.Secrets))
	}
	sec := e.Secrets[0].Obj
	var keys []string
	for k, v := range sec.Data {
		keys = append(keys, k)
		if len(v) != 0 {
			t.Errorf("secret key %s has a value", k)
		}
	}
	sort.Strings(keys)
	if diff := cmp.Diff([]string{"password", "token", "user"}, keys); diff != "" {
		t.Errorf("secret key names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"team": "payments"}, sec.Annotations); diff != "" {
		t.Errorf("secret annotations (-want +got):\n%s", diff)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if strings.HasPrefix(x, s) {
			return true
		}
	}
	return false
}

func TestKubernetesUnauthorizedIsFatal(t *testing.T) {
	l := listerFunc(func(context.Context, Kind, metav1.ListOptions) (*unstructured.UnstructuredList, error) {
		return nil, apierrors.NewUnauthorized("bad token")
	})
	_, err := Kubernetes(context.Background(), t.TempDir(), l, fixedKinds, Options{})
	if !apierrors.IsUnauthorized(err) {
		t.Fatalf("err = %v, want the 401 returned", err)
	}
}

func TestKubernetesRejectsBadNamespace(t *testing.T) {
	fl := &fakeLister{objects: map[string][]map[string]any{"pods": {pod("../../etc", "x")}}}
	dir := t.TempDir()
	_, err := Kubernetes(context.Background(), dir, fl, fixedKinds, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a valid namespace name") {
		t.Fatalf("err = %v, want the namespace refused", err)
	}
}

type listerFunc func(context.Context, Kind, metav1.ListOptions) (*unstructured.UnstructuredList, error)

func (f listerFunc) List(ctx context.Context, k Kind, o metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return f(ctx, k, o)
}

func TestKinds(t *testing.T) {
	res := []*metav1.APIResourceList{
		{GroupVersion: "secrets-store.csi.x-k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "secretproviderclasses", Kind: "SecretProviderClass", Namespaced: true, Verbs: []string{"list", "get"}},
			{Name: "secretproviderclasspodstatuses", Kind: "SecretProviderClassPodStatus", Namespaced: true, Verbs: []string{"list"}},
		}},
		{GroupVersion: "constraints.gatekeeper.sh/v1beta1", APIResources: []metav1.APIResource{
			{Name: "k8sazurev2noprivilege", Kind: "K8sAzureV2NoPrivilege", Verbs: []string{"list"}},
			{Name: "k8sazurev2noprivilege/status", Kind: "K8sAzureV2NoPrivilege", Verbs: []string{"get"}},
		}},
		{GroupVersion: "projectcalico.org/v3", APIResources: []metav1.APIResource{
			{Name: "globalnetworkpolicies", Kind: "GlobalNetworkPolicy", Verbs: []string{"list"}},
			{Name: "tiers", Kind: "Tier", Verbs: []string{"list"}},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", Kind: "Deployment", Namespaced: true, Verbs: []string{"list"}},
		}},
	}
	var got []string
	for _, k := range Kinds(res)[len(fixedKinds):] {
		got = append(got, k.GVR.String())
	}
	want := []string{
		"projectcalico.org/v3, Resource=globalnetworkpolicies", // sorted by resource.group
		"constraints.gatekeeper.sh/v1beta1, Resource=k8sazurev2noprivilege",
		"secrets-store.csi.x-k8s.io/v1, Resource=secretproviderclasses",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("discovered kinds (-want +got):\n%s", diff)
	}
}

func TestPrepare(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "kubernetes"), 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(dir, "suite.yaml")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Prepare(dir, false); !errors.Is(err, ErrSnapshotExists) {
		t.Fatalf("Prepare without overwrite = %v, want ErrSnapshotExists", err)
	}
	if err := Prepare(dir, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "kubernetes")); !os.IsNotExist(err) {
		t.Errorf("kubernetes/ survived an overwrite")
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("overwrite removed a file that is not part of the snapshot: %v", err)
	}
}
