package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/rbac"
)

type whoCanParams struct {
	g             *globalOptions
	subresource   string
	allNamespaces bool
	noMembers     bool
}

func newWhoCanCommand(g *globalOptions) *cobra.Command {
	p := &whoCanParams{g: g}
	cmd := &cobra.Command{
		Use:   "who-can VERB (RESOURCE[/SUBRESOURCE] [NAME] | NONRESOURCEURL) [-n NS | -A]",
		Short: "List every subject that may make a request, with the binding path and the Entra members of each group",
		Long: `List every subject RBAC allows to make the request, as the apiserver's
subject locator does: Group system:masters, then the subjects of each
ClusterRoleBinding whose role allows, then those of the RoleBindings of the
namespace. Group subjects are expanded to their Entra members (transitively);
a group subject that is not an object ID in the directory is flagged.`,
		Example: `  akssec who-can create pods -n team-alpha
  akssec who-can get secrets -A -o json`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			return p.run(cmd.Context(), args)
		},
	}
	cmd.Flags().StringVar(&p.subresource, "subresource", "", "subresource, such as log or exec")
	cmd.Flags().BoolVarP(&p.allNamespaces, "all-namespaces", "A", false, "ask about all namespaces (cluster-wide grants only)")
	cmd.Flags().BoolVar(&p.noMembers, "no-members", false, "do not expand groups to their Entra members")
	return cmd
}

// whoCanEntry is one line of who-can's JSON output.
type whoCanEntry struct {
	rbac.SubjectGrant
	Members []whoCanMember `json:"members,omitempty"`
	Note    string         `json:"note,omitempty"`
}

type whoCanMember struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (p *whoCanParams) run(ctx context.Context, args []string) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	a := rbac.New(e)
	attrs, err := requestArgs(a, args, p.subresource, requestNamespace(p.g, p.allNamespaces), io.Discard)
	if err != nil {
		return err
	}
	attrs = realRequest(a, attrs)
	grants := a.WhoCan(&attrs)
	var entries []whoCanEntry
	for _, gr := range grants {
		en := whoCanEntry{SubjectGrant: gr}
		if !p.noMembers {
			for _, m := range a.Members(gr.Subject) {
				name := m.UPN
				if name == "" {
					name = m.DisplayName
				}
				en.Members = append(en.Members, whoCanMember{Kind: string(m.Kind), ID: m.ID, Name: name})
			}
		}
		if gr.Subject.Kind == "Group" && e.Directory != nil && gr.Origin == rbac.OriginSnapshot && len(en.Members) == 0 {
			if ps := e.Directory.ByDisplayName(gr.Subject.Name); len(ps) > 0 {
				en.Note = fmt.Sprintf("names Entra group %q by display name; tokens carry object ID %s, so this grant reaches no one", gr.Subject.Name, ps[0].ID)
			}
		}
		entries = append(entries, en)
	}
	out := p.g.streams.Out
	if p.g.output == "json" {
		return writeJSON(out, entries)
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUBJECT\tNAMESPACE\tBINDING\tROLE\tSOURCE")
	for _, en := range entries {
		subj := en.Subject.Kind + " " + en.Subject.Name
		if en.Subject.Kind == "ServiceAccount" {
			subj = "ServiceAccount " + en.Subject.Namespace + "/" + en.Subject.Name
		}
		ns := en.Namespace
		if ns == "" {
			ns = "*"
		}
		role := en.Role
		if en.Rule >= 0 && role != "" {
			role = fmt.Sprintf("%s (rule %d)", role, en.Rule)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", subj, ns, en.Binding, role, en.BindingLoc)
		for _, m := range en.Members {
			fmt.Fprintf(tw, "  └ %s %s\t\t\t\t%s\n", m.Kind, m.Name, m.ID)
		}
		if en.Note != "" {
			fmt.Fprintf(tw, "  ! %s\t\t\t\t\n", en.Note)
		}
	}
	return tw.Flush()
}
