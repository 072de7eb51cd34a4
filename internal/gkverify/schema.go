package gkverify

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	apivalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// constraintsGroup is the API group of every constraint.
const constraintsGroup = "constraints.gatekeeper.sh"

//go:embed match_crd.yaml
var matchCRD []byte

var matchSchema = sync.OnceValues(func() (*apiextensions.JSONSchemaProps, error) {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(matchCRD, crd); err != nil {
		return nil, fmt.Errorf("match schema: %w", err)
	}
	if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Schema == nil || crd.Spec.Versions[0].Schema.OpenAPIV3Schema == nil {
		return nil, fmt.Errorf("match schema: no openAPIV3Schema")
	}
	em := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["embeddedMatch"]
	out := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(&em, out, nil); err != nil {
		return nil, fmt.Errorf("match schema: %w", err)
	}
	return out, nil
})

// constraintSchema is the schema of a template's constraint CRD, as the
// frameworks client makes it (crds.CreateSchema): spec.parameters from the
// template, spec.match from Gatekeeper's target, the enforcement action
// fields, metadata.name at most 63 characters, status kept.
type constraintSchema struct {
	kind       string
	props      *apiextensions.JSONSchemaProps
	structural *structuralschema.Structural
}

// newConstraintSchema builds the schema from a template object. Templates
// of v1beta1 and v1alpha1 default legacySchema to true, which lets
// parameters the schema does not describe through (x-kubernetes-preserve-
// unknown-fields at every object level), as the frameworks conversion does.
func newConstraintSchema(tmpl *unstructured.Unstructured) (*constraintSchema, error) {
	kind, _, _ := unstructured.NestedString(tmpl.Object, "spec", "crd", "spec", "names", "kind")
	legacy := tmpl.GroupVersionKind().Version != "v1"
	if l, found, err := unstructured.NestedBool(tmpl.Object, "spec", "crd", "spec", "validation", "legacySchema"); err == nil && found {
		legacy = l
	}
	spec := map[string]apiextensions.JSONSchemaProps{}
	raw, found, _ := unstructured.NestedFieldNoCopy(tmpl.Object, "spec", "crd", "spec", "validation", "openAPIV3Schema")
	if found || legacy {
		v1 := &apiextensionsv1.JSONSchemaProps{}
		if found && raw != nil {
			b, err := json.Marshal(raw)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(b, v1); err != nil {
				return nil, fmt.Errorf("%w: openAPIV3Schema: %w", ErrAddingTemplate, err)
			}
		}
		if legacy {
			preserveUnknown(v1)
		}
		params := apiextensions.JSONSchemaProps{}
		if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v1, &params, nil); err != nil {
			return nil, fmt.Errorf("%w: openAPIV3Schema: %w", ErrAddingTemplate, err)
		}
		spec["parameters"] = params
	}
	m, err := matchSchema()
	if err != nil {
		return nil, err
	}
	spec["match"] = *m.DeepCopy()
	deny := apiextensions.JSON("deny")
	spec["enforcementAction"] = apiextensions.JSONSchemaProps{Type: "string", Default: &deny}
	spec["scopedEnforcementActions"] = apiextensions.JSONSchemaProps{
		Type: "array",
		Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &apiextensions.JSONSchemaProps{
			Type: "object",
			Properties: map[string]apiextensions.JSONSchemaProps{
				"action": {Type: "string"},
				"enforcementPoints": {Type: "array", Items: &apiextensions.JSONSchemaPropsOrArray{Schema: &apiextensions.JSONSchemaProps{
					Type:       "object",
					Properties: map[string]apiextensions.JSONSchemaProps{"name": {Type: "string"}},
				}}},
			},
		}},
	}
	props := &apiextensions.JSONSchemaProps{
		Type: "object",
		Properties: map[string]apiextensions.JSONSchemaProps{
			"metadata": {Type: "object", Properties: map[string]apiextensions.JSONSchemaProps{"name": {Type: "string", MaxLength: ptr.To[int64](63)}}},
			"spec":     {Type: "object", Properties: spec},
			"status":   {XPreserveUnknownFields: ptr.To(true)},
		},
	}
	st, err := structuralschema.NewStructural(props)
	if err != nil {
		return nil, fmt.Errorf("%w: the constraint schema is not structural: %w", ErrAddingTemplate, err)
	}
	return &constraintSchema{kind: kind, props: props, structural: st}, nil
}

// preserveUnknown is frameworks' schema.AddPreserveUnknownFields.
func preserveUnknown(s *apiextensionsv1.JSONSchemaProps) {
	switch s.Type {
	case "", "object":
		s.XPreserveUnknownFields = ptr.To(true)
	case "array":
		if s.Items == nil || (s.Items.Schema == nil && s.Items.JSONSchemas == nil) {
			s.Items = &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{XPreserveUnknownFields: ptr.To(true)}}
		}
	}
	for k, v := range s.Properties {
		preserveUnknown(&v)
		s.Properties[k] = v
	}
	if s.Items != nil && s.Items.Schema != nil {
		preserveUnknown(s.Items.Schema)
	}
	if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
		preserveUnknown(s.AdditionalProperties.Schema)
	}
}

// admit validates a constraint as the frameworks client's AddConstraint
// does and returns it with the schema's defaults applied. A constraint that
// breaks the schema wraps ErrSchema (what `invalid: true` expects); other
// rejections wrap ErrInvalidConstraint or ErrMissingTemplate.
func (cs *constraintSchema) admit(c *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if c.GetName() == "" {
		return nil, fmt.Errorf("%w: missing metadata.name", ErrInvalidConstraint)
	}
	gvk := c.GroupVersionKind()
	if gvk.Kind == "" {
		return nil, fmt.Errorf("%w: missing kind", ErrInvalidConstraint)
	}
	if gvk.Group != constraintsGroup {
		return nil, fmt.Errorf("%w: wrong API Group for Constraint %q, got %q but need %q", ErrInvalidConstraint, c.GetName(), gvk.Group, constraintsGroup)
	}
	if !strings.EqualFold(gvk.Kind, cs.kind) {
		return nil, fmt.Errorf("%w: template %q not found", ErrMissingTemplate, strings.ToLower(gvk.Kind))
	}
	// The target's own checks: the selectors must be valid label selectors.
	for _, f := range []string{"labelSelector", "namespaceSelector"} {
		sel, found, err := unstructured.NestedMap(c.Object, "spec", "match", f)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidConstraint, err)
		}
		if !found || sel == nil {
			continue
		}
		b, _ := json.Marshal(sel)
		ls := &metav1.LabelSelector{}
		if err := json.Unmarshal(b, ls); err != nil {
			return nil, fmt.Errorf("%w: Could not convert JSON to LabelSelector: %v", ErrInvalidConstraint, err)
		}
		if errs := metav1validation.ValidateLabelSelector(ls, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("spec", "labelSelector")); len(errs) > 0 {
			return nil, fmt.Errorf("%w: %v", ErrInvalidConstraint, errs.ToAggregate())
		}
	}
	// crds.ValidateCR.
	if errs := apivalidation.IsDNS1123Subdomain(c.GetName()); len(errs) != 0 {
		return nil, fmt.Errorf("%w: invalid name: %q", ErrInvalidConstraint, strings.Join(errs, "\n"))
	}
	if gvk.Kind != cs.kind {
		return nil, fmt.Errorf("%w: wrong kind %q for constraint %q; want %q", ErrInvalidConstraint, c.GetName(), gvk.Kind, cs.kind)
	}
	if gvk.Version != "v1alpha1" && gvk.Version != "v1beta1" {
		return nil, fmt.Errorf("%w: unsupported version %q for Constraint %q; supported versions: %v", ErrInvalidConstraint, gvk.Version, c.GetName(), map[string]bool{"v1alpha1": true, "v1beta1": true})
	}
	validator, _, err := validation.NewSchemaValidator(cs.props)
	if err != nil {
		return nil, err
	}
	if errs := validation.ValidateCustomResource(field.NewPath(""), c, validator); len(errs) > 0 {
		return nil, fmt.Errorf("%w: %v", ErrSchema, errs.ToAggregate())
	}
	if unknown := pruning.PruneWithOptions(c.DeepCopy().Object, cs.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}); len(unknown) > 0 {
		return nil, fmt.Errorf("%w: unknown fields: %v", ErrInvalidConstraint, unknown)
	}
	out := c.DeepCopy()
	defaulting.Default(out.Object, cs.structural)
	return out, nil
}
