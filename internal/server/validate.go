package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/admission"
)

// parseAdmissionReview accepts admission.k8s.io v1 and v1beta1 (the same
// shape) and requires a request with a UID.
func parseAdmissionReview(body []byte) (any, error) {
	var r admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding the AdmissionReview: %v", err)
	}
	if r.Kind != "AdmissionReview" || (r.APIVersion != "admission.k8s.io/v1" && r.APIVersion != "admission.k8s.io/v1beta1") {
		return nil, fmt.Errorf("expected an admission.k8s.io/v1 AdmissionReview, got %s %s", r.APIVersion, r.Kind)
	}
	if r.Request == nil {
		return nil, errors.New("the AdmissionReview has no request")
	}
	if r.Request.UID == "" {
		return nil, errors.New("the AdmissionReview request has no uid")
	}
	return &r, nil
}

func admissionAnswer(req *admissionv1.AdmissionReview, resp *admissionv1.AdmissionResponse) *admissionv1.AdmissionReview {
	resp.UID = req.Request.UID
	return &admissionv1.AdmissionReview{TypeMeta: req.TypeMeta, Response: resp}
}

func (s *Server) validate() decision {
	return decision{
		parse: parseAdmissionReview,
		decide: func(ctx context.Context, e *Engines, rev any) (any, bool, error) {
			req := rev.(*admissionv1.AdmissionReview)
			resp, err := s.admit(ctx, e, req.Request)
			if err != nil {
				return nil, false, err
			}
			return admissionAnswer(req, resp), resp.Allowed, nil
		},
		fail: func(rev any, err error) any {
			return admissionAnswer(rev.(*admissionv1.AdmissionReview), &admissionv1.AdmissionResponse{
				Allowed: false,
				Result:  &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Reason: metav1.StatusReasonInternalError, Message: "akssec: " + err.Error()},
			})
		},
	}
}

// admit decides a pod as the cluster's admission webhooks would: the
// Gatekeeper constraints of the snapshot and those the Azure Policy add-on
// makes from its assignments, and PSA when the server was asked to. Other
// kinds, and operations other than CREATE and UPDATE, are allowed: the
// Azure built-ins and PSA enforce on pods.
func (s *Server) admit(ctx context.Context, e *Engines, r *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	if r.Kind.Group != "" || r.Kind.Kind != "Pod" || r.SubResource != "" ||
		(r.Operation != admissionv1.Create && r.Operation != admissionv1.Update) {
		return allow, nil
	}
	var pod corev1.Pod
	if err := json.Unmarshal(r.Object.Raw, &pod); err != nil {
		return &admissionv1.AdmissionResponse{Result: &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusBadRequest,
			Reason: metav1.StatusReasonBadRequest, Message: "decoding the pod: " + err.Error()}}, nil
	}
	if pod.Namespace == "" {
		pod.Namespace = r.Namespace
	}
	if pod.Name == "" {
		pod.Name = r.Name
	}
	v, err := e.Admitter.AdmitPod(ctx, &pod)
	if err != nil {
		return nil, err
	}
	psaWarnings := map[string]bool{}
	if v.PodSecurity != nil && !s.opts.PodSecurity {
		for _, w := range v.PodSecurity.Warnings {
			psaWarnings[w] = true
		}
	}
	resp := &admissionv1.AdmissionResponse{Allowed: true}
	for _, w := range v.Warnings {
		if !psaWarnings[w] {
			resp.Warnings = append(resp.Warnings, w)
		}
	}
	var msgs []string
	psaDenied := false
	for _, d := range v.Denials {
		if d.Action != "" && d.Action != "deny" {
			continue
		}
		switch d.Layer {
		case admission.LayerPodSecurity:
			psaDenied = s.opts.PodSecurity
		case admission.LayerGatekeeper, admission.LayerAzurePolicy:
			msgs = append(msgs, denialMessage(d))
		}
	}
	switch {
	case psaDenied:
		// The API server's own PSA message, as a dry-run comparison shows it.
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: v.PodSecurity.Message}
	case len(msgs) > 0:
		resp.Allowed = false
		resp.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusForbidden, Reason: metav1.StatusReasonForbidden, Message: strings.Join(msgs, "\n")}
	}
	return resp, nil
}

// denialMessage is Gatekeeper's "[constraint] message", followed by the
// Azure Policy assignment's display name and the fix.
func denialMessage(d admission.Denial) string {
	var b strings.Builder
	if strings.HasPrefix(d.Message, "[") {
		b.WriteString(d.Message)
	} else {
		fmt.Fprintf(&b, "[%s] %s", d.Constraint, d.Message)
	}
	switch {
	case d.Layer == admission.LayerAzurePolicy && d.Assignment != nil:
		fmt.Fprintf(&b, " (Azure Policy %q)", d.Assignment.DisplayName)
	case d.Layer == admission.LayerAzurePolicy && d.Policy != "":
		fmt.Fprintf(&b, " (Azure Policy %q)", d.Policy)
	}
	if d.Fix != "" {
		fmt.Fprintf(&b, " fix: %s", d.Fix)
	}
	return b.String()
}
