package rbac

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeQueryMatchesEncodingJSON(t *testing.T) {
	for _, line := range []string{
		`{"user":"jane","groups":["a","b"],"verb":"get","resource":"pods","namespace":"ns"}`,
		`{"entra":"carol@contoso.com","verb":"list","resource":"pods"}`,
		`{"user":"x","verb":"get","group":"apps","resource":"deployments","subresource":"scale","name":"web"}`,
		`{"user":"x","verb":"get","group":"","resource":"pods"}`,
		`{"user":"x","verb":"get","group":null,"apiGroup":"apps","resource":"pods"}`,
		`{"user":"x","groups":[],"verb":"get","nonResourceURL":"/healthz"}`,
		`{"user":"x","groups":null,"verb":"get","nonResourceURL":"/healthz"}`,
		` { "user" : "x" , "verb" : "get" } `,
		`{"User":"case","verb":"get"}`,
		`{"user":"esc\"aped","verb":"g\u0065t"}`,
		`{"user":"ünï","verb":"get"}`,
		`{"user":"x","extra":{"oid":["1"]},"verb":"get"}`,
		`{"user":"x","verb":"get","unknown":5}`,
		`{"user":"dup","user":"last","verb":"get"}`,
		`{}`,
	} {
		var want, got Query
		werr := json.Unmarshal([]byte(line), &want)
		gerr := decodeQuery([]byte(line), &got)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%s: error %v, encoding/json %v", line, gerr, werr)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-encoding/json +decodeQuery):\n%s", line, diff)
		}
	}
	for _, bad := range []string{`{"user":"x"`, `not json`, `{"user":1}`, `{"user":"x"} trailing`} {
		var q Query
		if err := decodeQuery([]byte(bad), &q); err == nil {
			t.Errorf("%s: decoded, want an error", bad)
		}
	}
}

func TestAppendAnswerMatchesEncodingJSON(t *testing.T) {
	for _, ans := range []Answer{
		{},
		{Allowed: true, Reason: `RBAC: allowed by ClusterRoleBinding "x" of ClusterRole "y" to Group "z"`,
			DecidedBy: &DecidedBy{Authorizer: "RBAC", Binding: "ClusterRoleBinding/x", Subject: "Group z", Role: "ClusterRole/y", Rule: 2, Origin: OriginSnapshot, Location: "a.yaml:3"}},
		{Allowed: true, DecidedBy: &DecidedBy{Authorizer: AuthorizerSuperuser, Subject: "Group system:masters"}},
		{Denied: true, Reason: "nope", DecidedBy: &DecidedBy{Authorizer: AuthorizerAzureRBAC, DataAction: "a/b/read"}},
		{Error: "line 3: invalid character 'o' in literal null (expecting 'u')"},
		{Reason: "rbac: RBAC: a\nwebhook: <b> & é"},
	} {
		want, err := marshalNoHTML(&ans)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(appendAnswer(nil, &ans))); diff != "" {
			t.Errorf("(-encoding/json +appendAnswer):\n%s", diff)
		}
	}
}
