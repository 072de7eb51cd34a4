package cli

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/akssec/akssec/internal/lab"
)

type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLabCommands runs lab up in the foreground until its context ends (as
// SIGINT ends it), with lab token and lab approve against it, and checks
// the printed environment and the clean shutdown.
func TestLabCommands(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb safeBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"-e", contosoDir, "lab", "up", "--dir", dir, "--addr", "127.0.0.1:0"}, Streams{In: strings.NewReader(""), Out: &out, Err: &errb})
	}()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := lab.WaitState(wctx, dir, true); err != nil {
		t.Fatalf("lab up did not start: %v\n%s", err, errb.String())
	}
	st, err := lab.ReadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	// lab.json is written before the environment is printed.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "AKSSEC_LAB_VAULT_MYKV") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		"export AZURE_AUTHORITY_HOST='" + st.AuthorityHost + "'",
		"export AZURE_TENANT_ID='5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60'",
		"export SSL_CERT_FILE='" + st.CAFile + "'",
		"export HTTPS_PROXY='http://" + st.ProxyAddr + "'",
		"export AKSSEC_LAB_VAULT_MYKV='" + st.Vaults["myKV"] + "'",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lab up output lacks %q:\n%s", want, out.String())
		}
	}

	tests := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"token", []string{"-e", contosoDir, "lab", "token", "--dir", dir, "--sa", "default/myapp-sa"}, 0, "eyJ"},
		{"token without NAMESPACE/NAME", []string{"-e", contosoDir, "lab", "token", "--dir", dir, "--sa", "myapp-sa"}, 2, ""},
		{"token without --sa", []string{"-e", contosoDir, "lab", "token", "--dir", dir}, 2, ""},
		{"approve an unknown code", []string{"lab", "approve", "NOSUCHCODE", "--user", "alice@contoso.com", "--dir", dir}, 2, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runAkssec(t, "", tc.args...)
			if code != tc.code || !strings.HasPrefix(stdout, tc.out) {
				t.Errorf("exit %d, stdout %q; want %d, prefix %q\nstderr: %s", code, stdout, tc.code, tc.out, stderr)
			}
		})
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("lab up exit %d after its context ended, want 0\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lab up did not stop")
	}
	if _, err := lab.ReadState(dir); err == nil {
		t.Error("lab.json is still there after shutdown")
	}
	if code, _, _ := runAkssec(t, "", "lab", "down", "--dir", dir); code != 2 {
		t.Errorf("lab down with no lab: exit %d, want 2", code)
	}
}
