package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/rbac"
)

type canIParams struct {
	g             *globalOptions
	as            string
	asGroups      []string
	entra         string
	subresource   string
	allNamespaces bool
	quiet         bool
	file          string
}

func newCanICommand(g *globalOptions) *cobra.Command {
	p := &canIParams{g: g}
	cmd := &cobra.Command{
		Use:   "can-i VERB (RESOURCE[/SUBRESOURCE] [NAME] | NONRESOURCEURL) (--as USER [--as-group G]... | --entra PRINCIPAL)",
		Short: "Decide one request as the cluster's authorizers do (system:masters, RBAC, Azure RBAC)",
		Long: `Decide whether a caller may make a request, exactly as kube-apiserver's
authorizer chain does on the cluster of the snapshot: the system:masters
superuser, Kubernetes RBAC, then Azure RBAC for Kubernetes when enabled.

Prints "yes", or "no" with the apiserver's reason, like kubectl auth can-i;
exit code 0 when allowed, 1 when not. Unlike kubectl, RESOURCE/SUB names a
subresource (pods/log) and the resource name is a separate argument.

--as/--as-group impersonate like kubectl (system:authenticated is added, a
ServiceAccount gets its groups); --entra resolves an Entra principal (UPN,
object ID, client ID or display name) as AKS authenticates it.

With -f FILE (- for stdin), reads one JSON query per line
({"user","groups","entra","verb","group","resource","subresource","name",
"namespace","nonResourceURL"}; user/groups are taken as a SubjectAccessReview
takes them, with no group added) and writes one JSON answer per line, in
order: {"allowed","reason","decidedBy"} or {"allowed":false,"error"}.`,
		Example: `  akssec can-i list pods -A --entra carol@contoso.com
  akssec can-i get pods/log -n production --as system:serviceaccount:production:myapp-sa
  akssec can-i get /healthz --as jane --as-group dev -o json
  akssec can-i -f queries.jsonl`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			if p.file != "" {
				if len(args) > 0 || p.as != "" || p.entra != "" || len(p.asGroups) > 0 {
					return usageErrorf("-f takes the callers and requests from the file; give no arguments, --as or --entra")
				}
				return p.runBatch(cmd.Context())
			}
			return p.run(cmd.Context(), args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&p.as, "as", "", "username to impersonate (kubectl semantics)")
	f.StringArrayVar(&p.asGroups, "as-group", nil, "group to impersonate, repeatable")
	f.StringVar(&p.entra, "entra", "", "Entra principal: UPN, object ID, client ID or display name")
	f.StringVar(&p.subresource, "subresource", "", "subresource, such as log or exec")
	f.BoolVarP(&p.allNamespaces, "all-namespaces", "A", false, "ask about all namespaces (a request without namespace)")
	f.BoolVarP(&p.quiet, "quiet", "q", false, "print nothing; the exit code says the answer")
	f.StringVarP(&p.file, "filename", "f", "", "batch: JSON queries, one per line (- for stdin)")
	return cmd
}

// caller resolves --as/--as-group or --entra.
func callerFlags(e *env.Environment, as string, asGroups []string, entraName string) (authn.UserInfo, *authn.Identity, error) {
	switch {
	case entraName != "" && (as != "" || len(asGroups) > 0):
		return authn.UserInfo{}, nil, usageErrorf("give either --entra or --as/--as-group, not both")
	case entraName != "":
		id, err := authn.FromEntra(e.Directory, entraName)
		if err != nil {
			return authn.UserInfo{}, nil, usageErrorf("%v", err)
		}
		return id.User, id, nil
	case as != "":
		return authn.Impersonate(as, asGroups), nil, nil
	case len(asGroups) > 0:
		return authn.UserInfo{}, nil, usageErrorf("--as-group needs --as (kubectl: requesting groups without a user is not allowed)")
	}
	return authn.UserInfo{}, nil, usageErrorf("name the caller with --as USER [--as-group G]... or --entra PRINCIPAL")
}

// requestArgs turns VERB RESOURCE[/SUB] [NAME] or VERB /url into attributes,
// warning as kubectl does.
func requestArgs(a *rbac.Authorizer, args []string, subresource, namespace string, warn io.Writer) (rbac.Attributes, error) {
	var attrs rbac.Attributes
	if len(args) < 2 || len(args) > 3 {
		return attrs, usageErrorf("you must specify two or three arguments: verb resource[/subresource] [name], or verb nonresourceurl")
	}
	attrs.Verb = args[0]
	if strings.HasPrefix(args[1], "/") {
		if subresource != "" {
			return attrs, usageErrorf("--subresource can not be used with NonResourceURL")
		}
		if len(args) == 3 {
			return attrs, usageErrorf("NonResourceURL and ResourceName can not specified together")
		}
		attrs.Path = args[1]
		if !knownNonResourceVerbs[attrs.Verb] {
			fmt.Fprintf(warn, "Warning: verb '%s' is not a known verb\n", attrs.Verb)
		}
		return attrs, nil
	}
	attrs.ResourceRequest = true
	res, sub, hasSub := strings.Cut(args[1], "/")
	if hasSub && subresource != "" && sub != subresource {
		return attrs, usageErrorf("subresource %q in %s conflicts with --subresource %q", sub, args[1], subresource)
	}
	if !hasSub {
		sub = subresource
	}
	group, resource, known := a.Discovery().ResolveArg(res)
	if !known && res != "users" && res != "groups" {
		fmt.Fprintf(warn, "Warning: the server doesn't have a resource type '%s'\n", res)
	}
	attrs.APIGroup, attrs.Resource, attrs.Subresource = group, resource, sub
	if len(args) == 3 {
		attrs.Name = args[2]
	}
	attrs.Namespace = namespace
	if namespace != "" {
		if namespaced, ok := a.Discovery().Namespaced(group, resource); known && ok && !namespaced {
			if group == "" {
				fmt.Fprintf(warn, "Warning: resource '%s' is not namespace scoped\n", resource)
			} else {
				fmt.Fprintf(warn, "Warning: resource '%s' is not namespace scoped in group '%s'\n", resource, group)
			}
		}
		if !knownResourceVerbs[attrs.Verb] {
			fmt.Fprintf(warn, "Warning: verb '%s' is not a known verb\n", attrs.Verb)
		}
	}
	return attrs, nil
}

// The verbs kubectl auth can-i knows (kubectl pkg/cmd/auth/cani.go); others
// only get a warning.
var (
	knownResourceVerbs = map[string]bool{"get": true, "list": true, "watch": true, "create": true, "update": true, "patch": true, "delete": true,
		"deletecollection": true, "use": true, "bind": true, "impersonate": true, "*": true, "approve": true, "sign": true, "escalate": true, "attest": true}
	knownNonResourceVerbs = map[string]bool{"get": true, "put": true, "post": true, "head": true, "options": true, "delete": true, "patch": true, "*": true}
)

// requestNamespace is kubectl's: -A asks without namespace, else -n, else
// the kubeconfig's default namespace "default".
func requestNamespace(g *globalOptions, all bool) string {
	switch {
	case all:
		return ""
	case g.namespace != "":
		return g.namespace
	}
	return "default"
}

func (p *canIParams) run(ctx context.Context, args []string) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	user, id, err := callerFlags(e, p.as, p.asGroups, p.entra)
	if err != nil {
		return err
	}
	a := rbac.New(e)
	attrs, err := requestArgs(a, args, p.subresource, requestNamespace(p.g, p.allNamespaces), p.g.streams.Err)
	if err != nil {
		return err
	}
	attrs.User = user
	out := p.g.streams.Out
	if p.quiet {
		out = io.Discard
	}
	var d rbac.Decision
	if id != nil && !id.Authenticated() {
		d = rbac.Decision{Reason: "Unauthorized: " + id.Err}
	} else {
		d = a.Authorize(&attrs)
	}
	if p.g.output == "json" {
		if err := writeJSON(out, rbac.Answer{Allowed: d.Allowed, Denied: d.Denied, Reason: d.Reason, DecidedBy: d.DecidedBy}); err != nil {
			return err
		}
	} else if d.Allowed {
		fmt.Fprintln(out, "yes")
	} else {
		fmt.Fprint(out, "no")
		if d.Reason != "" {
			fmt.Fprintf(out, " - %v", d.Reason)
		}
		fmt.Fprintln(out)
	}
	if !d.Allowed {
		return errDenied
	}
	return nil
}

func (p *canIParams) runBatch(ctx context.Context) error {
	in, err := p.g.openInput(p.file)
	if err != nil {
		return err
	}
	defer in.Close()
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	if err := rbac.New(e).NewBatch().Run(ctx, in, p.g.streams.Out); err != nil {
		return usageErrorf("%v", err)
	}
	return nil
}

// realRequest drops the namespace of a request for a cluster-scoped
// resource: the URL of a real request for it carries none, so only
// ClusterRoleBindings can grant it (who-can and explain answer for real
// requests; can-i asks what kubectl's SelfSubjectAccessReview asks).
func realRequest(a *rbac.Authorizer, attrs rbac.Attributes) rbac.Attributes {
	if attrs.ResourceRequest && attrs.Namespace != "" {
		if namespaced, known := a.Discovery().Namespaced(attrs.APIGroup, attrs.Resource); known && !namespaced {
			attrs.Namespace = ""
		}
	}
	return attrs
}
