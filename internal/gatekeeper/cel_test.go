package gatekeeper

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// celTemplate is a template with K8sNativeValidation code (and, when rego
// is not empty, Rego code too) for the kind K8sCelCheck.
func celTemplate(cel, rego string) string {
	t := `
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8scelcheck}
spec:
  crd:
    spec:
      names: {kind: K8sCelCheck}
  targets:
  - target: admission.k8s.gatekeeper.sh
    code:
    - engine: K8sNativeValidation
      source:
` + indent(cel, "        ")
	if rego != "" {
		t += "    - engine: Rego\n      source:\n        rego: |\n" + indent(rego, "          ")
	}
	return t
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}

func celPod(name string, containers map[string]string, initContainers map[string]string) *Object {
	o := podObject(name, "team", nil)
	list := func(m map[string]string) []any {
		var l []any
		for n, img := range m {
			l = append(l, map[string]any{"name": n, "image": img})
		}
		return l
	}
	spec := map[string]any{"containers": list(containers)}
	if initContainers != nil {
		spec["initContainers"] = list(initContainers)
	}
	o.Object["spec"] = spec
	return o
}

// The semantics below are those of Gatekeeper's k8scel driver
// (pkg/drivers/k8scel) on the API server's ValidatingAdmissionPolicy
// validator (k8s.io/apiserver validating.validator.Validate).
func TestCELTemplates(t *testing.T) {
	repos := `
validations:
- expression: "object.spec.containers.all(c, variables.repos.exists(repo, c.image.startsWith(repo)))"
  messageExpression: "'container ' + variables.failed + ' has an invalid image repo, allowed repos are ' + variables.repos.join(', ')"
variables:
- name: repos
  expression: "has(variables.params.repos) ? variables.params.repos : []"
- name: failed
  expression: "object.spec.containers.filter(c, !variables.repos.exists(repo, c.image.startsWith(repo))).map(c, c.name).join(', ')"
`
	// The Rego half also checks init containers; Gatekeeper never runs it.
	regoRepos := `package k8scelcheck
violation[{"msg": msg}] {
  c := array.concat(input.review.object.spec.containers, object.get(input.review.object.spec, "initContainers", []))[_]
  not startswith(c.image, input.parameters.repos[0])
  msg := sprintf("rego: %v", [c.name])
}
`
	withRepos := "  parameters: {repos: [\"contoso.azurecr.io/\"]}\n"
	cases := []struct {
		name, cel, rego, params string
		obj                     *Object
		want                    []got
	}{
		{
			name: "messageExpression", cel: repos, rego: regoRepos, params: withRepos,
			obj:  celPod("p", map[string]string{"app": "docker.io/nginx"}, nil),
			want: []got{{"c", "container app has an invalid image repo, allowed repos are contoso.azurecr.io/"}},
		},
		{
			name: "CEL decides over Rego: the init container is not checked", cel: repos, rego: regoRepos, params: withRepos,
			obj: celPod("p", map[string]string{"app": "contoso.azurecr.io/app:1"}, map[string]string{"init": "docker.io/busybox"}),
		},
		{
			name: "no parameters: variables.params is null", cel: repos, params: "",
			obj:  celPod("p", map[string]string{"app": "contoso.azurecr.io/app:1"}, nil),
			want: []got{{"c", "container app has an invalid image repo, allowed repos are"}}, // trailing space trimmed
		},
		{
			name: "message when the expression is false",
			cel:  "validations:\n- expression: \"size(object.spec.containers) > 1\"\n  message: \"  at least two containers  \"\n",
			obj:  celPod("p", map[string]string{"app": "x"}, nil),
			want: []got{{"c", "at least two containers"}},
		},
		{
			name: "no message: the failed expression",
			cel:  "validations:\n- expression: \"size(object.spec.containers) > 1\"\n",
			obj:  celPod("p", map[string]string{"app": "x"}, nil),
			want: []got{{"c", "failed expression: size(object.spec.containers) > 1"}},
		},
		{
			name: "a messageExpression that is not a string falls back to the message",
			cel:  "validations:\n- expression: \"false\"\n  message: fallback\n  messageExpression: \"1\"\n",
			obj:  celPod("p", map[string]string{"app": "x"}, nil),
			want: []got{{"c", "fallback"}},
		},
		{
			name: "several validations, each a violation",
			cel:  "validations:\n- expression: \"false\"\n  message: one\n- expression: \"true\"\n  message: never\n- expression: \"false\"\n  message: two\n",
			obj:  celPod("p", map[string]string{"app": "x"}, nil),
			want: []got{{"c", "one"}, {"c", "two"}},
		},
		{
			name: "matchCondition false: not evaluated",
			cel:  "matchCondition:\n- name: only-labelled\n  expression: \"has(object.metadata.labels) && 'check' in object.metadata.labels\"\nvalidations:\n- expression: \"false\"\n  message: checked\n",
			obj:  celPod("p", map[string]string{"app": "x"}, nil),
		},
		{
			name: "namespaceObject is bound",
			cel:  "validations:\n- expression: \"namespaceObject.metadata.name != 'team'\"\n  messageExpression: \"'in ' + namespaceObject.metadata.name\"\n",
			obj:  celPod("p", map[string]string{"app": "x"}, nil),
			want: []got{{"c", "in team"}},
		},
		{
			name: "request and anyObject",
			cel:  "validations:\n- expression: \"false\"\n  messageExpression: \"request.operation + ' ' + request.kind.kind + ' ' + variables.anyObject.metadata.name\"\n",
			obj:  celPod("p", map[string]string{"app": "x"}, nil),
			want: []got{{"c", "CREATE Pod p"}},
		},
		{
			name: "ignore failure policy: an evaluation error admits",
			cel:  "failurePolicy: Ignore\nvalidations:\n- expression: \"object.spec.nodeName == 'x'\"\n",
			obj:  celPod("p", map[string]string{"app": "x"}, nil),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := engine(t, []string{celTemplate(tc.cel, tc.rego)}, []string{constraint("K8sCelCheck", "c", tc.params)}, Options{})
			if len(e.Problems()) > 0 {
				t.Fatal(e.Problems())
			}
			if e.Template("K8sCelCheck").Engine != CELEngine {
				t.Fatalf("engine %q, want %s", e.Template("K8sCelCheck").Engine, CELEngine)
			}
			if diff := cmp.Diff(tc.want, review(t, e, tc.obj)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Under the default Fail policy an evaluation error is a violation whose
// message is the error, as the validator reports it.
func TestCELEvaluationErrorFails(t *testing.T) {
	e := engine(t, []string{celTemplate("validations:\n- expression: \"object.spec.nodeName == 'x'\"\n", "")}, []string{constraint("K8sCelCheck", "c", "")}, Options{})
	gs := review(t, e, celPod("p", map[string]string{"app": "x"}, nil))
	if len(gs) != 1 || !strings.Contains(gs[0].Msg, "no such key: nodeName") {
		t.Errorf("got %+v, want one violation naming the missing key", gs)
	}
	// A compile error too surfaces at evaluation.
	e = engine(t, []string{celTemplate("validations:\n- expression: \"object.spec.(\"\n", "")}, []string{constraint("K8sCelCheck", "c", "")}, Options{})
	gs = review(t, e, celPod("p", map[string]string{"app": "x"}, nil))
	if len(gs) != 1 || !strings.Contains(gs[0].Msg, "compilation failed") {
		t.Errorf("got %+v, want one violation with the compilation error", gs)
	}
}

// Gatekeeper's schema.Source.Validate rejects reserved variable names and
// prefixes, and unknown failure policies.
func TestCELTemplateRejected(t *testing.T) {
	for _, tc := range []struct{ cel, want string }{
		{"variables:\n- name: params\n  expression: \"1\"\n", `"params" is a reserved keyword`},
		{"variables:\n- name: anyObject\n  expression: \"1\"\n", `"anyObject" is a reserved keyword`},
		{"variables:\n- name: gatekeeper_internal_x\n  expression: \"1\"\n", `cannot have "gatekeeper_internal_" as a prefix`},
		{"matchCondition:\n- name: gatekeeper_internal_y\n  expression: \"true\"\n", `cannot have "gatekeeper_internal_" as a prefix`},
		{"failurePolicy: Sometimes\n", "unrecognized failure policy: Sometimes"},
	} {
		e := engine(t, []string{celTemplate(tc.cel, "")}, nil, Options{})
		if len(e.Problems()) != 1 || !strings.Contains(e.Problems()[0].Message, tc.want) {
			t.Errorf("%q: problems %v, want one containing %q", tc.cel, e.Problems(), tc.want)
		}
	}
}
