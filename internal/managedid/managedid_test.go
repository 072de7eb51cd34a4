package managedid

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

func TestInventoryExample(t *testing.T) {
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inv := Inventory(env.New(s))
	type row struct {
		Kind  Kind
		Name  string
		Nodes bool
		What  []string
	}
	var got []row
	for _, id := range inv {
		r := row{Kind: id.Kind, Name: id.Name, Nodes: id.OnNodes}
		for _, g := range id.Grants {
			r.What = append(r.What, g.Role+": "+g.What)
		}
		got = append(got, r)
	}
	want := []row{
		{KindCluster, "aks-contoso-bank (SystemAssigned)", false, nil},
		{KindKubelet, "aks-contoso-bank-agentpool", true, []string{"AcrPull: pulls images from registry contoso"}},
		{KindAddon, "azurekeyvaultsecretsprovider-aks-contoso-bank", true, nil},
		{KindAddon, "azurepolicy-aks-contoso-bank", true, nil},
		{KindUserAssigned, "myapp-identity", false, []string{"Key Vault Secrets User: reads Key Vault secrets"}},
		{KindUserAssigned, "trading-identity", false, []string{"Key Vault Secrets User: reads Key Vault secrets"}},
		{KindUserAssigned, "reports-identity", false, nil},
		{KindUserAssigned, "alpha-ci-identity", false, []string{"Key Vault Secrets User: reads Key Vault secrets"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
}
