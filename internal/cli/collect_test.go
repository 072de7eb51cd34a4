package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCollectAndServeUsage: bad flags are exit 2 with a message that says
// what to do, before anything connects or listens.
func TestCollectAndServeUsage(t *testing.T) {
	existing := t.TempDir()
	if err := os.MkdirAll(filepath.Join(existing, "kubernetes"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A kubeconfig for a server nobody listens on: usage errors must come
	// first, and an existing snapshot must be refused before connecting.
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'https://127.0.0.1:1'}\nusers:\n- name: u\n  user: {token: t}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"collect without -o", []string{"collect", "--kubeconfig", kc}, "collect needs -o DIR"},
		{"collect with a bad chunk size", []string{"collect", "-o", t.TempDir(), "--chunk-size", "0", "--kubeconfig", kc}, "--chunk-size must be positive"},
		{"collect with contradicting azure flags", []string{"collect", "-o", t.TempDir(), "--no-azure", "--azure-from", t.TempDir()}, "contradict"},
		{"collect with half a cluster name", []string{"collect", "-o", t.TempDir(), "-g", "rg"}, "give both --resource-group and --name"},
		{"collect from a missing azure dir", []string{"collect", "-o", t.TempDir(), "--azure-from", "/nonexistent/azure"}, "not a directory"},
		{"collect over a snapshot", []string{"collect", "-o", existing, "--kubeconfig", kc}, "--overwrite"},
		{"serve without certificates", []string{"serve"}, "--tls-cert-file and --tls-private-key-file"},
		{"serve with an unknown chain", []string{"serve", "--tls-cert-file", "c", "--tls-private-key-file", "k", "--chain", "rbac"}, `--chain "rbac"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(context.Background(), tt.args, Streams{In: strings.NewReader(""), Out: &out, Err: &errOut})
			if code != ExitUsage {
				t.Errorf("exit code %d, want %d (stderr %q)", code, ExitUsage, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tt.want)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q, want nothing", out.String())
			}
		})
	}
}
