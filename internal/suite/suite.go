// Package suite runs assertion suites (`akssec test`): statements across
// layers — who can do what, what can reach what, what is admitted, who can
// read which secret, which attack paths exist — each decided by the layer
// engine that owns it, with the engine's explanation when it fails.
//
// The format (kind AssertionSuite, apiVersion akssec.io/v1alpha1):
//
//	assertions:
//	- name: viewers cannot delete pods
//	  can: {entra: carol@contoso.com, verb: delete, resource: pods, namespace: default}
//	  expect: deny                  # allow | deny
//	- reach: {from: production/frontend, to: production/backend, port: 8080}
//	  expect: allow                 # allow | deny
//	- admit: {file: manifests/privileged-pod.yaml}
//	  expect: deny                  # allow | deny (every object of the file)
//	- readSecret: {serviceAccount: default/myapp-sa, secret: myKV/db-password}
//	  expect: allow                 # allow | deny
//	- path: {from: {entra: contractors}, to: {secret: myKV/db-password}}
//	  expect: none                  # none | exists
//
// can takes the fields of `akssec can-i -f` queries (entra, or user and
// groups; verb, resource, subresource, name, namespace, nonResourceURL).
// Files are relative to the suite file.
package suite

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/akssec/akssec/internal/admission"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/graph"
	"github.com/akssec/akssec/internal/netpol"
	"github.com/akssec/akssec/internal/rbac"
	"github.com/akssec/akssec/internal/secretsstore"
	"github.com/akssec/akssec/internal/snapshot"
)

// Suite is an assertion suite file.
type Suite struct {
	APIVersion string      `json:"apiVersion"`
	Kind       string      `json:"kind"`
	Assertions []Assertion `json:"assertions"`
	file       string
	lines      []int
}

// Assertion is one statement; exactly one of its kinds is set.
type Assertion struct {
	Name       string      `json:"name,omitempty"`
	Can        *rbac.Query `json:"can,omitempty"`
	Reach      *Reach      `json:"reach,omitempty"`
	Admit      *Admit      `json:"admit,omitempty"`
	ReadSecret *ReadSecret `json:"readSecret,omitempty"`
	Path       *PathSpec   `json:"path,omitempty"`
	Expect     string      `json:"expect"`
}

// Reach is a network assertion, in `akssec reach` vocabulary.
type Reach struct {
	From     string              `json:"from"`
	To       string              `json:"to"`
	Port     *intstr.IntOrString `json:"port,omitempty"`
	Protocol string              `json:"protocol,omitempty"`
}

// Admit names a manifest file whose objects must be admitted or denied.
type Admit struct {
	File string `json:"file"`
}

// ReadSecret asks whether a pod running as the ServiceAccount can get the
// Key Vault secret through workload identity.
type ReadSecret struct {
	ServiceAccount string `json:"serviceAccount"` // NS/NAME
	Secret         string `json:"secret"`         // VAULT/SECRET
}

// PathSpec asks for a cross-layer path.
type PathSpec struct {
	From Endpoint `json:"from"`
	To   Endpoint `json:"to"`
}

// Endpoint names a graph node.
type Endpoint struct {
	Entra          string `json:"entra,omitempty"`
	ServiceAccount string `json:"serviceAccount,omitempty"`
	Secret         string `json:"secret,omitempty"`
}

func (e Endpoint) spec() string {
	switch {
	case e.Entra != "":
		return e.Entra
	case e.ServiceAccount != "":
		return "serviceaccount/" + e.ServiceAccount
	case e.Secret != "":
		return "keyvault/" + e.Secret
	}
	return ""
}

// Load reads and validates a suite file; errors name the file and line.
func Load(file string) (*Suite, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var s Suite
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return nil, fmt.Errorf("%s: expected an AssertionSuite (apiVersion akssec.io/v1alpha1): %v", file, err)
	}
	if s.Kind != "AssertionSuite" {
		return nil, fmt.Errorf("%s: kind is %q, expected AssertionSuite", file, s.Kind)
	}
	s.file = file
	s.lines = itemLines(data)
	var errs []string
	for i, a := range s.Assertions {
		n := 0
		for _, set := range []bool{a.Can != nil, a.Reach != nil, a.Admit != nil, a.ReadSecret != nil, a.Path != nil} {
			if set {
				n++
			}
		}
		where := fmt.Sprintf("%s:%d: assertion %d", file, s.line(i), i+1)
		if n != 1 {
			errs = append(errs, where+": expected exactly one of can, reach, admit, readSecret, path")
			continue
		}
		valid := map[string]bool{"allow": true, "deny": true}
		if a.Path != nil {
			valid = map[string]bool{"none": true, "exists": true}
		}
		if !valid[a.Expect] {
			errs = append(errs, fmt.Sprintf("%s: expect %q, expected one of %s", where, a.Expect, keys(valid)))
		}
		if a.Path != nil && (a.Path.From.spec() == "" || a.Path.To.spec() == "") {
			errs = append(errs, where+": path needs from and to, each one of entra, serviceAccount, secret")
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return &s, nil
}

func keys(m map[string]bool) string {
	var out []string
	for _, k := range []string{"allow", "deny", "none", "exists"} {
		if m[k] {
			out = append(out, k)
		}
	}
	return strings.Join(out, ", ")
}

func itemLines(data []byte) []int {
	var root yamlv3.Node
	if err := yamlv3.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "assertions" {
			var out []int
			for _, it := range m.Content[i+1].Content {
				out = append(out, it.Line)
			}
			return out
		}
	}
	return nil
}

func (s *Suite) line(i int) int {
	if i < len(s.lines) {
		return s.lines[i]
	}
	return 0
}

// Result is the outcome of one assertion.
type Result struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Location string `json:"location"`
	Passed   bool   `json:"passed"`
	Expected string `json:"expected"`
	Got      string `json:"got"`
	// Explanation is the deciding engine's reason (always kept, shown on failure).
	Explanation string `json:"explanation"`
}

// engines are prepared once per run, lazily: a suite of only can
// assertions never builds the graph.
type engines struct {
	ctx   context.Context
	e     *env.Environment
	authz *rbac.Authorizer
	batch *rbac.Batch
	net   *netpol.Engine
	adm   *admission.Admitter
	ss    *secretsstore.Resolver
	graph *graph.Graph
}

func (en *engines) rbac() *rbac.Batch {
	if en.batch == nil {
		en.authz = rbac.New(en.e)
		en.batch = en.authz.NewBatch()
	}
	return en.batch
}

func (en *engines) admission() (*admission.Admitter, error) {
	if en.adm == nil {
		a, err := graph.Admitter(en.ctx, en.e)
		if err != nil {
			return nil, err
		}
		en.adm = a
	}
	return en.adm, nil
}

func (en *engines) secrets() *secretsstore.Resolver {
	if en.ss == nil {
		en.ss = secretsstore.New(en.e)
	}
	return en.ss
}

func (en *engines) paths() (*graph.Graph, error) {
	if en.graph == nil {
		adm, err := en.admission()
		if err != nil {
			return nil, err
		}
		en.rbac()
		g, err := graph.BuildWith(en.ctx, en.e, en.authz, adm, en.secrets())
		if err != nil {
			return nil, err
		}
		en.graph = g
	}
	return en.graph, nil
}

// Run evaluates every assertion against e. An assertion that cannot be
// evaluated (unknown principal, missing file) fails with the reason.
func Run(ctx context.Context, e *env.Environment, s *Suite) []Result {
	en := &engines{ctx: ctx, e: e}
	out := make([]Result, 0, len(s.Assertions))
	for i, a := range s.Assertions {
		r := Result{Name: a.Name, Location: fmt.Sprintf("%s:%d", s.file, s.line(i)), Expected: a.Expect}
		got, why, err := en.eval(a, filepath.Dir(s.file), &r)
		if err != nil {
			r.Got, r.Explanation = "error", err.Error()
		} else {
			r.Got, r.Explanation = got, why
			r.Passed = got == a.Expect
		}
		if r.Name == "" {
			r.Name = fmt.Sprintf("%s %s", r.Kind, a.Expect)
		}
		out = append(out, r)
	}
	return out
}

func verdict(ok bool) string {
	if ok {
		return "allow"
	}
	return "deny"
}

func (en *engines) eval(a Assertion, base string, r *Result) (got, why string, err error) {
	switch {
	case a.Can != nil:
		r.Kind = "can"
		q := *a.Can
		if q.Group == nil && q.APIGroup == nil && q.Resource != "" {
			// Resolve the resource as kubectl auth can-i does
			// (deployments → apps/deployments); can-i -f takes it as given.
			res, sub, _ := strings.Cut(q.Resource, "/")
			en.rbac()
			if group, resource, known := en.authz.Discovery().ResolveArg(res); known {
				q.APIGroup, q.Resource = &group, resource
				if sub != "" && q.Subresource == "" {
					q.Subresource = sub
				}
			}
		}
		ans := en.rbac().Answer(&q)
		if ans.Error != "" {
			return "", "", fmt.Errorf("%s", ans.Error)
		}
		why = ans.Reason
		if d := ans.DecidedBy; d != nil && d.Binding != "" {
			why = fmt.Sprintf("%s (binding %s, role %s, %s)", why, d.Binding, d.Role, d.Location)
		}
		if why == "" {
			why = "no RBAC rule allows it"
		}
		return verdict(ans.Allowed), why, nil
	case a.Reach != nil:
		r.Kind = "reach"
		q := netpol.Query{From: a.Reach.From, To: a.Reach.To, Protocol: a.Reach.Protocol}
		if a.Reach.Port != nil {
			q.Port = a.Reach.Port.String()
		}
		if en.net == nil {
			en.net = netpol.New(en.e)
		}
		ans, err := en.net.Ask(q)
		if err != nil {
			return "", "", err
		}
		v := ans.Verdict
		why = fmt.Sprintf("egress: %s; ingress: %s (plugin %s)", v.Egress.Reason, v.Ingress.Reason, v.Plugin)
		return verdict(ans.Allowed), why, nil
	case a.Admit != nil:
		r.Kind = "admit"
		file := a.Admit.File
		if !filepath.IsAbs(file) {
			file = filepath.Join(base, file)
		}
		objs, err := snapshot.LoadManifests([]string{file}, snapshot.Options{})
		if err != nil {
			return "", "", err
		}
		adm, err := en.admission()
		if err != nil {
			return "", "", err
		}
		allowed := true
		var reasons []string
		for _, o := range objs {
			v, err := adm.Admit(en.ctx, o)
			if err != nil {
				return "", "", err
			}
			ok := v.Allowed && (v.Pods == nil || v.Pods.Allowed)
			allowed = allowed && ok
			for _, d := range v.Denials {
				reasons = append(reasons, fmt.Sprintf("%s: %s %s: %s", o.Ref(), d.Layer, d.Policy, d.Message))
			}
			if v.Pods != nil {
				for _, d := range v.Pods.Denials {
					reasons = append(reasons, fmt.Sprintf("%s pods: %s %s: %s", o.Ref(), d.Layer, d.Policy, d.Message))
				}
			}
		}
		if len(reasons) == 0 {
			reasons = append(reasons, "every layer admits it")
		}
		return verdict(allowed), strings.Join(reasons, "; "), nil
	case a.ReadSecret != nil:
		r.Kind = "readSecret"
		return en.readSecret(a.ReadSecret)
	case a.Path != nil:
		r.Kind = "path"
		g, err := en.paths()
		if err != nil {
			return "", "", err
		}
		srcs, err := g.Resolve(en.e.Directory, a.Path.From.spec())
		if err != nil {
			return "", "", fmt.Errorf("from: %w", err)
		}
		dsts, err := g.Resolve(en.e.Directory, a.Path.To.spec())
		if err != nil {
			return "", "", fmt.Errorf("to: %w", err)
		}
		for _, d := range dsts {
			for _, s := range srcs {
				if p := g.Shortest(s, d, 0); p != nil {
					return "exists", p.String(), nil
				}
			}
		}
		return "none", "no path in the graph", nil
	}
	return "", "", fmt.Errorf("empty assertion")
}

// readSecret: the ServiceAccount becomes an identity through a federated
// credential Entra accepts, and Key Vault lets that identity get the secret.
func (en *engines) readSecret(q *ReadSecret) (string, string, error) {
	ns, sa, ok := strings.Cut(q.ServiceAccount, "/")
	vault, secret, ok2 := strings.Cut(q.Secret, "/")
	if !ok || !ok2 {
		return "", "", fmt.Errorf("expected serviceAccount NS/NAME and secret VAULT/SECRET")
	}
	ss := en.secrets()
	if ss.Vault(vault) == nil {
		return "", "", fmt.Errorf("no Key Vault %q in the snapshot", vault)
	}
	readers := map[string]string{}
	for _, rd := range ss.Readers(vault, secret) {
		if rd.Identity != nil {
			readers[strings.ToLower(rd.Identity.PrincipalID)] = rd.Model + ": " + rd.Via
		}
	}
	var becomes []string
	for _, b := range ss.Federation().Bindings() {
		if b.Namespace != ns || b.ServiceAccount != sa {
			continue
		}
		becomes = append(becomes, b.Identity.Name)
		if via, ok := readers[strings.ToLower(b.Identity.PrincipalID)]; ok {
			return "allow", fmt.Sprintf("%s/%s is federated to %s (credential %s), which Key Vault lets get %s (%s)", ns, sa, b.Identity.Name, b.Credential.Name, q.Secret, via), nil
		}
	}
	if len(becomes) == 0 {
		return "deny", fmt.Sprintf("no federated credential Entra would accept names system:serviceaccount:%s:%s", ns, sa), nil
	}
	return "deny", fmt.Sprintf("%s/%s becomes %s, but Key Vault does not let it get %s", ns, sa, strings.Join(becomes, ", "), q.Secret), nil
}
