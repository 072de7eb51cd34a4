package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/rbac"
)

type accessMatrixParams struct {
	g        *globalOptions
	as       string
	asGroups []string
	entra    string
	all      bool
}

func newAccessMatrixCommand(g *globalOptions) *cobra.Command {
	p := &accessMatrixParams{g: g}
	cmd := &cobra.Command{
		Use:   "access-matrix (--as USER [--as-group G]... | --entra PRINCIPAL) [-n NS]",
		Short: "Show what a caller may do: every resource by every verb, decided offline",
		Long: `Decide every verb on every resource the cluster serves (built-in and the
snapshot's CRDs) for one caller. With -n, namespaced resources are asked in
that namespace and cluster-scoped ones cluster-wide; without, everything is
asked cluster-wide (across all namespaces). --all lists rows with no verb
allowed too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			return p.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&p.as, "as", "", "username to impersonate (kubectl semantics)")
	cmd.Flags().StringArrayVar(&p.asGroups, "as-group", nil, "group to impersonate, repeatable")
	cmd.Flags().StringVar(&p.entra, "entra", "", "Entra principal: UPN, object ID, client ID or display name")
	cmd.Flags().BoolVar(&p.all, "all", false, "list resources with no allowed verb too")
	return cmd
}

func (p *accessMatrixParams) run(ctx context.Context) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	user, id, err := callerFlags(e, p.as, p.asGroups, p.entra)
	if err != nil {
		return err
	}
	if id != nil && !id.Authenticated() {
		return usageErrorf("%s cannot authenticate: %s", p.entra, id.Err)
	}
	m := rbac.New(e).AccessMatrix(user, p.g.namespace)
	if !p.all {
		rows := m.Rows[:0:0]
		for _, r := range m.Rows {
			for _, ok := range r.Verbs {
				if ok {
					rows = append(rows, r)
					break
				}
			}
		}
		m.Rows = rows
	}
	out := p.g.streams.Out
	if p.g.output == "json" {
		return writeJSON(out, m)
	}
	scope := "cluster-wide (all namespaces)"
	if m.Namespace != "" {
		scope = "namespace " + m.Namespace
	}
	fmt.Fprintf(out, "%s, groups %s, %s\n", user.Name, strings.Join(user.Groups, ", "), scope)
	tw := tabwriter.NewWriter(out, 0, 4, 1, ' ', 0)
	fmt.Fprint(tw, "RESOURCE")
	for _, v := range m.Verbs {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(v))
	}
	fmt.Fprintln(tw)
	for _, r := range m.Rows {
		fmt.Fprint(tw, r.Resource)
		for _, v := range m.Verbs {
			mark := "✖"
			if r.Verbs[v] {
				mark = "✔"
			}
			fmt.Fprintf(tw, "\t%s", mark)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
