// Package e2e runs akssec against a real kube-apiserver and etcd on
// loopback: the answers akssec computes offline (can-i, admit) are compared
// with the API server's own, and akssec collect is run against it.
//
// The binaries are built by test/e2e/build.sh (.ci/e2e.sh runs it); without
// them, or under -short, every test here is skipped with the reason.
package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/akssec/akssec/test/e2e/harness"
)

// suite is the cluster and the akssec binary every test shares: starting
// kube-apiserver takes about 20 s, so it is started once.
var suite struct {
	skip    string
	cluster *harness.Cluster
	client  *kubernetes.Clientset
	akssec  string
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		suite.skip = "end-to-end tests against a real kube-apiserver do not run under -short"
		return m.Run()
	}
	bins, err := harness.FindBinaries()
	if err != nil {
		suite.skip = err.Error()
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tmp, err := os.MkdirTemp("", "akssec-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if suite.akssec, err = harness.BuildAkssec(ctx, "../..", tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	start := time.Now()
	c, err := harness.Start(ctx, bins, harness.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the cluster:", err)
		return 1
	}
	defer c.Stop()
	fmt.Fprintf(os.Stderr, "e2e: kube-apiserver %s ready at %s in %s\n", harness.KubeAPIServerVersion, c.URL, time.Since(start).Round(time.Second))
	suite.cluster = c
	if suite.client, err = c.Client(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// requireCluster skips the test when the suite has no cluster.
func requireCluster(t *testing.T) {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
}

// akssec runs the akssec binary and returns stdout, stderr and the exit
// code.
func akssec(t *testing.T, stdin []byte, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(suite.akssec, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running akssec %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return out.Bytes(), errb.Bytes(), code
}
