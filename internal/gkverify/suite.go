// Package gkverify runs Gatekeeper test Suites (the files `gator verify`
// reads: kind Suite, apiVersion test.gatekeeper.sh/v1alpha1) on akssec's
// Gatekeeper engine, internal/gatekeeper, and decides every case as gator
// v3.23.1 does: the same suite discovery and paths, the same constraint
// validation (the template's openAPIV3Schema with Gatekeeper's match schema,
// defaults applied), the same review (an object as the gator enforcement
// point sees it, or the request of an AdmissionReview), the same assertion
// rules and test filter. Suites written for gator run unchanged.
//
// What akssec does not do it says: a test with an expansion (an
// ExpansionTemplate) fails with ErrExpansionSupported instead of being
// guessed.
package gkverify

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Suite is a Suite file (gator pkg/gator/verify/suite.go).
type Suite struct {
	metav1.ObjectMeta

	// Tests are the template and constraint pairs with their cases.
	Tests []Test `json:"tests"`
	// Skip skips the whole Suite.
	Skip bool `json:"skip"`

	// AbsolutePath is the Suite's path in the file system it was read from;
	// the paths inside the Suite are relative to its directory.
	AbsolutePath string `json:"-"`
	// InputPath is the path as the user gave it (what the output shows).
	InputPath string `json:"-"`
}

// Test is a ConstraintTemplate and a Constraint, and the cases run on them.
type Test struct {
	Name string `json:"name"`
	// Template and Constraint are file paths relative to the Suite.
	Template   string `json:"template"`
	Constraint string `json:"constraint"`
	// Expansion is an ExpansionTemplate file; not supported by akssec.
	Expansion string  `json:"expansion"`
	Cases     []*Case `json:"cases,omitempty"`
	// Invalid says the Constraint must fail the template's schema.
	Invalid bool `json:"invalid"`
	Skip    bool `json:"skip"`
}

// Case reviews one object, with optional data.inventory objects.
type Case struct {
	Name string `json:"name"`
	// Object is a file holding exactly one object, which may be an
	// AdmissionReview (admission.k8s.io).
	Object string `json:"object"`
	// Inventory files hold the objects of data.inventory.
	Inventory []string `json:"inventory"`
	// Assertions must all hold; a case must have at least one.
	Assertions []Assertion `json:"assertions"`
	Skip       bool        `json:"skip"`
}

// Assertion says how many results, or whether any, match Message.
type Assertion struct {
	// Violations is "yes" (at least one; the default), "no" (none) or an
	// exact count.
	Violations *intstr.IntOrString `json:"violations,omitempty"`
	// Message is a regular expression (Go syntax, unanchored,
	// case-sensitive) each result's message is matched against; unset
	// matches every result.
	Message *string `json:"message,omitempty"`
}
