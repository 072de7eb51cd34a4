package gatekeeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	admissioncel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
)

// The K8sNativeValidation engine: a template whose target has a `code`
// entry with engine K8sNativeValidation is decided by CEL, even when it
// also carries Rego. Gatekeeper registers its CEL driver before the Rego
// driver (main.go, --enable-k8s-native-validation defaults to true; gator
// verify likewise), and the frameworks client runs a template with the
// highest-priority driver it has code for (client.driverForTemplate).
//
// The evaluation is Gatekeeper's k8scel driver on the API server's
// ValidatingAdmissionPolicy machinery (k8s.io/apiserver validating.Validator):
// variables.anyObject and variables.params bound first, then the template's
// variables; the template's matchCondition entries as the policy's match
// conditions; validations with message and messageExpression; the failure
// policy (default Fail) turning evaluation errors into violations whose
// message is the error.

// CELEngine is the code engine name of Gatekeeper's CEL driver.
const CELEngine = "K8sNativeValidation"

const (
	celReservedPrefix = "gatekeeper_internal_"
	celParamsName     = "params"
	celObjectName     = "anyObject"
)

// celSource is the source of a K8sNativeValidation code entry, with the
// JSON names Gatekeeper reads (note the singular matchCondition).
type celSource struct {
	Validations []struct {
		Expression        string `json:"expression,omitempty"`
		Message           string `json:"message,omitempty"`
		MessageExpression string `json:"messageExpression,omitempty"`
	} `json:"validations,omitempty"`
	FailurePolicy   *string `json:"failurePolicy,omitempty"`
	MatchConditions []struct {
		Name       string `json:"name"`
		Expression string `json:"expression"`
	} `json:"matchCondition,omitempty"`
	Variables []struct {
		Name       string `json:"name,omitempty"`
		Expression string `json:"expression,omitempty"`
	} `json:"variables,omitempty"`
	GenerateVAP *bool `json:"generateVAP,omitempty"`
}

// celProgram is a compiled K8sNativeValidation source; safe for
// concurrent use.
type celProgram struct {
	validator validating.Validator
}

// compileCEL builds the validator as Gatekeeper's k8scel driver does in
// AddTemplate. Expression compile errors are not errors here: as in
// Gatekeeper they surface at evaluation, as a violation under the Fail
// policy.
func compileCEL(src map[string]any, templateName string) (*celProgram, error) {
	var s celSource
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(src, &s); err != nil {
		return nil, fmt.Errorf("K8sNativeValidation source: %w", err)
	}
	for _, mc := range s.MatchConditions {
		if strings.HasPrefix(mc.Name, celReservedPrefix) {
			return nil, fmt.Errorf("invalid match condition: %s is not a valid match condition; cannot have %q as a prefix", mc.Name, celReservedPrefix)
		}
	}
	for _, v := range s.Variables {
		switch {
		case strings.HasPrefix(v.Name, celReservedPrefix):
			return nil, fmt.Errorf("invalid variable: %s is not a valid variable; cannot have %q as a prefix", v.Name, celReservedPrefix)
		case v.Name == celParamsName || v.Name == celObjectName:
			return nil, fmt.Errorf("invalid variable: %s an invalid variable name, %q is a reserved keyword", v.Name, v.Name)
		}
	}
	failurePolicy := admissionregistrationv1.Fail
	if s.FailurePolicy != nil {
		switch fp := admissionregistrationv1.FailurePolicyType(*s.FailurePolicy); fp {
		case admissionregistrationv1.Fail, admissionregistrationv1.Ignore:
			failurePolicy = fp
		default:
			return nil, fmt.Errorf("invalid failure policy: unrecognized failure policy: %s", *s.FailurePolicy)
		}
	}

	vars := []admissioncel.NamedExpressionAccessor{
		&validating.Variable{Name: celObjectName, Expression: `has(request.operation) && request.operation == "DELETE" && object == null ? oldObject : object`},
		&validating.Variable{Name: celParamsName, Expression: "!has(params.spec) ? null : !has(params.spec.parameters) ? null: params.spec.parameters"},
	}
	for _, v := range s.Variables {
		vars = append(vars, &validating.Variable{Name: v.Name, Expression: v.Expression})
	}
	compiler, err := admissioncel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return nil, err
	}
	// Only the bound variables may read the constraint (params); the
	// template's expressions see variables.params.
	compiler.CompileAndStoreVariables(vars, admissioncel.OptionalVariableDeclarations{HasParams: true}, environment.StoredExpressions)
	plain := admissioncel.OptionalVariableDeclarations{}

	matchAccessors := make([]admissioncel.ExpressionAccessor, len(s.MatchConditions))
	for i, mc := range s.MatchConditions {
		matchAccessors[i] = &matchconditions.MatchCondition{Name: mc.Name, Expression: mc.Expression}
	}
	matcher := matchconditions.NewMatcher(compiler.CompileCondition(matchAccessors, plain, environment.StoredExpressions), &failurePolicy, "validatingadmissionpolicy", "vap-matcher", templateName)

	validations := make([]admissioncel.ExpressionAccessor, len(s.Validations))
	messages := make([]admissioncel.ExpressionAccessor, len(s.Validations))
	for i, v := range s.Validations {
		validations[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	validator := validating.NewValidator(
		compiler.CompileCondition(validations, plain, environment.StoredExpressions),
		matcher,
		compiler.CompileCondition(nil, plain, environment.StoredExpressions),
		compiler.CompileCondition(messages, plain, environment.StoredExpressions),
		&failurePolicy,
		nil,
	)
	return &celProgram{validator: validator}, nil
}

// eval runs the validator for one constraint, as the k8scel driver's Query
// does: the request (celAttributes), the constraint as the policy's params,
// the namespace object; every Deny decision is a violation with the
// decision's message.
func (p *celProgram) eval(ctx context.Context, c *Constraint, obj *Object, attrs *admission.VersionedAttributes) []Result {
	res := p.validator.Validate(ctx, attrs.GetResource(), attrs, c.Object, obj.NamespaceObject, celconfig.PerCallLimit, nil)
	var out []Result
	for _, d := range res.Decisions {
		if d.Action == validating.ActionDeny {
			out = append(out, Result{Constraint: c, Msg: d.Message})
		}
	}
	// In message order, as Review promises (and the frameworks client's
	// Results() sorts).
	sort.SliceStable(out, func(i, j int) bool { return out[i].Msg < out[j].Msg })
	return out
}

// celAttributes builds the admission attributes the driver makes from an
// AdmissionRequest: the object decoded as unstructured JSON (integers as
// int64, other numbers as float64), no old object, the user info.
func celAttributes(obj *Object) (*admission.VersionedAttributes, error) {
	if obj.Request != nil {
		return celRequestAttributes(obj.Request)
	}
	op := admission.Operation(obj.Operation)
	if op == "" {
		op = admission.Create
	}
	gvk := schema.GroupVersionKind{Group: obj.Group, Version: obj.Version, Kind: obj.Kind}
	var object runtime.Object
	if obj.Object != nil && op != admission.Delete {
		m := obj.Object
		if m["kind"] == nil || m["apiVersion"] == nil {
			// The API server always sends apiVersion and kind.
			m = make(map[string]any, len(obj.Object)+2)
			for k, v := range obj.Object {
				m[k] = v
			}
			m["apiVersion"], m["kind"] = gvk.GroupVersion().String(), gvk.Kind
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("could not unmarshal object: %w", err)
		}
		object = u
	}
	userInfo := &user.DefaultInfo{}
	if obj.UserInfo != nil {
		userInfo.Name, _ = obj.UserInfo["username"].(string)
		userInfo.UID, _ = obj.UserInfo["uid"].(string)
		userInfo.Groups = stringSlice(obj.UserInfo["groups"])
	}
	attr := admission.NewAttributesRecord(object, nil, gvk, obj.Namespace, obj.Name, schema.GroupVersionResource{Group: obj.Group, Version: obj.Version, Resource: obj.Resource}, "", op, nil, false, userInfo)
	return &admission.VersionedAttributes{
		Attributes:         attr,
		VersionedKind:      gvk,
		VersionedObject:    admission.NewLazyObject(object),
		VersionedOldObject: admission.NewLazyObject(nil),
	}, nil
}

var errNoCEL = errors.New("no K8sNativeValidation code")

// celCode returns the source of the target's K8sNativeValidation code
// entry, or errNoCEL.
func celCode(tgt map[string]any) (map[string]any, error) {
	code, _ := tgt["code"].([]any)
	for _, c := range code {
		cm, _ := c.(map[string]any)
		if eng, _ := cm["engine"].(string); eng != CELEngine {
			continue
		}
		src, ok := cm["source"].(map[string]any)
		if !ok {
			return nil, errors.New("K8sNativeValidation source is not an object")
		}
		return src, nil
	}
	return nil, errNoCEL
}

// celRequestAttributes are the attributes of an AdmissionRequest as the
// k8scel driver's RequestWrapper gives them: object unset on DELETE, the
// operation mapped (anything else is ""), dryRun, options, user info.
func celRequestAttributes(req *admissionv1.AdmissionRequest) (*admission.VersionedAttributes, error) {
	decode := func(raw []byte, what string) (runtime.Object, error) {
		if len(raw) == 0 {
			return nil, nil
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("could not unmarshal %s: %w", what, err)
		}
		return u, nil
	}
	if req.Operation == admissionv1.Delete && req.OldObject.Raw == nil {
		return nil, errOldObjectIsNil
	}
	var object runtime.Object
	if req.Operation != admissionv1.Delete {
		var err error
		if object, err = decode(req.Object.Raw, "object"); err != nil {
			return nil, err
		}
	}
	oldObject, err := decode(req.OldObject.Raw, "old object")
	if err != nil {
		return nil, err
	}
	options, err := decode(req.Options.Raw, "options")
	if err != nil {
		return nil, err
	}
	ops := map[admissionv1.Operation]admission.Operation{admissionv1.Create: admission.Create, admissionv1.Update: admission.Update, admissionv1.Delete: admission.Delete, admissionv1.Connect: admission.Connect}
	extra := map[string][]string{}
	for k, v := range req.UserInfo.Extra {
		extra[k] = append([]string(nil), v...)
	}
	userInfo := &user.DefaultInfo{Name: req.UserInfo.Username, UID: req.UserInfo.UID, Groups: req.UserInfo.Groups, Extra: extra}
	gvk := schema.GroupVersionKind{Group: req.Kind.Group, Version: req.Kind.Version, Kind: req.Kind.Kind}
	gvr := schema.GroupVersionResource{Group: req.Resource.Group, Version: req.Resource.Version, Resource: req.Resource.Resource}
	attr := admission.NewAttributesRecord(object, oldObject, gvk, req.Namespace, req.Name, gvr, req.SubResource, ops[req.Operation], options, req.DryRun != nil && *req.DryRun, userInfo)
	return &admission.VersionedAttributes{
		Attributes:         attr,
		VersionedKind:      gvk,
		VersionedObject:    admission.NewLazyObject(object),
		VersionedOldObject: admission.NewLazyObject(oldObject),
	}, nil
}
