// Package gkdiff is a differential test: the same ConstraintTemplates,
// constraints and objects go through akssec's internal/gatekeeper engine and
// through the real Gatekeeper constraint framework (frameworks/constraint's
// client with the Rego driver and Gatekeeper's admission.k8s.gatekeeper.sh
// target), and the violations must be the same.
//
// The module is separate from akssec's so that akssec does not depend on
// Gatekeeper, controller-runtime and their dependencies.
package gkdiff
