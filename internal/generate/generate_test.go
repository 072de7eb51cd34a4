package generate

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

func TestSmallIsDeterministicAndLoads(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	sa, err := Write(context.Background(), a, Scales["small"], 7)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), b, Scales["small"], 7); err != nil {
		t.Fatal(err)
	}
	err = filepath.Walk(a, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between two runs with the same seed", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Load(context.Background(), a, snapshot.Options{})
	if err != nil {
		t.Fatalf("generated snapshot does not load: %v", err)
	}
	e := env.New(s)
	sc := Scales["small"]
	counts := map[string]int{}
	for _, o := range s.Objects {
		counts[o.Kind]++
	}
	if counts["Namespace"] != sc.Namespaces || counts["Pod"] != sc.Pods || counts["NetworkPolicy"] != sc.NetworkPolicies {
		t.Errorf("counts %v, want %d namespaces, %d pods, %d policies", counts, sc.Namespaces, sc.Pods, sc.NetworkPolicies)
	}
	if got := counts["RoleBinding"] + counts["ClusterRoleBinding"]; got < sc.RBACBindings*9/10 || got > sc.RBACBindings {
		t.Errorf("bindings = %d, want about %d", got, sc.RBACBindings)
	}
	if len(s.Azure.Users) != sc.Users || len(s.Azure.Groups) != sc.Groups || len(s.Azure.Identities) != sc.Identities ||
		len(s.Azure.FederatedCredentials) != sc.FICs || len(s.Azure.Vaults) != sc.Vaults {
		t.Errorf("azure counts: users %d groups %d identities %d fics %d vaults %d", len(s.Azure.Users), len(s.Azure.Groups), len(s.Azure.Identities), len(s.Azure.FederatedCredentials), len(s.Azure.Vaults))
	}
	// Realistic shapes: nesting exists, and workload identity is wired end to end.
	nested := false
	for _, g := range e.Directory.Principals() {
		if len(e.Directory.DirectGroups(g.ID)) > 0 && g.Kind == "Group" {
			nested = true
		}
	}
	if !nested {
		t.Error("no nested groups")
	}
	wired := false
	for _, f := range s.Azure.FederatedCredentials {
		for _, sa := range e.ServiceAccounts {
			if "system:serviceaccount:"+sa.Obj.Namespace+":"+sa.Obj.Name == f.Subject && sa.Obj.Annotations["azure.workload.identity/client-id"] != "" {
				wired = true
			}
		}
	}
	if !wired {
		t.Error("no federated credential names an annotated ServiceAccount")
	}
	if sa.Files == 0 {
		t.Error("stats report no files")
	}
}

func TestRefusesNonEmptyDir(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	if _, err := Write(context.Background(), dir, Scales["small"], 1); err == nil {
		t.Error("Write into a non-empty directory succeeded")
	}
}
