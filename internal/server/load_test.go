package server

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkLoad500rps is the webhook load test of issue 9: pod
// AdmissionReviews (a compliant pod, a privileged one, an unapproved image,
// in turn) sent to /validate over loopback TLS at a fixed 500 requests/s,
// for AKSSEC_LOAD_SECONDS (default 60), reporting latency percentiles, the
// achieved rate and errors. Target: p99 ≤ 5 ms, zero errors.
//
//	go test -run XXX -bench Load500rps -benchtime 1x ./internal/server/
func BenchmarkLoad500rps(b *testing.B) {
	const rate = 500
	seconds := 60
	if v, err := strconv.Atoi(os.Getenv("AKSSEC_LOAD_SECONDS")); err == nil && v > 0 {
		seconds = v
	}
	addr, pool, cancel, served := serveTLS(b, newTestServer(b, Options{}), 10*time.Second)
	defer func() { cancel(); <-served }()

	url := "https://" + addr + "/validate"
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 256, ForceAttemptHTTP2: true}}
	bodies := [][]byte{
		admissionBody(b, "compliant", makePod("team-alpha", "ok")),
		admissionBody(b, "privileged", makePod("production", "root", withPrivileged)),
		admissionBody(b, "image", makePod("team-alpha", "nginx", withImage("docker.io/library/nginx:1.27"))),
	}
	send := func(body []byte) (time.Duration, bool) {
		start := time.Now()
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode == http.StatusOK
	}
	for i := 0; i < 50; i++ { // warm the connections and caches
		send(bodies[i%len(bodies)])
	}
	b.ResetTimer()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errors    int
		wg        sync.WaitGroup
	)
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	start := time.Now()
	for n := 0; n < rate*seconds; n++ {
		<-tick.C
		wg.Add(1)
		go func(body []byte) {
			defer wg.Done()
			d, ok := send(body)
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				errors++
				return
			}
			latencies = append(latencies, d)
		}(bodies[n%len(bodies)])
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	pct := func(p float64) float64 {
		if len(latencies) == 0 {
			return 0
		}
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(len(latencies)+errors)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(errors), "errors")
}
