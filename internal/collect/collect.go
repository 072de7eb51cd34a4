// Package collect writes a snapshot directory (DESIGN.md "The snapshot")
// from a live cluster and its Azure side: every kind akssec reads, listed
// page by page through the API server, and the az CLI output the azure/ part
// is made of.
//
// What a snapshot never holds: Secret and ConfigMap values. A Secret is
// written with its metadata, type and key names only (every value emptied,
// stringData likewise, and the kubectl last-applied annotation, which
// repeats the whole object, dropped); the same for ConfigMaps, whose values
// akssec never reads. managedFields are dropped from every object as noise.
//
// A kind the caller may not list (403), or that the server does not serve,
// is reported in the Result and the collection goes on; only bad
// credentials (401), a cancelled context or a write error stop it.
package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// Lister lists one page of a kind. DynamicLister adapts client-go's
// dynamic client; tests use fakes.
type Lister interface {
	List(ctx context.Context, k Kind, opts metav1.ListOptions) (*unstructured.UnstructuredList, error)
}

type dynamicLister struct{ c dynamic.Interface }

// DynamicLister lists through a client-go dynamic client, across all
// namespaces.
func DynamicLister(c dynamic.Interface) Lister { return dynamicLister{c} }

func (d dynamicLister) List(ctx context.Context, k Kind, opts metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return d.c.Resource(k.GVR).List(ctx, opts)
}

// DefaultPageSize is the page size kubectl uses (--chunk-size).
const DefaultPageSize = 500

// Options tune a collection.
type Options struct {
	// PageSize is the number of objects asked for per request; 0 means
	// DefaultPageSize.
	PageSize int64
	// Progress, when set, is called after every page and once when a kind
	// is done (Done) or skipped (Skipped set).
	Progress func(Progress)
}

// Progress reports how far the listing of one kind is.
type Progress struct {
	Kind    Kind
	Objects int    // listed so far
	Done    bool   // the kind is finished (written or skipped)
	Skipped string // why the kind was not collected, when it was not
}

// KindResult is what was collected of one kind.
type KindResult struct {
	Kind    string   `json:"kind"`              // resource.group, as kubectl names it
	Objects int      `json:"objects"`           // objects written
	Files   []string `json:"files"`             // files written, relative to the snapshot
	Skipped string   `json:"skipped,omitempty"` // why the kind is missing (forbidden, not served)
}

// Result is what a collection wrote.
type Result struct {
	Dir     string       `json:"dir"`
	Objects int          `json:"objects"`
	Kinds   []KindResult `json:"kinds"`
	Azure   *AzureResult `json:"azure,omitempty"`
}

// Skipped lists the kinds that were not collected, with why.
func (r *Result) Skipped() []KindResult {
	var out []KindResult
	for _, k := range r.Kinds {
		if k.Skipped != "" {
			out = append(out, k)
		}
	}
	return out
}

// ErrSnapshotExists is returned when the target directory already holds a
// snapshot and overwriting was not asked for.
var ErrSnapshotExists = errors.New("the directory already holds a snapshot (kubernetes/ or azure/)")

// Prepare makes dir ready to receive a snapshot: it creates dir, and when
// dir already has kubernetes/ or azure/, removes them if overwrite is set,
// else returns ErrSnapshotExists. Nothing else in dir is touched.
func Prepare(dir string, overwrite bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, sub := range []string{"kubernetes", "azure"} {
		p := filepath.Join(dir, sub)
		if _, err := os.Lstat(p); err == nil {
			if !overwrite {
				return fmt.Errorf("%s: %w", dir, ErrSnapshotExists)
			}
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("removing the old %s: %w", p, err)
			}
		}
	}
	return nil
}

// Kubernetes lists every kind in kinds through l and writes them under
// dir/kubernetes/: cluster-scoped kinds to cluster/<kind>.yaml, namespaced
// ones to namespaces/<namespace>/<kind>.yaml, as multi-document YAML sorted
// by namespace and name. Call Prepare first.
func Kubernetes(ctx context.Context, dir string, l Lister, kinds []Kind, opts Options) (*Result, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	res := &Result{Dir: dir}
	for _, k := range kinds {
		kr, err := collectKind(ctx, dir, l, k, opts)
		if err != nil {
			return res, err
		}
		res.Kinds = append(res.Kinds, kr)
		res.Objects += kr.Objects
	}
	return res, nil
}

func collectKind(ctx context.Context, dir string, l Lister, k Kind, opts Options) (KindResult, error) {
	kr := KindResult{Kind: k.String(), Files: []string{}}
	report := func(n int, done bool, skipped string) {
		if opts.Progress != nil {
			opts.Progress(Progress{Kind: k, Objects: n, Done: done, Skipped: skipped})
		}
	}
	items, err := listAll(ctx, l, k, opts.PageSize, func(n int) { report(n, false, "") })
	if err != nil {
		if ctx.Err() != nil || apierrors.IsUnauthorized(err) {
			return kr, fmt.Errorf("listing %s: %w", k, err)
		}
		kr.Skipped = skipReason(err)
		report(0, true, kr.Skipped)
		return kr, nil
	}
	byNS := map[string][]*unstructured.Unstructured{}
	for i := range items {
		u := &items[i]
		if err := sanitize(u, k); err != nil {
			return kr, err
		}
		ns := ""
		if k.Namespaced {
			ns = u.GetNamespace()
		}
		byNS[ns] = append(byNS[ns], u)
	}
	nss := make([]string, 0, len(byNS))
	for ns := range byNS {
		nss = append(nss, ns)
	}
	sort.Strings(nss)
	for _, ns := range nss {
		objs := byNS[ns]
		sort.Slice(objs, func(i, j int) bool { return objs[i].GetName() < objs[j].GetName() })
		rel, err := kindFile(k, ns)
		if err != nil {
			return kr, err
		}
		if err := writeObjects(filepath.Join(dir, filepath.FromSlash(rel)), objs); err != nil {
			return kr, err
		}
		kr.Files = append(kr.Files, rel)
		kr.Objects += len(objs)
	}
	report(kr.Objects, true, "")
	return kr, nil
}

// listAll follows continue tokens to the end. When a token expires (410
// Gone, the list was too slow for etcd's compaction) the kind is listed
// again from the start, as a consistent snapshot needs, at most 3 times.
func listAll(ctx context.Context, l Lister, k Kind, pageSize int64, progress func(int)) ([]unstructured.Unstructured, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		var items []unstructured.Unstructured
		cont := ""
		expired := false
		for {
			page, err := l.List(ctx, k, metav1.ListOptions{Limit: pageSize, Continue: cont})
			if err != nil {
				if cont != "" && apierrors.IsResourceExpired(err) {
					expired, lastErr = true, err
					break
				}
				return nil, err
			}
			for _, it := range page.Items {
				// List items carry no kind; the list's kind names it.
				it.SetAPIVersion(k.GVR.GroupVersion().String())
				it.SetKind(k.Kind)
				items = append(items, it)
			}
			progress(len(items))
			cont = page.GetContinue()
			if cont == "" {
				break
			}
		}
		if !expired {
			return items, nil
		}
	}
	return nil, lastErr
}

func skipReason(err error) string {
	switch {
	case apierrors.IsForbidden(err):
		return "forbidden: " + err.Error()
	case apierrors.IsNotFound(err), apierrors.IsMethodNotSupported(err):
		return "not served by this API server"
	}
	return err.Error()
}

// kindFile is where a kind's objects of one namespace go. Namespace names
// come from the server, so they are checked before they name a directory.
func kindFile(k Kind, ns string) (string, error) {
	name := k.GVR.Resource
	if k.GVR.Group != "" {
		name += "." + k.GVR.Group
	}
	name += ".yaml"
	if strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return "", fmt.Errorf("resource name %q cannot name a file", k.GVR.Resource)
	}
	if !k.Namespaced {
		return "kubernetes/cluster/" + name, nil
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return "", fmt.Errorf("%s: namespace %q is not a valid namespace name", k, ns)
	}
	return "kubernetes/namespaces/" + ns + "/" + name, nil
}

func writeObjects(path string, objs []*unstructured.Unstructured) error {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := yaml.Marshal(o.Object)
		if err != nil {
			return fmt.Errorf("encoding %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// sanitize removes what a snapshot must not or need not hold.
func sanitize(u *unstructured.Unstructured, k Kind) error {
	unstructured.RemoveNestedField(u.Object, "metadata", "managedFields")
	if k.GVR.Group != "" {
		return nil
	}
	switch k.Kind {
	case "Secret":
		keysOnly(u, "data")
		keysOnly(u, "stringData")
		dropLastApplied(u)
	case "ConfigMap":
		keysOnly(u, "data")
		keysOnly(u, "binaryData")
		dropLastApplied(u)
	}
	return nil
}

// keysOnly replaces every value of the map field with "" (an empty value
// in both data's base64 and stringData's plain text), keeping the key names
// akssec checks references against.
func keysOnly(u *unstructured.Unstructured, field string) {
	m, ok := u.Object[field].(map[string]any)
	if !ok {
		delete(u.Object, field)
		return
	}
	out := make(map[string]any, len(m))
	for key := range m {
		out[key] = ""
	}
	u.Object[field] = out
}

func dropLastApplied(u *unstructured.Unstructured) {
	a := u.GetAnnotations()
	if _, ok := a[corev1.LastAppliedConfigAnnotation]; !ok {
		return
	}
	delete(a, corev1.LastAppliedConfigAnnotation)
	if len(a) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
		return
	}
	u.SetAnnotations(a)
}
