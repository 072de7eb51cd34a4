package gkdiff

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/open-policy-agent/frameworks/constraint/pkg/apis"
	apiconstraints "github.com/open-policy-agent/frameworks/constraint/pkg/apis/constraints"
	"github.com/open-policy-agent/frameworks/constraint/pkg/client"
	"github.com/open-policy-agent/frameworks/constraint/pkg/client/drivers/rego"
	"github.com/open-policy-agent/frameworks/constraint/pkg/client/reviews"
	"github.com/open-policy-agent/frameworks/constraint/pkg/core/templates"
	"github.com/open-policy-agent/gatekeeper/v3/pkg/mutation/types"
	"github.com/open-policy-agent/gatekeeper/v3/pkg/target"
	"github.com/open-policy-agent/gatekeeper/v3/pkg/util"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// oracle is the real Gatekeeper: the frameworks constraint client with the
// Rego driver and Gatekeeper's K8sValidationTarget, reviewing as the
// validating webhook does (pkg/webhook/policy.go: an AugmentedReview of the
// AdmissionRequest with the Namespace fetched from the cluster, source
// Original, at the validation.gatekeeper.sh enforcement point, with the
// Namespace passed as a review option for input.review.namespaceObject).
type oracle struct {
	c *client.Client
	// rejected are the templates and constraints the client refused, by
	// "Kind/name", with the error.
	rejected map[string]string
}

var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

// validateConstraint is what Gatekeeper's validating webhook checks
// beyond the client (pkg/webhook/policy.go validateConstraint): a known
// enforcementAction (--disable-enforcementaction-validation is false by
// default).
func validateConstraint(c *client.Client, u *unstructured.Unstructured) error {
	if err := c.ValidateConstraint(u); err != nil {
		return err
	}
	ea, found, err := unstructured.NestedString(u.Object, "spec", "enforcementAction")
	if err != nil {
		return err
	}
	if found && ea != "" {
		return util.ValidateEnforcementAction(util.EnforcementAction(ea), u.Object)
	}
	return nil
}

type versionless interface {
	ToVersionless() (*templates.ConstraintTemplate, error)
}

// toTemplate converts a templates.gatekeeper.sh object of any version to
// the framework's internal ConstraintTemplate, as gator's reader does.
func toTemplate(u *unstructured.Unstructured) (*templates.ConstraintTemplate, error) {
	obj, err := scheme.New(u.GroupVersionKind())
	if err != nil {
		return nil, err
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return nil, err
	}
	v, ok := obj.(versionless)
	if !ok {
		return nil, fmt.Errorf("%T is not a ConstraintTemplate", obj)
	}
	return v.ToVersionless()
}

func newOracle(ctx context.Context, tmpls, constraints, data []*unstructured.Unstructured) (*oracle, error) {
	driver, err := rego.New()
	if err != nil {
		return nil, err
	}
	c, err := client.NewClient(
		client.Targets(&target.K8sValidationTarget{}),
		client.Driver(driver),
		client.EnforcementPoints(apiconstraints.WebhookEnforcementPoint),
	)
	if err != nil {
		return nil, err
	}
	o := &oracle{c: c, rejected: map[string]string{}}
	for _, u := range tmpls {
		t, err := toTemplate(u)
		if err == nil {
			_, err = c.AddTemplate(ctx, t)
		}
		if err != nil {
			o.rejected["ConstraintTemplate/"+u.GetName()] = err.Error()
		}
	}
	for _, u := range constraints {
		if err := validateConstraint(c, u); err != nil {
			o.rejected[u.GetKind()+"/"+u.GetName()] = err.Error()
			continue
		}
		if _, err := c.AddConstraint(ctx, u.DeepCopy()); err != nil {
			o.rejected[u.GetKind()+"/"+u.GetName()] = err.Error()
		}
	}
	for _, u := range data {
		if _, err := c.AddData(ctx, u.DeepCopy()); err != nil {
			return nil, fmt.Errorf("adding data %s/%s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return o, nil
}

// request is one object under review, given to both engines.
type request struct {
	Group, Version, Kind, Resource string
	Namespace, Name                string
	Object                         map[string]any
	NamespaceObject                *corev1.Namespace
	Operation                      string
	// Generated reviews the object as a pod from Gatekeeper's expansion
	// (source Generated) rather than as the object sent (Original).
	Generated bool
}

// violation is what both engines are compared on.
type violation struct {
	Constraint string // Kind/name
	Msg        string
	Action     string
	Details    any
}

func (o *oracle) review(ctx context.Context, r *request) ([]violation, error) {
	raw, err := json.Marshal(r.Object)
	if err != nil {
		return nil, err
	}
	op := admissionv1.Operation(r.Operation)
	if op == "" {
		op = admissionv1.Create
	}
	var review any
	if r.Generated {
		review = &target.AugmentedUnstructured{Object: unstructured.Unstructured{Object: r.Object}, Namespace: r.NamespaceObject, Operation: op, Source: types.SourceTypeGenerated}
	} else {
		review = &target.AugmentedReview{
			AdmissionRequest: &admissionv1.AdmissionRequest{
				Kind:            metav1.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind},
				Resource:        metav1.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource},
				RequestKind:     &metav1.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: r.Kind},
				RequestResource: &metav1.GroupVersionResource{Group: r.Group, Version: r.Version, Resource: r.Resource},
				Name:            r.Name,
				Namespace:       r.Namespace,
				Operation:       op,
				UserInfo:        authenticationv1.UserInfo{},
				Object:          runtime.RawExtension{Raw: raw},
			},
			Namespace:   r.NamespaceObject,
			Source:      types.SourceTypeOriginal,
			IsAdmission: true,
		}
	}
	opts := []reviews.ReviewOpt{reviews.EnforcementPoint(apiconstraints.WebhookEnforcementPoint)}
	if r.NamespaceObject != nil {
		// gatekeeper pkg/util.NamespaceReviewOpt
		b, err := json.Marshal(r.NamespaceObject)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		opts = append(opts, reviews.Namespace(m))
	}
	resp, err := o.c.Review(ctx, review, opts...)
	if err != nil {
		return nil, err
	}
	var out []violation
	for _, res := range resp.Results() {
		action := res.EnforcementAction
		v := violation{Constraint: res.Constraint.GetKind() + "/" + res.Constraint.GetName(), Msg: res.Msg, Action: action}
		if d, ok := res.Metadata["details"]; ok {
			v.Details = d
		}
		if apiconstraints.IsEnforcementActionScoped(action) {
			for _, a := range res.ScopedEnforcementActions {
				out = append(out, violation{Constraint: v.Constraint, Msg: v.Msg, Action: a, Details: v.Details})
			}
			continue
		}
		out = append(out, v)
	}
	return out, nil
}
