package cli

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/netpol"
)

type netpolMatrixParams struct {
	g *globalOptions
}

func newNetpolCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "netpol",
		Short: "Network policy views: the reachability matrix",
	}
	p := &netpolMatrixParams{g: g}
	matrix := &cobra.Command{
		Use:   "matrix",
		Short: "Pod-group × pod-group reachability (ports allowed) under the cluster's policy engine",
		Long: `Print which pods may connect to which, and on which ports, as the cluster's
network policy engine decides. Pods no policy can tell apart are grouped
(namespace, matching selectors, named ports, host network, IP facts); each
row and column is such a group, named by its workloads and pods.
A pod always reaches itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := g.checkOutput("text", "json", "csv"); err != nil {
				return err
			}
			return p.run(cmd.Context())
		},
	}
	cmd.AddCommand(matrix)
	return cmd
}

func groupName(c netpol.MatrixClass) string {
	seen := map[string]bool{}
	var names []string
	for _, p := range c.Pods {
		n := p.Namespace + "/" + p.Name
		if p.Workload != nil {
			w := p.Workload
			for w.Owner != nil {
				w = w.Owner
			}
			n = p.Namespace + "/" + strings.ToLower(w.Kind) + "/" + w.Name
		}
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) > 3 {
		return strings.Join(names[:3], ",") + fmt.Sprintf(",+%d", len(names)-3)
	}
	return strings.Join(names, ",")
}

type matrixJSON struct {
	Plugin string      `json:"plugin"`
	Groups []groupJSON `json:"groups"`
	Cells  []cellJSON  `json:"cells"`
}

type groupJSON struct {
	ID        int      `json:"id"`
	Namespace string   `json:"namespace"`
	Members   []string `json:"members"`
}

type cellJSON struct {
	From  int    `json:"from"`
	To    int    `json:"to"`
	Ports string `json:"ports"`
}

func (p *netpolMatrixParams) run(ctx context.Context) error {
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	m, err := netpol.New(e).Matrix(ctx, p.g.namespace)
	if err != nil {
		return err
	}
	out := p.g.streams.Out
	switch p.g.output {
	case "json":
		mj := matrixJSON{Plugin: m.Plugin, Groups: []groupJSON{}, Cells: []cellJSON{}}
		for _, c := range m.Classes {
			g := groupJSON{ID: c.ID, Namespace: c.Namespace}
			for _, pod := range c.Pods {
				g.Members = append(g.Members, pod.Ref())
			}
			mj.Groups = append(mj.Groups, g)
		}
		for i := range m.Classes {
			for j := range m.Classes {
				mj.Cells = append(mj.Cells, cellJSON{From: i, To: j, Ports: m.CellString(i, j)})
			}
		}
		return writeJSON(out, mj)
	case "csv":
		w := csv.NewWriter(out)
		_ = w.Write([]string{"from", "to", "ports"})
		names := groupNames(m)
		for i := range m.Classes {
			for j := range m.Classes {
				_ = w.Write([]string{names[i], names[j], m.CellString(i, j)})
			}
		}
		w.Flush()
		return w.Error()
	}
	writeMatrixText(out, m)
	return nil
}

func writeMatrixText(out io.Writer, m *netpol.Matrix) {
	fmt.Fprintf(out, "plugin: %s; %d pod groups\n", m.Plugin, len(m.Classes))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tPORTS")
	names := groupNames(m)
	for i := range m.Classes {
		for j := range m.Classes {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", names[i], names[j], m.CellString(i, j))
		}
	}
	tw.Flush()
}

func groupNames(m *netpol.Matrix) []string {
	names := make([]string, len(m.Classes))
	for i, c := range m.Classes {
		names[i] = groupName(c)
	}
	return names
}
