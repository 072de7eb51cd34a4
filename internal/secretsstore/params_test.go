package secretsstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/secretsstore/types"
)

func TestParseObjects(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []types.KeyVaultObject
		wantErr string
	}{
		{"seed form", "array:\n  - |\n    objectName: db-password\n    objectType: secret\n",
			[]types.KeyVaultObject{{ObjectName: "db-password", ObjectType: "secret"}}, ""},
		{"every field, trimmed", "array:\n  - |\n    objectName: ' cert1 '\n    objectAlias: tls/cert.pem\n    objectVersion: \"\"\n    objectVersionHistory: 3\n    objectType: secret\n    objectFormat: pfx\n    objectEncoding: base64\n    filePermission: \"0600\"\n",
			[]types.KeyVaultObject{{ObjectName: "cert1", ObjectAlias: "tls/cert.pem", ObjectVersionHistory: 3, ObjectType: "secret", ObjectFormat: "pfx", ObjectEncoding: "base64", FilePermission: "0600"}}, ""},
		{"empty", "  ", nil, "objects is not set"},
		{"empty array mounts nothing", "array: []", []types.KeyVaultObject{}, ""},
		{"not a map", "- a\n- b", nil, "failed to yaml unmarshal objects, error: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into types.StringArray"},
		{"element not a map", "array:\n  - just-a-name\n", []types.KeyVaultObject{},
			"unmarshal failed for keyVaultObjects at index 0, error: yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `just-a-...` into types.KeyVaultObject"},
		{"pfx for a key", "array:\n  - |\n    objectName: k\n    objectType: key\n    objectFormat: pfx\n", []types.KeyVaultObject{},
			"failed to get objectType:key, objectName:k, objectVersion:: PFX format only supported for objectType: secret"},
		{"bad format", "array:\n  - |\n    objectName: k\n    objectType: secret\n    objectFormat: der\n", []types.KeyVaultObject{},
			"failed to get objectType:secret, objectName:k, objectVersion:: invalid objectFormat: der, should be PEM or PFX"},
		{"encoding on a cert", "array:\n  - |\n    objectName: c\n    objectType: cert\n    objectEncoding: hex\n", []types.KeyVaultObject{},
			"failed to get objectType:cert, objectName:c, objectVersion:: objectEncoding only supported for objectType: secret"},
		{"bad encoding", "array:\n  - |\n    objectName: s\n    objectType: secret\n    objectEncoding: utf16\n", []types.KeyVaultObject{},
			"failed to get objectType:secret, objectName:s, objectVersion:: invalid objectEncoding: utf16, should be hex, base64 or utf-8"},
		{"alias escapes", "array:\n  - |\n    objectName: s\n    objectType: secret\n    objectAlias: ../../etc/passwd\n", []types.KeyVaultObject{},
			"failed to get objectType:secret, objectName:s, objectVersion:: file name must not contain '..'"},
		{"absolute alias", "array:\n  - |\n    objectName: s\n    objectType: secret\n    objectAlias: /etc/passwd\n", []types.KeyVaultObject{},
			"failed to get objectType:secret, objectName:s, objectVersion:: file name must be a relative path"},
		{"no name", "array:\n  - |\n    objectType: secret\n", []types.KeyVaultObject{},
			"failed to get objectType:secret, objectName:, objectVersion:: file name must not be empty"},
		{"bad permission", "array:\n  - |\n    objectName: s\n    objectType: secret\n    filePermission: \"0999\"\n", []types.KeyVaultObject{},
			"failed to get objectType:secret, objectName:s, objectVersion:: file permission must be a valid octal number: strconv.ParseInt: parsing \"0999\": invalid syntax"},
		{"invalid type passes parsing (fails at fetch)", "array:\n  - |\n    objectName: s\n    objectType: secrets\n",
			[]types.KeyVaultObject{{ObjectName: "s", ObjectType: "secrets"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseObjects(tt.in)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseParameters(t *testing.T) {
	objs := "array:\n  - |\n    objectName: s\n    objectType: secret\n"
	tests := []struct {
		name     string
		params   map[string]string
		npSecret bool
		mode     IdentityMode
		wantErr  string
	}{
		{"workload identity", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "clientID": "c", "objects": objs}, false, ModeWorkloadIdentity, ""},
		{"tenantID preferred", map[string]string{"keyvaultName": "myKV", "tenantID": "t", "tenantId": "", "clientID": "c", "objects": objs}, false, ModeWorkloadIdentity, ""},
		{"vm managed identity", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "useVMManagedIdentity": "true", "userAssignedIdentityID": "u", "objects": objs}, false, ModeVMManagedID, ""},
		{"pod identity", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "usePodIdentity": "True", "objects": objs}, false, ModePodIdentity, ""},
		{"service principal", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "objects": objs}, true, ModeServicePrincipal, ""},
		{"no identity", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "objects": objs}, false, "", "failed to create auth config, error: no identity mode is enabled"},
		{"two modes", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "usePodIdentity": "true", "useVMManagedIdentity": "true", "objects": objs}, false, "",
			"failed to create auth config, error: only one identity mode can be enabled at a time: usePodIdentity, useVMManagedIdentity"},
		{"bad bool", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "usePodIdentity": "yes"}, false, "",
			"failed to parse usePodIdentity flag, error: strconv.ParseBool: parsing \"yes\": invalid syntax"},
		{"no vault", map[string]string{"tenantId": "t", "clientID": "c", "objects": objs}, false, "", "keyvaultName is not set"},
		{"no tenant", map[string]string{"keyvaultName": "myKV", "clientID": "c", "objects": objs}, false, "", "tenantId is not set"},
		{"no objects", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "clientID": "c"}, false, ModeWorkloadIdentity, "objects is not set"},
		{"bad cloud", map[string]string{"keyvaultName": "myKV", "tenantId": "t", "clientID": "c", "cloudName": "Mars", "objects": objs}, false, "",
			"cloudName Mars is not valid, error: autorest/azure: There is no cloud environment matching the name \"MARS\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseParameters(tt.params, tt.npSecret)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if p.Mode != tt.mode {
				t.Errorf("mode = %q, want %q", p.Mode, tt.mode)
			}
		})
	}
}

func TestVaultURL(t *testing.T) {
	tests := []struct{ name, cloud, want, wantErr string }{
		{"myKV", "", "https://myKV.vault.azure.net/", ""},
		{"gov-kv", "AzureUSGovernmentCloud", "https://gov-kv.vault.usgovcloudapi.net/", ""},
		{"kv", "", "", `failed to get vault: Invalid vault name: "kv", must be between 3 and 24 chars`},
		{"my_kv", "", "", `failed to get vault: Invalid vault name: "my_kv", must match [-a-zA-Z0-9]{3,24}`},
	}
	for _, tt := range tests {
		p := &Parameters{KeyVaultName: tt.name, CloudName: tt.cloud}
		got, err := p.VaultURL()
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.wantErr {
			t.Errorf("VaultURL(%q) = %q, %q; want %q, %q", tt.name, got, gotErr, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseObjects(f *testing.F) {
	for _, s := range []string{
		"array:\n  - |\n    objectName: db-password\n    objectType: secret\n",
		"array: []", "- a", "array:\n  - x\n", "array:\n  - |\n    objectAlias: ../x\n",
		"array:\n  - |\n    objectName: s\n    filePermission: \"0600\"\n    objectVersionHistory: 2\n",
		"&a [*a, *a]", "array: !!binary aGVsbG8=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		objs, err := ParseObjects(s)
		if err != nil {
			return
		}
		for _, o := range objs {
			if err := Validate(o); err != nil {
				t.Fatalf("ParseObjects returned an object that does not validate: %v", err)
			}
			if n := FileName(o); n == "" || n[0] == '/' {
				t.Fatalf("file name %q escapes the mount", n)
			}
		}
	})
}
