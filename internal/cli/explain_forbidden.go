package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/rbac"
)

type explainForbiddenParams struct {
	g             *globalOptions
	as            string
	asGroups      []string
	entra         string
	subresource   string
	allNamespaces bool
}

func newExplainForbiddenCommand(g *globalOptions) *cobra.Command {
	p := &explainForbiddenParams{g: g}
	cmd := &cobra.Command{
		Use:     "forbidden (--entra PRINCIPAL | --as USER [--as-group G]...) VERB RESOURCE[/SUBRESOURCE] [NAME] -n NS",
		Short:   "Explain a 403: who the caller is, which bindings apply, the nearest binding that would allow and why it does not, and the fix",
		Example: `  akssec explain forbidden --entra erin@contoso.com list pods -n trading`,
		Args:    cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			return p.run(cmd.Context(), args)
		},
	}
	cmd.Flags().StringVar(&p.as, "as", "", "username to impersonate (kubectl semantics)")
	cmd.Flags().StringArrayVar(&p.asGroups, "as-group", nil, "group to impersonate, repeatable")
	cmd.Flags().StringVar(&p.entra, "entra", "", "Entra principal: UPN, object ID, client ID or display name")
	cmd.Flags().StringVar(&p.subresource, "subresource", "", "subresource, such as log or exec")
	cmd.Flags().BoolVarP(&p.allNamespaces, "all-namespaces", "A", false, "a request across all namespaces")
	return cmd
}

func (p *explainForbiddenParams) run(ctx context.Context, args []string) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	user, id, err := callerFlags(e, p.as, p.asGroups, p.entra)
	if err != nil {
		return err
	}
	a := rbac.New(e)
	attrs, err := requestArgs(a, args, p.subresource, requestNamespace(p.g, p.allNamespaces), io.Discard)
	if err != nil {
		return err
	}
	attrs = realRequest(a, attrs)
	attrs.User = user
	ex := a.Explain(&attrs, id)
	if p.g.output == "json" {
		if err := writeJSON(p.g.streams.Out, ex); err != nil {
			return err
		}
	} else {
		renderExplanation(p.g.streams.Out, ex)
	}
	if !ex.Decision.Allowed {
		return errDenied
	}
	return nil
}

func renderExplanation(w io.Writer, ex *rbac.Explanation) {
	fmt.Fprintf(w, "Request:  %s\n", ex.Request)
	if ex.Identity != nil && ex.Identity.Principal != nil {
		fmt.Fprintf(w, "Caller:   %s (object ID %s)\n", ex.Identity.Principal, ex.Identity.Principal.ID)
		fmt.Fprintf(w, "          Kubernetes username %q (from the %s claim)\n", ex.User.Name, ex.Identity.UsernameFrom)
		for _, n := range ex.Identity.Notes {
			fmt.Fprintf(w, "          %s\n", n)
		}
	} else {
		fmt.Fprintf(w, "Caller:   %q\n", ex.User.Name)
	}
	fmt.Fprintln(w, "Groups:")
	for _, g := range ex.Groups {
		if g.DisplayName != "" {
			fmt.Fprintf(w, "  %s  (%s)\n", g.ID, g.DisplayName)
		} else {
			fmt.Fprintf(w, "  %s\n", g.ID)
		}
	}
	verdict := "FORBIDDEN"
	if ex.Decision.Allowed {
		verdict = "ALLOWED"
	} else if ex.Decision.Denied {
		verdict = "DENIED"
	}
	fmt.Fprintf(w, "Decision: %s", verdict)
	if ex.Decision.Reason != "" {
		fmt.Fprintf(w, " - %s", ex.Decision.Reason)
	} else if !ex.Decision.Allowed {
		fmt.Fprint(w, " - no RBAC rule allows it (RBAC has no opinion; nothing else in the chain allows)")
	}
	fmt.Fprintln(w)
	section := func(title string, bs []rbac.BindingView) {
		fmt.Fprintf(w, "%s:\n", title)
		if len(bs) == 0 {
			fmt.Fprintln(w, "  (none apply to the caller)")
		}
		defaults := 0
		for _, b := range bs {
			if b.Origin == rbac.OriginBootstrap && !b.Allows {
				defaults++
				continue
			}
			mark := "does not allow"
			if b.Allows {
				mark = "ALLOWS"
			}
			origin := ""
			if b.Origin != rbac.OriginSnapshot {
				origin = ", " + string(b.Origin)
			}
			fmt.Fprintf(w, "  %s → %s via %s: %s (%s%s)\n", b.Binding, b.Role, b.Subject, mark, b.Loc, origin)
		}
		if defaults > 0 {
			fmt.Fprintf(w, "  (and %d Kubernetes default bindings, such as system:basic-user, that do not allow it)\n", defaults)
		}
	}
	section("Cluster-wide bindings of the caller", ex.ClusterBindings)
	if ns := namespaceOf(ex.Request); ns != "" {
		section("Bindings of the caller in namespace "+ns, ex.NamespaceBindings)
	}
	for _, n := range ex.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	if ex.Decision.Allowed {
		return
	}
	for i, m := range ex.NearMisses {
		if i == 0 {
			fmt.Fprintln(w, "\nWhy (nearest first):")
		}
		fmt.Fprintf(w, "%d. [%s] %s\n", i+1, m.Problem, m.Why)
		if m.Binding != "" {
			fmt.Fprintf(w, "   at %s\n", m.Loc)
		}
		if m.Fix != "" {
			fmt.Fprintln(w, "   Fix:")
			for _, l := range strings.Split(strings.TrimRight(m.Fix, "\n"), "\n") {
				fmt.Fprintf(w, "     %s\n", l)
			}
		}
	}
}

func namespaceOf(request string) string {
	const k = ` in namespace "`
	i := strings.LastIndex(request, k)
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(request[i+len(k):], `"`)
}
