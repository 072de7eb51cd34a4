package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/admission"
	"github.com/akssec/akssec/internal/graph"
	"github.com/akssec/akssec/internal/snapshot"
)

type explainDeniedParams struct {
	g    *globalOptions
	file string
}

func newExplainDeniedCommand(g *globalOptions) *cobra.Command {
	p := &explainDeniedParams{g: g}
	return &cobra.Command{
		Use:   "denied FILE",
		Short: "Explain why an object is (or would be) denied: PSA labels, the constraint, its template, the Azure assignment and effect, the image regex",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			p.file = args[0]
			return p.run(cmd.Context())
		},
	}
}

func (p *explainDeniedParams) run(ctx context.Context) error {
	objs, err := snapshot.LoadManifests([]string{p.file}, snapshot.Options{})
	if err != nil {
		return err
	}
	e, err := p.g.loadEnv(ctx)
	if err != nil {
		return err
	}
	a, err := graph.Admitter(ctx, withNamespacesOf(e, objs))
	if err != nil {
		return err
	}
	var xs []*admission.Explanation
	denied := false
	for _, o := range objs {
		x, err := a.Explain(ctx, o)
		if err != nil {
			return err
		}
		xs = append(xs, x)
		denied = denied || !x.Verdict.Allowed || (x.Verdict.Pods != nil && !x.Verdict.Pods.Allowed)
	}
	out := p.g.streams.Out
	if p.g.output == "json" {
		if err := writeJSON(out, xs); err != nil {
			return err
		}
	} else {
		for i, x := range xs {
			if i > 0 {
				fmt.Fprintln(out)
			}
			writeExplanation(out, x)
		}
	}
	if denied {
		return errDenied
	}
	return nil
}

func writeExplanation(w io.Writer, x *admission.Explanation) {
	v := x.Verdict
	writeVerdict(w, v)
	step := 1
	if x.Namespace.Name != "" {
		fmt.Fprintf(w, "\n%d. Namespace %s: Pod Security Admission labels\n", step, x.Namespace.Name)
		step++
		if !x.Namespace.Known {
			fmt.Fprintln(w, "   the namespace is not in the snapshot; the cluster defaults apply")
		}
		keys := make([]string, 0, len(x.Namespace.Labels))
		for k := range x.Namespace.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			fmt.Fprintln(w, "   no pod-security.kubernetes.io labels")
		}
		for _, k := range keys {
			fmt.Fprintf(w, "   %s=%s\n", k, x.Namespace.Labels[k])
		}
		fmt.Fprintf(w, "   effective: enforce %s, audit %s, warn %s (enforce applies to pods; workloads get warn and audit)\n", x.Namespace.Enforce, x.Namespace.Audit, x.Namespace.Warn)
		for _, e := range x.Namespace.Errors {
			fmt.Fprintf(w, "   label error: %s\n", e)
		}
	}
	for _, c := range x.Constraints {
		fmt.Fprintf(w, "\n%d. Constraint %s/%s (enforcementAction %s, %s)\n", step, c.Kind, c.Name, c.Action, c.Loc)
		step++
		title := ""
		if c.TemplateTitle != "" {
			title = ": " + c.TemplateTitle
		}
		fmt.Fprintf(w, "   template: ConstraintTemplate %s%s\n", c.Template, title)
		if c.Assignment != nil {
			mode := ""
			if c.Assignment.DoNotEnforce {
				mode = ", enforcementMode DoNotEnforce (denials become audit)"
			}
			fmt.Fprintf(w, "   Azure Policy assignment %q (effect %s%s) at %s\n", c.Assignment.DisplayName, c.Assignment.Effect, mode, c.Assignment.Loc)
			fmt.Fprintf(w, "     id: %s\n", c.Assignment.ID)
			if c.Assignment.Definition != "" {
				fmt.Fprintf(w, "     definition: %s\n", c.Assignment.Definition)
			}
		}
		if ex, ok := c.Match["excludedNamespaces"].([]any); ok {
			var s []string
			for _, n := range ex {
				s = append(s, fmt.Sprint(n))
			}
			fmt.Fprintf(w, "   excludedNamespaces: %s\n", strings.Join(s, ", "))
		}
		if len(c.Parameters) > 0 {
			b, _ := json.Marshal(c.Parameters)
			fmt.Fprintf(w, "   parameters: %s\n", b)
		}
		for _, m := range c.Messages {
			fmt.Fprintf(w, "   violation: %s\n", m)
		}
	}
	if len(x.Images) > 0 {
		fmt.Fprintf(w, "\n%d. Allowed images (RE2, unanchored: the regex may match anywhere in the image reference)\n", step)
		last := ""
		for _, ic := range x.Images {
			if ic.Constraint != last {
				anch := "unanchored"
				if ic.Anchored {
					anch = "anchored"
				}
				fmt.Fprintf(w, "   %q: regex %q (%s)\n", ic.Policy, ic.Regex, anch)
				last = ic.Constraint
			}
			state := "NOT allowed"
			if ic.Allowed {
				state = fmt.Sprintf("allowed (matched %q)", ic.Matched)
			}
			extra := ""
			if ic.Injected {
				extra = ", injected by admission"
			}
			fmt.Fprintf(w, "   - %s %q (%s%s): %s\n", ic.Image, ic.Container, ic.List, extra, state)
		}
	}
}
