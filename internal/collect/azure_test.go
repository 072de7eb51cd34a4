package collect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/snapshot"
)

// fakeAz answers az commands from a table keyed by the command line
// without "--output json"; an error entry fails the command.
type fakeAz struct {
	out  map[string]string
	fail map[string]string
	ran  []string
}

func (f *fakeAz) Run(_ context.Context, args []string) ([]byte, error) {
	if n := len(args); n < 2 || args[n-2] != "--output" || args[n-1] != "json" {
		return nil, errors.New("collect must ask az for JSON")
	}
	line := commandLine(args[:len(args)-2])
	f.ran = append(f.ran, line)
	if msg, ok := f.fail[line]; ok {
		return nil, errors.New(msg)
	}
	if out, ok := f.out[line]; ok {
		return []byte(out), nil
	}
	return []byte("[]"), nil
}

func TestAzure(t *testing.T) {
	const (
		group = "0b1c2d3e-0000-4000-8000-000000000001"
	)
	az := &fakeAz{
		out: map[string]string{
			"az aks show --resource-group rg-bank --name aks-bank --subscription sub1": `{"name":"aks-bank","type":"Microsoft.ContainerService/ManagedClusters","kubernetesVersion":"1.37.2"}`,
			"az ad user list":                                            `[{"id":"11111111-0000-4000-8000-000000000001","userPrincipalName":"alice@contoso.com","displayName":"Alice"}]`,
			"az ad group list":                                           `[{"id":"` + group + `","displayName":"aks-admins","securityEnabled":true}]`,
			"az ad group member list --group " + group:                   `[{"@odata.type":"#microsoft.graph.user","id":"11111111-0000-4000-8000-000000000001","userPrincipalName":"alice@contoso.com"}]`,
			"az identity list --subscription sub1":                       `[{"name":"myapp-identity","resourceGroup":"rg-bank","clientId":"c1","principalId":"p1","type":"Microsoft.ManagedIdentity/userAssignedIdentities","id":"/subscriptions/sub1/resourceGroups/rg-bank/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myapp-identity"}]`,
			"az keyvault list --resource-type vault --subscription sub1": `[{"name":"myKV"},{"name":"../evil"}]`,
			"az keyvault show --name myKV --subscription sub1":           `{"name":"myKV","type":"Microsoft.KeyVault/vaults","properties":{"enableRbacAuthorization":true}}`,
		},
		fail: map[string]string{
			"az keyvault secret list --vault-name myKV": "(Forbidden) Caller is not authorized to perform action on resource",
		},
	}
	dir := t.TempDir()
	var steps []string
	res, err := Azure(context.Background(), dir, az, AzureOptions{ResourceGroup: "rg-bank", ClusterName: "aks-bank", Subscription: "sub1",
		Progress: func(s AzureStep) { steps = append(steps, s.Command) }})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		"aks.json",
		"federated-credentials/myapp-identity.json",
		"groups.json",
		"identities.json",
		"keyvaults/myKV.json",
		"members/" + group + ".json",
		"policy-assignments.json",
		"role-assignments.json",
		"service-principals.json",
		"users.json",
	}
	if diff := cmp.Diff(wantFiles, res.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	var failed []string
	for _, s := range res.Failed() {
		failed = append(failed, s.Command)
	}
	wantFailed := []string{
		"az keyvault secret list --vault-name myKV",
		"az keyvault show --name ../evil --subscription sub1",
		"az keyvault secret list --vault-name ../evil",
	}
	if diff := cmp.Diff(wantFailed, failed); diff != "" {
		t.Errorf("failed steps (-want +got):\n%s", diff)
	}
	if len(steps) != len(res.Steps) {
		t.Errorf("progress saw %d steps, result has %d", len(steps), len(res.Steps))
	}
	for _, r := range az.ran {
		if strings.Contains(r, "evil") {
			t.Errorf("ran %q: a name that cannot be a file must not be collected", r)
		}
	}

	// The files are az's output unchanged.
	got, err := os.ReadFile(filepath.Join(dir, "azure", "aks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := az.out["az aks show --resource-group rg-bank --name aks-bank --subscription sub1"]; string(got) != want {
		t.Errorf("aks.json = %s, want az's output unchanged", got)
	}

	// The index names each file's command, and the snapshot loader
	// accepts it and reads every file.
	var idx azureIndex
	b, err := os.ReadFile(filepath.Join(dir, "azure", "index.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &idx); err != nil {
		t.Fatal(err)
	}
	if got, want := idx.Files["federated-credentials/myapp-identity.json"], "az identity federated-credential list --identity-name myapp-identity --resource-group rg-bank --subscription sub1"; got != want {
		t.Errorf("index names %q, want %q", got, want)
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		t.Fatalf("loading the collected azure/ part: %v", err)
	}
	for _, p := range s.Problems {
		t.Errorf("loader problem: %s", p)
	}
	if s.Azure.Cluster == nil || s.Azure.Cluster.Name != "aks-bank" {
		t.Errorf("the loader did not read aks.json as the cluster")
	}
	if len(s.Azure.Members) != 1 || s.Azure.Members[0].GroupID != group {
		t.Errorf("members = %+v, want the member list of %s", s.Azure.Members, group)
	}
	if len(s.Azure.Identities) != 1 || len(s.Azure.Vaults) != 1 {
		t.Errorf("identities = %d, vaults = %d, want 1 and 1", len(s.Azure.Identities), len(s.Azure.Vaults))
	}
}

func TestAzureWithoutCluster(t *testing.T) {
	az := &fakeAz{}
	res, err := Azure(context.Background(), t.TempDir(), az, AzureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range az.ran {
		if strings.HasPrefix(r, "az aks") {
			t.Errorf("ran %q without a cluster name", r)
		}
	}
	if f := res.Failed(); len(f) != 1 || f[0].Command != "az aks show" {
		t.Errorf("failed = %+v, want az aks show reported as not run", f)
	}
}

func TestCopyAzure(t *testing.T) {
	from := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(from, "azure", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("aks.json", `{"name":"aks-bank","type":"Microsoft.ContainerService/ManagedClusters"}`)
	write("members/g1.json", `[]`)
	write("notes.txt", "not az output")
	write(".git/config.json", "{}")
	dir := t.TempDir()
	for _, src := range []string{from, filepath.Join(from, "azure")} {
		if err := Prepare(dir, true); err != nil {
			t.Fatal(err)
		}
		res, err := CopyAzure(dir, src)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"aks.json", "members/g1.json"}, res.Files); diff != "" {
			t.Errorf("copied from %s (-want +got):\n%s", src, diff)
		}
	}
	if _, err := CopyAzure(dir, filepath.Join(from, "missing")); err == nil {
		t.Error("copying from a missing directory succeeded")
	}
}
