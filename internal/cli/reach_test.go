package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReachContoso(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"Lab 3: frontend to backend", []string{"reach", "production/deployment/frontend", "production/deployment/backend:8080"}, 0,
			[]string{"ALLOWED", "allow-frontend-to-backend", "plugin: azure-npm-linux"}},
		{"Lab 3: other pod to backend", []string{"reach", "production/deployment/payments-api", "production/service/backend:80"}, 1,
			[]string{"DENIED", "default-deny-ingress", "targetPort api"}},
		{"Lab 3: frontend unreachable", []string{"reach", "production/deployment/backend", "production/deployment/frontend:8080/TCP"}, 1,
			[]string{"DENIED", "default-deny-ingress"}},
		{"kubelet from the own node", []string{"reach", "node", "production/deployment/frontend:8080"}, 0,
			[]string{"ALLOWED", "own node"}},
		{"unknown pod", []string{"reach", "production/nope", "production/deployment/frontend:8080"}, 2, nil},
		{"bad protocol", []string{"reach", "production/deployment/backend", "production/deployment/frontend:8080/ICMP"}, 2, nil},
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
		})
	}
}

func TestReachBatch(t *testing.T) {
	in := `{"from":"production/deployment/frontend","to":"production/deployment/backend","port":8080}
{"from":"production/deployment/payments-api","to":"production/deployment/backend","port":"8080","protocol":"TCP"}
`
	code, out, errOut := runAkssec(t, in, "-e", contosoDir, "reach", "-f", "-")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one denied)\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d:\n%s", len(lines), out)
	}
	type dir struct {
		Allowed  bool `json:"allowed"`
		Policies []struct {
			Name string `json:"name"`
		} `json:"policies"`
	}
	var got []struct {
		Allowed bool   `json:"allowed"`
		Egress  dir    `json:"egress"`
		Ingress dir    `json:"ingress"`
		Plugin  string `json:"plugin"`
	}
	for _, l := range lines {
		var v struct {
			Allowed bool   `json:"allowed"`
			Egress  dir    `json:"egress"`
			Ingress dir    `json:"ingress"`
			Plugin  string `json:"plugin"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if diff := cmp.Diff([]bool{true, false}, []bool{got[0].Allowed, got[1].Allowed}); diff != "" {
		t.Errorf("allowed (-want +got):\n%s", diff)
	}
	if got[0].Plugin != "azure-npm-linux" || !got[0].Egress.Allowed || got[0].Ingress.Policies[0].Name != "allow-frontend-to-backend" {
		t.Errorf("first answer: %+v", got[0])
	}
}

func TestNetpolMatrixAndExplain(t *testing.T) {
	code, out, errOut := runAkssec(t, "", "-e", contosoDir, "netpol", "matrix", "-n", "production", "-o", "csv")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "production/deployment/frontend,production/deployment/backend,TCP 8080") {
		t.Errorf("csv lacks frontend → backend TCP 8080:\n%s", out)
	}
	if !strings.Contains(out, "production/deployment/backend,production/deployment/frontend,None") {
		t.Errorf("csv lacks backend → frontend None:\n%s", out)
	}
	code, out, _ = runAkssec(t, "", "-e", contosoDir, "explain", "unreachable", "production/deployment/payments-api", "production/deployment/backend:8080")
	if code != 0 {
		t.Fatalf("explain exit %d", code)
	}
	for _, c := range []string{"unreachable", "default-deny-ingress", "name: allow-payments-api-to-backend", "app: payments-api"} {
		if !strings.Contains(out, c) {
			t.Errorf("explain lacks %q:\n%s", c, out)
		}
	}
}
