package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/akssec/akssec/internal/workloadid"
)

// mutateWorkloadIdentity is the Azure Workload Identity webhook's mutation
// (pods on CREATE): the env vars, projected token volume and mounts, and the
// proxy containers it injects, or the error it refuses the pod with. The
// decision is workloadid.Mutate's, with the cluster's configuration; the
// answer is a JSON patch that replaces the pod's spec with the mutated one.
func (s *Server) mutateWorkloadIdentity() decision {
	return decision{
		parse: parseAdmissionReview,
		decide: func(ctx context.Context, e *Engines, rev any) (any, bool, error) {
			req := rev.(*admissionv1.AdmissionReview)
			resp, err := mutatePod(e, req.Request)
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

func mutatePod(e *Engines, r *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, error) {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	if r.Kind.Group != "" || r.Kind.Kind != "Pod" || r.SubResource != "" || r.Operation != admissionv1.Create {
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
	hook := workloadid.AdmissionHook(e.Env)
	if hook == nil {
		allow.Warnings = []string{"akssec: the snapshot's cluster does not enable workload identity; the pod is not mutated"}
		return allow, nil
	}
	out, warnings, err := hook(&pod)
	if err != nil {
		var we *workloadid.WebhookError
		code := int32(http.StatusBadRequest)
		if errors.As(err, &we) && we.Code != 0 {
			code = we.Code
		}
		return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{Status: metav1.StatusFailure, Code: code, Message: err.Error()}}, nil
	}
	allow.Warnings = warnings
	if out == &pod {
		return allow, nil
	}
	patch, err := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec", "value": out.Spec}})
	if err != nil {
		return nil, err
	}
	pt := admissionv1.PatchTypeJSONPatch
	allow.Patch, allow.PatchType = patch, &pt
	return allow, nil
}
