package keyvault

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/emulator/token"
)

const (
	testTenant = "11111111-1111-4111-8111-111111111111"
	resource   = "https://vault.test"
	authority  = "https://login.test"
	allowedOID = "aaaaaaaa-0000-4000-8000-000000000001"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func issuer(tenant string) string { return "https://sts.windows.net/" + tenant + "/" }

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	srv  *httptest.Server
	keys *token.KeySet
	logs *lockedBuffer
	st   *Store
}

// newFixture serves one vault "kv1" (soft delete 7 days) whose authorizer
// allows allowedOID everything and denies everyone else.
func newFixture(t *testing.T, dbPath string) *fixture {
	t.Helper()
	keys, err := token.NewKeySet()
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureWithKeys(t, dbPath, keys)
}

func newFixtureWithKeys(t *testing.T, dbPath string, keys *token.KeySet) *fixture {
	t.Helper()
	st, err := OpenStore(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	s, err := New(Config{
		Vaults: []Vault{{Name: "kv1", TenantID: testTenant, Location: "eastus", SoftDeleteDays: 7}},
		Store:  st, DNSSuffix: "vault.test", Resource: resource, Authority: authority,
		Keys: keys.JWKS, Issuer: issuer, Now: func() time.Time { return now },
		Authorizer: AuthorizerFunc(func(vault string, c Caller, a Action, update bool, secret string) Decision {
			if c.ObjectID == allowedOID {
				return Decision{Allowed: true}
			}
			return Decision{Code: "Forbidden", InnerCode: "AccessDenied", Message: "denied " + string(a)}
		}),
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); st.Close() })
	return &fixture{srv: srv, keys: keys, logs: logs, st: st}
}

func claims(tweak func(map[string]any)) map[string]any {
	c := map[string]any{"aud": resource, "iss": issuer(testTenant), "tid": testTenant, "oid": allowedOID,
		"appid": "app", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(), "ver": "1.0"}
	if tweak != nil {
		tweak(c)
	}
	return c
}

func (f *fixture) sign(t *testing.T, c map[string]any) string {
	t.Helper()
	s, err := f.keys.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type result struct {
	Status    int
	Challenge string
	Code      string
	Inner     string
	Value     string
}

func (f *fixture) do(t *testing.T, method, host, path, bearer string, body any) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Value string `json:"value"`
		Error struct {
			Code       string `json:"code"`
			InnerError struct {
				Code string `json:"code"`
			} `json:"innererror"`
		} `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return result{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), out.Error.Code, out.Error.InnerError.Code, out.Value}
}

const challenge = `Bearer authorization="https://login.test/` + testTenant + `", resource="https://vault.test"`

// TestTokenRejected: every token Key Vault must refuse gets 401 with the
// challenge; only a valid token reaches the vault.
func TestTokenRejected(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "kv.db"))
	other, _ := token.NewKeySet()
	otherTok, _ := other.Sign(claims(nil))
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	none := enc(map[string]string{"alg": "none", "kid": f.keys.SigningKeyID()}) + "." + enc(claims(nil)) + "."
	// Our header and payload with another key's signature.
	parts := strings.Split(f.sign(t, claims(nil)), ".")
	wrongSig := parts[0] + "." + parts[1] + "." + strings.Split(otherTok, ".")[2]

	tests := []struct {
		name   string
		bearer string
		want   result
	}{
		{"no token", "", result{Status: 401, Challenge: challenge, Code: "Unauthorized"}},
		{"alg none", none, result{Status: 401, Challenge: challenge, Code: "Unauthorized"}},
		{"signature of another key", wrongSig, result{Status: 401, Challenge: challenge, Code: "Unauthorized"}},
		{"key not published", otherTok, result{Status: 401, Challenge: challenge, Code: "Unauthorized"}},
		{"expired", f.sign(t, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })), result{Status: 401, Challenge: challenge, Code: "Unauthorized"}},
		{"audience with a trailing slash", f.sign(t, claims(func(c map[string]any) { c["aud"] = resource + "/" })), result{Status: 401, Challenge: challenge, Code: "Unauthorized"}},
		{"wrong audience", f.sign(t, claims(func(c map[string]any) { c["aud"] = "https://vault.azure.net" })), result{Status: 401, Challenge: challenge, Code: "Unauthorized"}},
		{"issuer of another tenant", f.sign(t, claims(func(c map[string]any) { c["iss"] = issuer("22222222-2222-4222-8222-222222222222") })), result{Status: 401, Challenge: challenge, Code: "Unauthorized"}},
		{"valid, secret missing", f.sign(t, claims(nil)), result{Status: 404, Code: "SecretNotFound"}},
		{"valid, caller not allowed", f.sign(t, claims(func(c map[string]any) { c["oid"] = "bbbbbbbb-0000-4000-8000-000000000002" })), result{Status: 403, Code: "Forbidden", Inner: "AccessDenied"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := f.do(t, "GET", "kv1.vault.test", "/secrets/s1/?api-version=7.6", tc.bearer, nil)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestRequests covers host routing, api-version, names and soft delete on
// the raw REST surface.
func TestRequests(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "kv.db"))
	tok := f.sign(t, claims(nil))
	steps := []struct {
		method, host, path string
		body               any
		want               result
	}{
		{"GET", "nokv.vault.test", "/secrets/s1?api-version=7.6", nil, result{Status: 404, Code: "VaultNotFound"}},
		{"GET", "kv1.vault.test", "/secrets/s1", nil, result{Status: 400, Code: "BadParameter"}},
		{"GET", "kv1.vault.test", "/secrets/s1?api-version=2.0", nil, result{Status: 400, Code: "BadParameter"}},
		{"PUT", "kv1.vault.test", "/secrets/bad_name?api-version=7.6", map[string]string{"value": "x"}, result{Status: 400, Code: "BadParameter"}},
		{"PUT", "KV1.vault.test:8443", "/secrets/S1?api-version=7.6", map[string]string{"value": "one"}, result{Status: 200, Value: "one"}},
		{"GET", "kv1.vault.test", "/secrets/s1?api-version=7.6", nil, result{Status: 200, Value: "one"}},
		{"DELETE", "kv1.vault.test", "/secrets/s1?api-version=7.6", nil, result{Status: 200}},
		{"GET", "kv1.vault.test", "/secrets/s1?api-version=7.6", nil, result{Status: 404, Code: "SecretNotFound"}},
		{"PUT", "kv1.vault.test", "/secrets/s1?api-version=7.6", map[string]string{"value": "two"}, result{Status: 409, Code: "Conflict", Inner: "ObjectIsDeletedButRecoverable"}},
		{"GET", "kv1.vault.test", "/deletedsecrets/s1?api-version=7.6", nil, result{Status: 200}},
		{"DELETE", "kv1.vault.test", "/deletedsecrets/s1?api-version=7.6", nil, result{Status: 204}},
		{"GET", "kv1.vault.test", "/deletedsecrets/s1?api-version=7.6", nil, result{Status: 404, Code: "SecretNotFound"}},
		{"PUT", "kv1.vault.test", "/secrets/s1?api-version=7.6", map[string]string{"value": "three"}, result{Status: 200, Value: "three"}},
	}
	for i, s := range steps {
		got := f.do(t, s.method, s.host, s.path, tok, s.body)
		if diff := cmp.Diff(s.want, got); diff != "" {
			t.Errorf("step %d %s %s%s (-want +got):\n%s", i, s.method, s.host, s.path, diff)
		}
	}
	if out := f.logs.String(); strings.Contains(out, `"one"`) || strings.Contains(out, "three") || strings.Contains(out, tok) {
		t.Errorf("a secret value or the token is in the logs:\n%s", out)
	}
}

// TestRecoveryLevel: a vault with 7 days of soft delete and no purge
// protection reports CustomizedRecoverable+Purgeable.
func TestRecoveryLevel(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "kv.db"))
	req, _ := http.NewRequest("PUT", f.srv.URL+"/secrets/s?api-version=7.6", strings.NewReader(`{"value":"v"}`))
	req.Host = "kv1.vault.test"
	req.Header.Set("Authorization", "Bearer "+f.sign(t, claims(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b struct {
		Attributes struct {
			RecoveryLevel   string `json:"recoveryLevel"`
			RecoverableDays int    `json:"recoverableDays"`
		} `json:"attributes"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&b)
	if b.Attributes.RecoveryLevel != "CustomizedRecoverable+Purgeable" || b.Attributes.RecoverableDays != 7 {
		t.Errorf("attributes = %+v", b.Attributes)
	}
}

// TestStorePersistence: a secret set before the emulator restarts (store
// closed and reopened, same keys) is served after it.
func TestStorePersistence(t *testing.T) {
	db := filepath.Join(t.TempDir(), "kv.db")
	keys, _ := token.NewKeySet()
	f := newFixtureWithKeys(t, db, keys)
	tok := f.sign(t, claims(nil))
	if r := f.do(t, "PUT", "kv1.vault.test", "/secrets/kept?api-version=7.6", tok, map[string]string{"value": "v"}); r.Status != 200 {
		t.Fatalf("set: %+v", r)
	}
	f.srv.Close()
	f.st.Close()
	g := newFixtureWithKeys(t, db, keys)
	if r := g.do(t, "GET", "kv1.vault.test", "/secrets/kept?api-version=7.6", tok, nil); r.Status != 200 || r.Value != "v" {
		t.Errorf("after restart: %+v", r)
	}
}

// TestListLiveAndDeleted: a deleted secret leaves "list secrets" and shows
// in "list deleted secrets".
func TestListLiveAndDeleted(t *testing.T) {
	f := newFixture(t, filepath.Join(t.TempDir(), "kv.db"))
	tok := f.sign(t, claims(nil))
	f.do(t, "PUT", "kv1.vault.test", "/secrets/keep?api-version=7.6", tok, map[string]string{"value": "a"})
	f.do(t, "PUT", "kv1.vault.test", "/secrets/gone?api-version=7.6", tok, map[string]string{"value": "b"})
	f.do(t, "DELETE", "kv1.vault.test", "/secrets/gone?api-version=7.6", tok, nil)
	ids := func(path string) []string {
		req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
		req.Host = "kv1.vault.test"
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var page struct {
			Value []struct {
				ID       string `json:"id"`
				Recovery string `json:"recoveryId"`
			} `json:"value"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		var out []string
		for _, v := range page.Value {
			out = append(out, v.ID[strings.LastIndex(v.ID, "/")+1:]+" "+v.Recovery[strings.LastIndex(v.Recovery, "/")+1:])
		}
		return out
	}
	if diff := cmp.Diff([]string{"keep "}, ids("/secrets?api-version=7.6")); diff != "" {
		t.Errorf("list secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gone gone"}, ids("/deletedsecrets?api-version=7.6")); diff != "" {
		t.Errorf("list deleted secrets (-want +got):\n%s", diff)
	}
}
