package gkdiff

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// gatekeeperModule is the directory of github.com/open-policy-agent/gatekeeper/v3
// in the module cache (the version go.mod pins).
func gatekeeperModule(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/open-policy-agent/gatekeeper/v3").Output()
	if err != nil {
		t.Fatalf("locating the gatekeeper module: %v (run `go mod download` in test/gkdiff)", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("the gatekeeper module is not in the module cache (run `go mod download` in test/gkdiff)")
	}
	return dir
}

// corpus is the templates, constraints and objects of Gatekeeper's own
// tests, demos and examples.
type corpus struct {
	templates   []*unstructured.Unstructured
	constraints []*unstructured.Unstructured
	objects     []*unstructured.Unstructured
	files       int
}

// gatekeeperCorpusDirs are the directories of the gatekeeper module whose
// manifests make the corpus (test/bats, test/gator, demo, example, and the
// testdata of pkg/readiness and pkg/webhook).
var gatekeeperCorpusDirs = []string{"test", "demo", "example", "pkg"}

func loadGatekeeperCorpus(t *testing.T) *corpus {
	t.Helper()
	root := gatekeeperModule(t)
	c := &corpus{}
	seen := map[string]bool{}
	for _, d := range gatekeeperCorpusDirs {
		err := filepath.WalkDir(filepath.Join(root, d), func(path string, de fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if de.IsDir() {
				return nil
			}
			switch filepath.Ext(path) {
			case ".yaml", ".yml", ".json":
			default:
				return nil
			}
			objs, err := readManifests(path)
			if err != nil {
				rel, _ := filepath.Rel(root, path)
				t.Logf("skip %s: not Kubernetes manifests: %v", rel, err)
				return nil
			}
			c.files++
			for _, u := range objs {
				if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
					continue
				}
				b, _ := json.Marshal(u.Object)
				if seen[string(b)] {
					continue
				}
				seen[string(b)] = true
				group := strings.Split(u.GetAPIVersion(), "/")[0]
				switch {
				case group == "templates.gatekeeper.sh" && u.GetKind() == "ConstraintTemplate":
					c.templates = append(c.templates, u)
				case group == "constraints.gatekeeper.sh":
					c.constraints = append(c.constraints, u)
				case strings.HasSuffix(group, ".gatekeeper.sh"), group == "apiextensions.k8s.io":
					// mutators, expansion templates, configs, suites, providers, CRDs
				default:
					c.objects = append(c.objects, u)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// TestGatekeeperCorpus runs every ConstraintTemplate of Gatekeeper's
// tests, demos and examples, one template at a time with every constraint
// of its kind, on every object of the corpus (as a CREATE and as an
// UPDATE, pods also as Gatekeeper's expansion would generate them), with the corpus synced as
// data.inventory.
func TestGatekeeperCorpus(t *testing.T) {
	ctx := context.Background()
	c := loadGatekeeperCorpus(t)
	namespaces := namespaceObjects(c.objects)
	var reqs []*request
	for _, u := range c.objects {
		reqs = append(reqs, newRequest(u, namespaces))
		// An UPDATE too, for the templates whose target lists operations
		// (without oldObject, which akssec's engine does not take: both
		// engines see it null).
		up := newRequest(u, namespaces)
		up.Operation = "UPDATE"
		reqs = append(reqs, up)
		if u.GetKind() == "Pod" && u.GetAPIVersion() == "v1" {
			g := newRequest(u, namespaces)
			g.Generated = true
			reqs = append(reqs, g)
		}
	}
	byKind := map[string][]*unstructured.Unstructured{}
	for _, u := range c.constraints {
		byKind[u.GetKind()] = append(byKind[u.GetKind()], u)
	}
	var total tally
	for i, tm := range c.templates {
		kind, _, _ := unstructured.NestedString(tm.Object, "spec", "crd", "spec", "names", "kind")
		var cs []*unstructured.Unstructured
		names := map[string]int{}
		for _, u := range byKind[kind] {
			u = u.DeepCopy()
			orig := u.GetName()
			if n := names[orig]; n > 0 {
				u.SetName(fmt.Sprintf("%s-dup%d", orig, n))
			}
			names[orig]++
			cs = append(cs, u)
		}
		ps := policySet{name: fmt.Sprintf("template %d %s", i, tm.GetName()), templates: []*unstructured.Unstructured{tm}, constraints: cs, data: c.objects}
		n := compare(t, ctx, ps, reqs)
		total.add(n)
	}
	logTally(t, "gatekeeper corpus", total)
	t.Logf("gatekeeper corpus: %d files, %d template variants, %d constraints, %d objects", c.files, len(c.templates), len(c.constraints), len(c.objects))
	kinds := map[string]bool{}
	for _, tm := range c.templates {
		kinds[tm.GetName()] = true
	}
	names := make([]string, 0, len(kinds))
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	t.Logf("template names: %s", strings.Join(names, " "))
	for _, bug := range []string{bugParamSchema} {
		if !observed[bug] {
			t.Errorf("known bug %s no longer shows: remove it from the known bugs", bug)
		}
	}
	// The corpus must not be empty or trivial: at v3.23.1 it has 60+
	// template variants and hundreds of violating reviews.
	if len(c.templates) < 50 || total.violating < 100 || total.violations < 150 {
		t.Errorf("the corpus compared too little: %d templates, %d violating reviews, %d violations", len(c.templates), total.violating, total.violations)
	}
}
