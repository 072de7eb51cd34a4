package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/akssec/akssec/internal/admission"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/graph"
	"github.com/akssec/akssec/internal/snapshot"
)

type admitParams struct {
	g     *globalOptions
	files []string
}

func newAdmitCommand(g *globalOptions) *cobra.Command {
	p := &admitParams{g: g}
	return &cobra.Command{
		Use:   "admit FILE...",
		Short: "Would these objects be admitted into the cluster? By which layer (PSA, Gatekeeper, Azure Policy), why, and the fix",
		Long: `admit decides each object of the manifests as the cluster of the snapshot (-e)
would: the ServiceAccount token mount, Pod Security Admission (enforce for pods,
warn and audit for workloads), then the Gatekeeper webhook with the cluster's
constraints and those the Azure Policy add-on makes from the policy assignments.
Workloads are also decided for the pods their controllers will create.

Exit status 1 when anything (an object or the pods of a workload) is denied.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput("text", "json"); err != nil {
				return err
			}
			p.files = args
			return p.run(cmd.Context())
		},
	}
}

func (p *admitParams) run(ctx context.Context) error {
	objs, err := snapshot.LoadManifests(p.files, snapshot.Options{})
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
	verdicts := make([]*admission.Verdict, 0, len(objs))
	denied := false
	for _, o := range objs {
		v, err := a.Admit(ctx, o)
		if err != nil {
			return err
		}
		verdicts = append(verdicts, v)
		denied = denied || !v.Allowed || (v.Pods != nil && !v.Pods.Allowed)
	}
	out := p.g.streams.Out
	if p.g.output == "json" {
		if err := writeJSON(out, verdicts); err != nil {
			return err
		}
	} else {
		for _, n := range a.Notes() {
			fmt.Fprintf(out, "note: %s\n", n)
		}
		for _, v := range verdicts {
			writeVerdict(out, v)
		}
	}
	if denied {
		return errDenied
	}
	return nil
}

// writeVerdict renders one object's answer for people.
func writeVerdict(w io.Writer, v *admission.Verdict) {
	ref := v.Kind + " " + v.Name
	if v.Namespace != "" {
		ref = v.Kind + " " + v.Namespace + "/" + v.Name
	}
	switch {
	case !v.Allowed:
		fmt.Fprintf(w, "%s (%s): DENIED\n", ref, v.Loc)
	case v.Pods != nil && !v.Pods.Allowed:
		fmt.Fprintf(w, "%s (%s): the %s is admitted, its pods are DENIED by %s\n", ref, v.Loc, v.Kind, deciders(v.Pods))
	default:
		fmt.Fprintf(w, "%s (%s): admitted\n", ref, v.Loc)
	}
	writeBody(w, v, "  ")
	if v.Pods != nil {
		state := "admitted"
		if !v.Pods.Allowed {
			state = "DENIED"
		}
		fmt.Fprintf(w, "  its pods (%s): %s\n", v.Pods.Name, state)
		writeBody(w, v.Pods, "    ")
	}
}

func writeBody(w io.Writer, v *admission.Verdict, in string) {
	if v.Message != "" {
		fmt.Fprintf(w, "%sError from server (Forbidden): %s\n", in, v.Message)
	}
	for _, d := range v.Denials {
		fmt.Fprintf(w, "%s- denied by %s\n", in, describeDenial(d))
		if d.Fix != "" {
			fmt.Fprintf(w, "%s  fix: %s\n", in, d.Fix)
		}
	}
	for _, s := range v.Warnings {
		fmt.Fprintf(w, "%sWarning: %s\n", in, s)
	}
	for _, d := range v.Audit {
		fmt.Fprintf(w, "%s- audit only (%s): %s\n", in, d.Action, describeDenial(d))
	}
	for _, n := range v.Notes {
		fmt.Fprintf(w, "%snote: %s\n", in, n)
	}
}

func describeDenial(d admission.Denial) string {
	var b strings.Builder
	switch d.Layer {
	case admission.LayerPodSecurity:
		mode := "enforce"
		if d.Action == "audit" {
			mode = "audit"
		}
		fmt.Fprintf(&b, "Pod Security Admission %s %q", mode, d.Policy)
	case admission.LayerAzurePolicy:
		fmt.Fprintf(&b, "Azure Policy assignment %q", d.Policy)
		if d.Assignment != nil {
			fmt.Fprintf(&b, " (effect %s", d.Assignment.Effect)
			if d.Assignment.DoNotEnforce {
				b.WriteString(", enforcementMode DoNotEnforce")
			}
			fmt.Fprintf(&b, ", constraint %s)", d.Constraint)
		}
	case admission.LayerGatekeeper:
		fmt.Fprintf(&b, "Gatekeeper constraint %s", d.Policy)
	default:
		b.WriteString(d.Policy)
	}
	if d.Container != "" {
		fmt.Fprintf(&b, ", container %q", d.Container)
	}
	if d.Field != "" {
		fmt.Fprintf(&b, ", %s", d.Field)
	}
	fmt.Fprintf(&b, ": %s", d.Message)
	return b.String()
}

func deciders(v *admission.Verdict) string {
	seen := map[string]bool{}
	var out []string
	for _, d := range v.Denials {
		var s string
		switch d.Layer {
		case admission.LayerPodSecurity:
			s = fmt.Sprintf("Pod Security Admission %q", d.Policy)
		case admission.LayerAzurePolicy:
			s = fmt.Sprintf("Azure Policy %q", d.Policy)
		default:
			s = d.Policy
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// withNamespacesOf is the Environment as kubectl apply leaves it for the
// objects' pods: the files' namespaces are created (or updated) first, so
// Pod Security decides with their labels.
func withNamespacesOf(e *env.Environment, objs []*snapshot.Object) *env.Environment {
	var namespaces []*snapshot.Object
	for _, o := range objs {
		if o.Group == "" && o.Kind == "Namespace" {
			namespaces = append(namespaces, o)
		}
	}
	return e.Apply(namespaces)
}
