// Package v1 has the field types of templates.gatekeeper.sh/v1
// ConstraintTemplates (frameworks pkg/apis/templates/v1), named as there,
// so that decoding a template file fails on the same fields with the same
// words as gator's.
package v1

import (
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConstraintTemplate is a ConstraintTemplate (status left out).
type ConstraintTemplate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ConstraintTemplateSpec `json:"spec,omitempty"`
}

// ConstraintTemplateSpec is the template's spec.
type ConstraintTemplateSpec struct {
	CRD     CRD      `json:"crd,omitempty"`
	Targets []Target `json:"targets,omitempty"`
}

// CRD is spec.crd.
type CRD struct {
	Spec CRDSpec `json:"spec,omitempty"`
}

// CRDSpec is spec.crd.spec.
type CRDSpec struct {
	Names      Names       `json:"names,omitempty"`
	Validation *Validation `json:"validation,omitempty"`
}

// Names names the constraint kind.
type Names struct {
	Kind       string   `json:"kind,omitempty"`
	ShortNames []string `json:"shortNames,omitempty"`
}

// Validation is the parameters' schema.
type Validation struct {
	OpenAPIV3Schema *apiextensionsv1.JSONSchemaProps `json:"openAPIV3Schema,omitempty"`
	LegacySchema    *bool                            `json:"legacySchema,omitempty"`
}

// Target is one target's code.
type Target struct {
	Target     string                      `json:"target,omitempty"`
	Rego       string                      `json:"rego,omitempty"`
	Libs       []string                    `json:"libs,omitempty"`
	Code       []Code                      `json:"code,omitempty"`
	Operations []admissionv1.OperationType `json:"operations,omitempty"`
}

// Code is one engine's source.
type Code struct {
	Engine string `json:"engine"`
	Source any    `json:"source"`
}
