package tlsca

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
)

// TestIssue: the CA is reloaded unchanged from its directory, the key file
// is private, and a serving certificate verifies against ca.pem for the
// names it was issued for (a wildcard covers one label) and no others.
func TestIssue(t *testing.T) {
	dir := t.TempDir()
	ca, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ca.Cert.Raw, again.Cert.Raw) {
		t.Error("reloading created a new CA")
	}
	if st, _ := os.Stat(filepath.Join(dir, KeyFile)); st.Mode().Perm() != 0o600 {
		t.Errorf("CA key mode %v, want 0600", st.Mode().Perm())
	}
	cert, err := again.Issue([]string{"localhost", "127.0.0.1", "*.vault.localhost"})
	if err != nil {
		t.Fatal(err)
	}
	pem, _ := os.ReadFile(filepath.Join(dir, CertFile))
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	for name, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "mykv.vault.localhost": true,
		"a.b.vault.localhost": false, "vault.localhost": false, "example.com": false} {
		_, err := cert.Leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: pool})
		if (err == nil) != want {
			t.Errorf("verify %s: err %v, want valid=%v", name, err, want)
		}
	}
}
