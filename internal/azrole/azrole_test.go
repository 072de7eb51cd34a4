package azrole

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, op string
		want        bool
	}{
		{"Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
		{"Microsoft.KeyVault/vaults/secrets/*", "Microsoft.KeyVault/vaults/keys/read", false},
		{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/keys/read", true},
		{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", false},
		{"microsoft.keyvault/VAULTS/secrets/getsecret/action", "Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
		{"*", "anything/at/all", true},
		{"*/read", "Microsoft.ContainerRegistry/registries/pull/read", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.op); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.op, got, tt.want)
		}
	}
}

func TestScopeContains(t *testing.T) {
	const kv = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
	tests := []struct {
		scope, resource string
		want            bool
	}{
		{"/", kv, true},
		{"/subscriptions/s", kv, true},
		{"/subscriptions/S/resourcegroups/RG", kv, true},
		{kv, kv + "/secrets/x", true},
		{kv + "/", kv, true},
		{kv + "/secrets/x", kv, false},
		{kv + "/secrets/x", kv + "/secrets/xy", false},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/k", kv, false},
		{"/providers/Microsoft.Management/managementGroups/root", kv, false},
	}
	for _, tt := range tests {
		if got := ScopeContains(tt.scope, tt.resource); got != tt.want {
			t.Errorf("ScopeContains(%q, %q) = %v, want %v", tt.scope, tt.resource, got, tt.want)
		}
	}
}

func TestContributorCannotAssignRoles(t *testing.T) {
	c := Builtin(Contributor)
	if c.AllowsAction("Microsoft.Authorization/roleAssignments/write") {
		t.Error("Contributor may write role assignments, want not (NotActions)")
	}
	if !c.AllowsAction("Microsoft.KeyVault/vaults/write") {
		t.Error("Contributor may not write vaults (edit access policies), want may")
	}
	if c.AllowsDataAction("Microsoft.KeyVault/vaults/secrets/getSecret/action") {
		t.Error("Contributor has data actions, want none")
	}
	if !Builtin(AcrPull).AllowsAction("Microsoft.ContainerRegistry/registries/pull/read") {
		t.Error("AcrPull does not pull")
	}
}
