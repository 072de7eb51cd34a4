package rbac

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/entra"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/generate"
	"github.com/akssec/akssec/internal/snapshot"
)

// largeEnv loads the large generated snapshot: $AKSSEC_LARGE when set
// (a directory written by akssec generate --scale large --seed 1), else a
// fresh one in a temporary directory.
var largeEnv = sync.OnceValues(func() (*env.Environment, error) {
	dir := os.Getenv("AKSSEC_LARGE")
	if dir == "" {
		var err error
		dir, err = os.MkdirTemp("", "akssec-rbac-large-")
		if err != nil {
			return nil, err
		}
		if _, err := generate.Write(context.Background(), dir, generate.Scales["large"], 1); err != nil {
			return nil, err
		}
	}
	s, err := snapshot.Load(context.Background(), dir, snapshot.Options{})
	if err != nil {
		return nil, err
	}
	return env.New(s), nil
})

func large(b *testing.B) (*Authorizer, *env.Environment) {
	b.Helper()
	e, err := largeEnv()
	if err != nil {
		b.Fatal(err)
	}
	return New(e), e
}

// groupedUsers returns up to n users of the directory that are in groups.
func groupedUsers(e *env.Environment, n int) []authn.UserInfo {
	var out []authn.UserInfo
	for _, p := range e.Directory.Principals() {
		if p.Kind != entra.KindUser || len(e.Directory.DirectGroups(p.ID)) == 0 {
			continue
		}
		out = append(out, authn.Map(e.Directory, p).User)
		if len(out) == n {
			break
		}
	}
	return out
}

func BenchmarkAuthorizeLarge(b *testing.B) {
	a, e := large(b)
	users := groupedUsers(e, 64)
	nss := e.NamespaceNames()
	if len(users) == 0 || len(nss) == 0 {
		b.Skip("large snapshot has no grouped users or namespaces")
	}
	reqs := make([]Attributes, 0, 1024)
	for i := 0; i < 1024; i++ {
		verb := []string{"get", "list", "create", "delete"}[i%4]
		res := []string{"pods", "secrets", "deployments", "configmaps"}[i%4]
		group := ""
		if res == "deployments" {
			group = "apps"
		}
		reqs = append(reqs, Attributes{User: users[i%len(users)], Verb: verb, APIGroup: group, Resource: res, Namespace: nss[i%len(nss)], ResourceRequest: true})
	}
	allowed := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if a.Authorize(&reqs[i%len(reqs)]).Allowed {
			allowed++
		}
	}
	b.ReportMetric(float64(allowed)/float64(b.N), "allowed/op")
}

func BenchmarkAuthorizeDeniedLarge(b *testing.B) {
	a, e := large(b)
	users := groupedUsers(e, 1)
	if len(users) == 0 {
		b.Skip("no grouped users")
	}
	attrs := Attributes{User: users[0], Verb: "escalate", APIGroup: "rbac.authorization.k8s.io", Resource: "clusterroles", Namespace: e.NamespaceNames()[0], ResourceRequest: true}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if a.Authorize(&attrs).Allowed {
			b.Fatal("allowed")
		}
	}
}

func BenchmarkWhoCanLarge(b *testing.B) {
	a, e := large(b)
	nss := e.NamespaceNames()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.WhoCan(&Attributes{Verb: "create", Resource: "pods", Namespace: nss[i%len(nss)], ResourceRequest: true})
	}
}

func BenchmarkGrantsLarge(b *testing.B) {
	a, _ := large(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a.Grants("create", "", "pods", "")
	}
}

func BenchmarkBatchLarge(b *testing.B) {
	a, e := large(b)
	users := groupedUsers(e, 64)
	nss := e.NamespaceNames()
	var buf bytes.Buffer
	const n = 10000
	for i := 0; i < n; i++ {
		q := Query{User: users[i%len(users)].Name, Groups: users[i%len(users)].Groups, Verb: []string{"get", "list", "create"}[i%3], Resource: "pods", Namespace: nss[i%len(nss)]}
		if i%5 == 0 {
			q.Resource = "deployments.apps"
		}
		line, _ := json.Marshal(q)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	in := buf.Bytes()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := a.NewBatch().Run(context.Background(), bytes.NewReader(in), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
	// CPU time, for a machine shared with other work: decisions per second
	// of one core.
	b.ReportMetric(float64(n)*float64(b.N)/(cpuSeconds()-cpu0), "decisions/cpu-s")
}

func BenchmarkNewLarge(b *testing.B) {
	_, e := large(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		New(e)
	}
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func ExampleAuthorizer_Authorize() {
	a := New(world(
		clusterRole("pod-reader", nil, rule(s("get", "list"), s(""), s("pods"))),
		rb("team-a", "readers", "ClusterRole", "pod-reader", group("devs")),
	))
	u := authn.Impersonate("jane", []string{"devs"})
	for _, ns := range []string{"team-a", "team-b"} {
		d := a.Authorize(&Attributes{User: u, Verb: "list", Resource: "pods", Namespace: ns, ResourceRequest: true})
		fmt.Printf("%s: %v %q\n", ns, d.Allowed, d.Reason)
	}
	// Output:
	// team-a: true "RBAC: allowed by RoleBinding \"readers/team-a\" of ClusterRole \"pod-reader\" to Group \"devs\""
	// team-b: false ""
}

func TestBatchRunOrder(t *testing.T) {
	a := New(world(
		clusterRole("pod-reader", nil, rule(s("get"), s(""), s("pods"))),
		rb("a", "r", "ClusterRole", "pod-reader", group("readers")),
	), WithoutBootstrap())
	var in bytes.Buffer
	var want []Answer
	seq := a.NewBatch()
	for i := 0; i < 5000; i++ {
		q := Query{User: fmt.Sprintf("u%d", i), Verb: "get", Resource: "pods", Namespace: "a"}
		if i%3 == 0 {
			q.Groups = s("readers")
		}
		if i%1000 == 7 {
			in.WriteString("not json\n")
			want = append(want, Answer{Error: "x"})
		}
		line, _ := json.Marshal(q)
		in.Write(line)
		in.WriteByte('\n')
		want = append(want, seq.Answer(&q))
	}
	var out bytes.Buffer
	if err := a.NewBatch().Run(context.Background(), &in, &out); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&out)
	for i, w := range want {
		var got Answer
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if (got.Error != "") != (w.Error != "") || got.Allowed != w.Allowed || got.Reason != w.Reason {
			t.Fatalf("answer %d = %+v, want %+v", i, got, w)
		}
	}
	if dec.More() {
		t.Error("more answers than queries")
	}
}

func BenchmarkCheckLarge(b *testing.B) {
	a, _ := large(b)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		n = len(a.Check(context.Background()))
	}
	b.ReportMetric(float64(n), "findings")
}
