package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	authnv1 "k8s.io/api/authentication/v1"

	"github.com/akssec/akssec/internal/authn"
	"github.com/akssec/akssec/internal/emulator/token"
)

// TokenValidator verifies an Entra access token's signature, issuer,
// audience and lifetime (token.Validator does, against the Entra
// emulator's keys or a configured key set).
type TokenValidator interface {
	Validate(raw string, dest ...any) (*token.Claims, error)
}

// entraClaims are the claims Guard maps (kubeguard/guard
// auth/providers/azure/azure.go).
type entraClaims struct {
	UPN        string            `json:"upn"`
	OID        string            `json:"oid"`
	TID        string            `json:"tid"`
	IDType     string            `json:"idtyp"`
	Groups     []string          `json:"groups"`
	ClaimNames map[string]string `json:"_claim_names"`
}

func parseTokenReview(body []byte) (any, error) {
	var r authnv1.TokenReview
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decoding the TokenReview: %v", err)
	}
	if r.Kind != "TokenReview" || (r.APIVersion != "authentication.k8s.io/v1" && r.APIVersion != "authentication.k8s.io/v1beta1") {
		return nil, fmt.Errorf("expected an authentication.k8s.io/v1 TokenReview, got %s %s", r.APIVersion, r.Kind)
	}
	if r.Spec.Token == "" {
		return nil, errors.New("the TokenReview has no token")
	}
	return &r, nil
}

// authenticate answers TokenReviews as AKS's Guard webhook: the username
// is the upn claim, falling back to oid; groups are the groups claim
// (object IDs); extra oid. On the groups overage indicator, a user's groups
// come from the directory (Guard asks Graph getMemberGroups), and an app
// token is refused. The API server adds system:authenticated itself.
func (s *Server) authenticate() decision {
	answer := func(rev any, status authnv1.TokenReviewStatus) any {
		r := rev.(*authnv1.TokenReview)
		return &authnv1.TokenReview{TypeMeta: r.TypeMeta, Status: status}
	}
	return decision{
		parse: parseTokenReview,
		decide: func(_ context.Context, e *Engines, rev any) (any, bool, error) {
			r := rev.(*authnv1.TokenReview)
			if s.opts.Tokens == nil {
				return answer(rev, authnv1.TokenReviewStatus{Error: "akssec serve was started without an Entra token validator (--entra-lab-dir)"}), false, nil
			}
			var c entraClaims
			if _, err := s.opts.Tokens.Validate(r.Spec.Token, &c); err != nil {
				return answer(rev, authnv1.TokenReviewStatus{Error: "invalid token: " + err.Error()}), false, nil
			}
			if c.OID == "" {
				return answer(rev, authnv1.TokenReviewStatus{Error: "the token has no oid claim"}), false, nil
			}
			user := authnv1.UserInfo{Username: c.UPN, Groups: c.Groups, Extra: map[string]authnv1.ExtraValue{"oid": {c.OID}}}
			if user.Username == "" {
				user.Username = c.OID
			}
			if _, overage := c.ClaimNames["groups"]; overage {
				if strings.EqualFold(c.IDType, "app") {
					return answer(rev, authnv1.TokenReviewStatus{Error: "service principal with group membership exceeding 200 is not supported"}), false, nil
				}
				p := e.Env.Directory.ByID(c.OID)
				if p == nil {
					return answer(rev, authnv1.TokenReviewStatus{Error: "groups overage: user " + c.OID + " is not in the directory"}), false, nil
				}
				user.Groups = nil
				for _, g := range authn.Map(e.Env.Directory, p).User.Groups {
					if g != authn.AllAuthenticated {
						user.Groups = append(user.Groups, g)
					}
				}
			}
			return answer(rev, authnv1.TokenReviewStatus{Authenticated: true, User: user}), true, nil
		},
		fail: func(rev any, err error) any {
			return answer(rev, authnv1.TokenReviewStatus{Error: "akssec: " + err.Error()})
		},
	}
}
