package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	authzv1 "k8s.io/api/authorization/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/azurerbac"
	"github.com/akssec/akssec/internal/rbac"
)

// sarReview is a SubjectAccessReview of authorization.k8s.io v1 or v1beta1
// (kube-apiserver's --authorization-webhook-version; v1beta1 names the
// groups "group").
type sarReview struct {
	authzv1.SubjectAccessReview
	beta bool
}

func parseSAR(body []byte) (any, error) {
	var r authzv1.SubjectAccessReview
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding the SubjectAccessReview: %v", err)
	}
	if r.Kind != "SubjectAccessReview" || (r.APIVersion != "authorization.k8s.io/v1" && r.APIVersion != "authorization.k8s.io/v1beta1") {
		return nil, fmt.Errorf("expected an authorization.k8s.io/v1 SubjectAccessReview, got %s %s", r.APIVersion, r.Kind)
	}
	out := &sarReview{SubjectAccessReview: r, beta: r.APIVersion == "authorization.k8s.io/v1beta1"}
	if out.beta {
		var b struct {
			Spec struct {
				Group []string `json:"group"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(body, &b); err == nil && len(b.Spec.Group) > 0 {
			out.Spec.Groups = b.Spec.Group
		}
	}
	if out.Spec.ResourceAttributes == nil && out.Spec.NonResourceAttributes == nil {
		return nil, errors.New("the SubjectAccessReview has neither resourceAttributes nor nonResourceAttributes")
	}
	return out, nil
}

func sarAnswer(r *sarReview, st authzv1.SubjectAccessReviewStatus) any {
	return &authzv1.SubjectAccessReview{TypeMeta: r.TypeMeta, Status: st}
}

func (s *Server) authorize() decision {
	return decision{
		parse: parseSAR,
		decide: func(_ context.Context, e *Engines, rev any) (any, bool, error) {
			r := rev.(*sarReview)
			st := s.decideSAR(e, &r.Spec)
			return sarAnswer(r, st), st.Allowed, nil
		},
		fail: func(rev any, err error) any {
			// No opinion with the error: the API server goes on to its
			// next authorizer, or denies.
			return sarAnswer(rev.(*sarReview), authzv1.SubjectAccessReviewStatus{EvaluationError: "akssec: " + err.Error()})
		},
	}
}

func (s *Server) decideSAR(e *Engines, spec *authzv1.SubjectAccessReviewSpec) authzv1.SubjectAccessReviewStatus {
	user := authn.UserInfo{Name: spec.User, UID: spec.UID, Groups: spec.Groups}
	if len(spec.Extra) > 0 {
		user.Extra = map[string][]string{}
		for k, v := range spec.Extra {
			user.Extra[k] = v
		}
	}
	attrs := rbac.Attributes{User: user}
	if ra := spec.ResourceAttributes; ra != nil {
		attrs.ResourceRequest = true
		attrs.Verb, attrs.Namespace, attrs.APIGroup, attrs.Resource, attrs.Subresource, attrs.Name =
			ra.Verb, ra.Namespace, ra.Group, ra.Resource, ra.Subresource, ra.Name
	} else {
		attrs.Verb, attrs.Path = spec.NonResourceAttributes.Verb, spec.NonResourceAttributes.Path
	}
	if s.opts.Chain == ChainFull {
		d := e.Authorizer.Authorize(&attrs)
		return authzv1.SubjectAccessReviewStatus{Allowed: d.Allowed, Denied: d.Denied, Reason: d.Reason}
	}
	if !e.Authorizer.AzureRBAC() {
		return authzv1.SubjectAccessReviewStatus{Reason: "akssec: Azure RBAC for Kubernetes is not enabled on this cluster (aks.json)"}
	}
	res := e.Azure.Authorize(&azurerbac.Request{User: attrs.User, Verb: attrs.Verb, Namespace: attrs.Namespace, APIGroup: attrs.APIGroup,
		Resource: attrs.Resource, Subresource: attrs.Subresource, Name: attrs.Name, ResourceRequest: attrs.ResourceRequest, Path: attrs.Path})
	return authzv1.SubjectAccessReviewStatus{Allowed: res.Allowed, Denied: res.Denied, Reason: res.Reason}
}
