package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMountContoso(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
		absent   []string
	}{
		{"Lab 2: myapp mounts db-password", []string{"mount", "myapp", "-n", "default"}, 0,
			[]string{"mount ok", "/mnt/secrets-store/db-password", "0644", "Key Vault Secrets User"}, []string{"FAIL"}},
		{"issuer without trailing slash", []string{"mount", "trading-engine", "-n", "trading"}, 1,
			[]string{"AADSTS700211", "trailing slash", "Warning  FailedMount", "az identity federated-credential update --name trading-fic"}, []string{"files:"}},
		{"clientID of no identity", []string{"mount", "legacy-reporter", "-n", "compliance"}, 1, []string{"AADSTS700016"}, nil},
		{"list-only access policy", []string{"mount", "deployment/reports-generator", "-n", "compliance"}, 1,
			[]string{"RESPONSE 403: 403 Forbidden", "does not have secrets get permission", "az keyvault set-policy"}, nil},
		{"no secrets-store volume", []string{"mount", "audit-exporter", "-n", "compliance"}, 0, []string{"has no secrets-store volume"}, nil},
		{"unknown pod", []string{"mount", "nope", "-n", "default"}, 2, nil, nil},
		{"explain mount", []string{"explain", "mount", "trading-engine", "-n", "trading"}, 1,
			[]string{"4. Check the federated credential", "cause: step 4"}, nil},
		{"who-can-read", []string{"who-can-read", "myKV/db-password"}, 0,
			[]string{"managed identity myapp-identity", "becomes it: ServiceAccount team-alpha/alpha-ci-sa", "pod default/myapp"}, nil},
		{"who-can-read bad argument", []string{"who-can-read", "myKV"}, 2, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runAkssec(t, "", append([]string{"-e", contosoDir}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			for _, c := range tc.contains {
				if !strings.Contains(out, c) {
					t.Errorf("stdout lacks %q:\n%s", c, out)
				}
			}
			for _, c := range tc.absent {
				if strings.Contains(out, c) {
					t.Errorf("stdout has %q:\n%s", c, out)
				}
			}
		})
	}
}

func TestMountJSON(t *testing.T) {
	code, out, errOut := runAkssec(t, "", "-e", contosoDir, "mount", "myapp", "-n", "default", "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var m struct {
		Status  string `json:"status"`
		Volumes []struct {
			Files []struct {
				Path string `json:"path"`
				Mode string `json:"mode"`
			} `json:"files"`
		} `json:"volumes"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if m.Status != "ok" || len(m.Volumes) != 1 || len(m.Volumes[0].Files) != 1 || m.Volumes[0].Files[0].Path != "/mnt/secrets-store/db-password" {
		t.Errorf("unexpected JSON: %s", out)
	}
}
