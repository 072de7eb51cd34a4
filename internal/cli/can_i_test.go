package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func runAkssec(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

const contosoDir = "../../examples/contoso-bank"

func TestCanIContoso(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderrIn string
	}{
		{"viewer lists pods in all namespaces", []string{"can-i", "list", "pods", "-A", "--entra", "carol@contoso.com"}, 0, "yes\n", ""},
		{"viewer may not delete", []string{"can-i", "delete", "pods", "--entra", "carol@contoso.com"}, 1, "no\n", ""},
		{"quiet", []string{"can-i", "delete", "pods", "-q", "--entra", "carol@contoso.com"}, 1, "", ""},
		{"display-name binding: erin forbidden", []string{"can-i", "list", "pods", "-n", "trading", "--entra", "erin@contoso.com"}, 1, "no\n", ""},
		{"impersonate the group by object ID", []string{"can-i", "list", "pods", "-n", "trading", "--as", "x", "--as-group", "2b222222-0000-4000-8000-000000000002"}, 0, "yes\n", ""},
		{"subresource with slash", []string{"can-i", "get", "pods/log", "p", "-n", "team-alpha", "--entra", "bob@contoso.com"}, 0, "yes\n", ""},
		{"subresource flag", []string{"can-i", "create", "pods", "--subresource", "exec", "-n", "team-alpha", "--entra", "bob@contoso.com"}, 1, "no\n", ""},
		{"short name", []string{"can-i", "create", "deploy", "-n", "team-alpha", "--entra", "bob@contoso.com"}, 0, "yes\n", ""},
		{"cluster-scoped warning", []string{"can-i", "get", "nodes", "--entra", "alice@contoso.com"}, 0, "yes\n", "Warning: resource 'nodes' is not namespace scoped"},
		{"unknown resource warning", []string{"can-i", "get", "foos", "--as", "jane"}, 1, "no\n", "Warning: the server doesn't have a resource type 'foos'"},
		{"non-resource URL", []string{"can-i", "get", "/healthz", "--as", "jane"}, 0, "yes\n", ""},
		{"no caller", []string{"can-i", "get", "pods"}, 2, "", "--as"},
		{"both callers", []string{"can-i", "get", "pods", "--as", "x", "--entra", "carol@contoso.com"}, 2, "", "not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runAkssec(t, "", append([]string{"-e", contosoDir}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if diff := cmp.Diff(tc.stdout, out); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if !strings.Contains(errs, tc.stderrIn) {
				t.Errorf("stderr %q does not contain %q", errs, tc.stderrIn)
			}
		})
	}
}

func TestCanIBatch(t *testing.T) {
	in := `{"entra":"carol@contoso.com","verb":"list","resource":"pods"}
{"user":"jane","groups":["2b222222-0000-4000-8000-000000000003"],"verb":"create","resource":"pods","namespace":"team-alpha"}
{"user":"jane","verb":"create","resource":"pods","namespace":"team-alpha"}

{"user":"jane","verb":"get","nonResourceURL":"/healthz"}
not json
{"user":"x","groups":["system:masters"],"verb":"delete","resource":"nodes"}
`
	code, out, errs := runAkssec(t, in, "-e", contosoDir, "can-i", "-f", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got []string
	for _, l := range lines {
		switch {
		case strings.Contains(l, `"error"`):
			got = append(got, "error")
		case strings.HasPrefix(l, `{"allowed":true`):
			got = append(got, "yes")
		default:
			got = append(got, "no")
		}
	}
	// jane without groups has no system:authenticated in a SubjectAccessReview, so /healthz is not allowed.
	want := []string{"yes", "yes", "no", "no", "error", "yes"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("answers (-want +got):\n%s\n%s", diff, out)
	}
}

func TestExplainForbiddenErin(t *testing.T) {
	code, out, errs := runAkssec(t, "", "-e", contosoDir, "explain", "forbidden", "--entra", "erin@contoso.com", "list", "pods", "-n", "trading")
	if code != 1 {
		t.Errorf("exit %d, want 1 (stderr %q)", code, errs)
	}
	for _, want := range []string{"group-named-by-display-name", "RoleBinding/trading/trading-analysts-read", "name: 2b222222-0000-4000-8000-000000000004", "trading-analysts"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
