package graph

import (
	"context"

	"github.com/akssec/akssec/internal/admission"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/workloadid"
)

// Admitter prepares admission as the cluster of e runs it: with the
// mutating webhooks AKS installs (the workload identity webhook, when the
// cluster enables it) applied before Pod Security and Gatekeeper. Layers do
// not import each other, so they are joined here.
func Admitter(ctx context.Context, e *env.Environment) (*admission.Admitter, error) {
	var opts admission.Options
	if hook := workloadid.AdmissionHook(e); hook != nil {
		opts.Mutators = append(opts.Mutators, admission.Mutator{Name: "azure-wi-webhook-mutating-webhook-configuration", Mutate: hook})
	}
	return admission.NewWithOptions(ctx, e, opts)
}
