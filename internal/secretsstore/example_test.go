package secretsstore

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
)

var (
	bankOnce sync.Once
	bankEnv  *env.Environment
	bankErr  error
)

// bank loads the bundled example, the seed's Lab 2 and scenario 2.
func bank(t testing.TB) *env.Environment {
	t.Helper()
	bankOnce.Do(func() {
		s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
		if err != nil {
			bankErr = err
			return
		}
		bankEnv = env.New(s)
	})
	if bankErr != nil {
		t.Fatalf("loading the example: %v", bankErr)
	}
	return bankEnv
}

func podNamed(t testing.TB, e *env.Environment, ns, name string) *env.Pod {
	t.Helper()
	for _, p := range e.PodsIn(ns) {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no pod %s/%s in the example", ns, name)
	return nil
}

type stepSummary struct {
	Name   string
	Status Status
}

func summarize(v Volume) []stepSummary {
	var out []stepSummary
	for _, s := range v.Steps {
		out = append(out, stepSummary{s.Name, s.Status})
	}
	return out
}

func TestExampleLab2Succeeds(t *testing.T) {
	e := bank(t)
	m := New(e).Resolve(podNamed(t, e, "default", "myapp"))
	if m.Status != StatusOK || len(m.Volumes) != 1 {
		t.Fatalf("status %s, %d volumes; want ok, 1", m.Status, len(m.Volumes))
	}
	want := []stepSummary{{"pod", StatusOK}, {"service account", StatusOK}, {"secret provider class", StatusOK}, {"identity", StatusOK},
		{"federated credential", StatusOK}, {"token exchange", StatusOK}, {"vault", StatusOK}, {"object db-password", StatusOK}}
	if diff := cmp.Diff(want, summarize(m.Volumes[0])); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]File{{Container: "myapp", Path: "/mnt/secrets-store/db-password", Mode: "0644", Object: "db-password", Type: "secret"}}, m.Volumes[0].Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestExampleScenario2 reproduces each planted cause of the seed's
// debugging scenario 2 with the real system's error.
func TestExampleScenario2(t *testing.T) {
	e := bank(t)
	r := New(e)
	tests := []struct {
		ns, pod    string
		failedStep string
		errHas     []string
		fixHas     string
	}{
		{"trading", "trading-engine", "federated credential",
			[]string{"AADSTS700211: No matching federated identity record found for presented assertion issuer 'https://eastus.oic.prod-aks.azure.com/5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/'"},
			"--issuer \"https://eastus.oic.prod-aks.azure.com/5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/\""},
		{"compliance", "legacy-reporter", "identity",
			[]string{"AADSTS700016: Application with identifier 'c1000000-0000-4000-8000-0000000000ff' was not found in the directory '5f1c3b2a-8d4e-4f6a-9b7c-1e2d3c4b5a60'"},
			"parameters.clientID"},
		{"compliance", "reports-generator", "object reports-db-connection",
			[]string{"RESPONSE 403: 403 Forbidden", "does not have secrets get permission on key vault 'complianceKV;location=eastus'", `"code": "AccessDenied"`},
			"az keyvault set-policy --name complianceKV --object-id d1000000-0000-4000-8000-000000000003 --secret-permissions get"},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.pod, func(t *testing.T) {
			m := r.Resolve(podNamed(t, e, tt.ns, tt.pod))
			if m.Status != StatusFailed {
				t.Fatalf("status %s, want failed", m.Status)
			}
			v := m.Volumes[0]
			var failed *Step
			for i := range v.Steps {
				if v.Steps[i].Status == StatusFailed {
					failed = &v.Steps[i]
					break
				}
			}
			if failed == nil || failed.Name != tt.failedStep {
				t.Fatalf("first failed step %+v, want %q", failed, tt.failedStep)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(failed.Error, s) || !strings.Contains(v.Event, s) {
					t.Errorf("error or event lacks %q:\nerror: %s\nevent: %s", s, failed.Error, v.Event)
				}
			}
			if !strings.HasPrefix(v.Event, `MountVolume.SetUp failed for volume "secrets-store" : rpc error: code = Unknown desc = failed to mount secrets store objects for pod `+tt.ns+"/") {
				t.Errorf("event %q is not kubelet's FailedMount message", v.Event)
			}
			if !strings.Contains(failed.Fix, tt.fixHas) {
				t.Errorf("fix %q lacks %q", failed.Fix, tt.fixHas)
			}
			if len(v.Files) != 0 {
				t.Errorf("a failed mount lists files %v", v.Files)
			}
		})
	}
}

func TestExampleExplainMount(t *testing.T) {
	e := bank(t)
	r := New(e)
	tests := []struct {
		ns, pod string
		cause   string
		status  []Status
	}{
		{"default", "myapp", "", []Status{StatusOK, StatusOK, StatusOK, StatusOK, StatusOK, StatusOK}},
		{"trading", "trading-engine", "step 4: Check the federated credential against the cluster's OIDC issuer and the ServiceAccount's subject",
			[]Status{StatusFailed, StatusOK, StatusOK, StatusFailed, StatusSkipped, StatusSkipped}},
		{"compliance", "legacy-reporter", "step 3: Check the identity: the ServiceAccount, its annotations, the clientID's managed identity",
			[]Status{StatusFailed, StatusOK, StatusFailed, StatusSkipped, StatusSkipped, StatusSkipped}},
		{"compliance", "reports-generator", "step 6: Check each object: permission on it and that it exists in the vault",
			[]Status{StatusFailed, StatusOK, StatusOK, StatusOK, StatusOK, StatusFailed}},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.pod, func(t *testing.T) {
			ex := r.Explain(r.Resolve(podNamed(t, e, tt.ns, tt.pod)))
			if len(ex) != 1 {
				t.Fatalf("%d explanations, want 1", len(ex))
			}
			var got []Status
			for _, s := range ex[0].Steps {
				got = append(got, s.Status)
			}
			if diff := cmp.Diff(tt.status, got); diff != "" {
				t.Errorf("step statuses (-want +got):\n%s", diff)
			}
			if ex[0].Cause != tt.cause {
				t.Errorf("cause %q, want %q", ex[0].Cause, tt.cause)
			}
		})
	}
}

// TestResolverConcurrent shares one Resolver between goroutines (run with
// -race): the prepared form is read-only.
func TestResolverConcurrent(t *testing.T) {
	e := bank(t)
	r := New(e)
	want := map[string]Status{}
	for _, p := range e.Pods {
		want[p.Ref()] = r.Resolve(p).Status
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, p := range e.Pods {
				if got := r.Resolve(p).Status; got != want[p.Ref()] {
					t.Errorf("%s: %s, want %s", p.Ref(), got, want[p.Ref()])
				}
			}
			r.AllReaders()
		}()
	}
	wg.Wait()
}
