package lab

import (
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// latencies collects per-request durations across parallel goroutines and
// reports req/s and p99.
type latencies struct {
	mu  sync.Mutex
	all []time.Duration
}

func (l *latencies) add(d []time.Duration) {
	l.mu.Lock()
	l.all = append(l.all, d...)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	if len(l.all) == 0 {
		return
	}
	sort.Slice(l.all, func(i, j int) bool { return l.all[i] < l.all[j] })
	p99 := l.all[(len(l.all)*99)/100]
	b.ReportMetric(float64(len(l.all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
}

func runParallel(b *testing.B, c *http.Client, newReq func() *http.Request) {
	b.Helper()
	var lat latencies
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			resp, err := c.Do(newReq())
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		lat.add(mine)
	})
	b.StopTimer()
	lat.report(b, time.Since(start))
}

// BenchmarkTokenClientSecret: client_credentials by client secret over
// loopback HTTPS (each answer signs a fresh RS256 token).
func BenchmarkTokenClientSecret(b *testing.B) {
	l := startLab(b, b.TempDir(), nil)
	c := l.HTTPClient()
	endpoint := strings.TrimSuffix(l.AuthorityHost, "/") + "/" + l.TenantID + "/oauth2/v2.0/token"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {deployerApp}, "client_secret": {l.ClientSecrets[deployerApp]},
		"scope": {l.Resource + "/.default openid offline_access profile"}, "client_info": {"1"}}.Encode()
	runParallel(b, c, func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	})
}

// BenchmarkTokenFederated: the workload identity exchange (assertion
// verified against the cluster issuer, federated credential matched by the
// workloadid engine, token signed) over loopback HTTPS.
func BenchmarkTokenFederated(b *testing.B) {
	l := startLab(b, b.TempDir(), nil)
	c := l.HTTPClient()
	sa, err := l.ServiceAccountToken("default", "myapp-sa")
	if err != nil {
		b.Fatal(err)
	}
	endpoint := strings.TrimSuffix(l.AuthorityHost, "/") + "/" + l.TenantID + "/oauth2/v2.0/token"
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {myappClient}, "client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion": {sa}, "scope": {l.Resource + "/.default openid offline_access profile"}, "client_info": {"1"}}.Encode()
	runParallel(b, c, func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	})
}

// BenchmarkSecretGet: GET db-password from myKV with a valid bearer token
// (validated, authorized by the RBAC engine, read from bbolt) over loopback
// HTTPS.
func BenchmarkSecretGet(b *testing.B) {
	l := startLab(b, b.TempDir(), nil)
	c := l.HTTPClient()
	sa, _ := l.ServiceAccountToken("default", "myapp-sa")
	at, err := workloadCredential(b, l, myappClient, sa).GetToken(b.Context(), tokenOpts([]string{l.Resource + "/.default"}))
	if err != nil {
		b.Fatal(err)
	}
	u := l.VaultURL("myKV") + "secrets/db-password?api-version=7.6"
	runParallel(b, c, func() *http.Request {
		req, _ := newRequest(l, http.MethodGet, u, at.Token)
		return req
	})
}
