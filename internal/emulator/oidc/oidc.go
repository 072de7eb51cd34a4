// Package oidc is the cluster's service-account token issuer as the lab
// emulates it: the OIDC discovery document and JWKS an AKS cluster publishes
// at its issuer URL, and projected service-account tokens shaped as the
// kubelet requests them from the API server (iss = the cluster issuer URL,
// sub = system:serviceaccount:NS:NAME, the requested audiences, the
// kubernetes.io claim naming namespace, service account and pod).
package oidc

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/akssec/akssec/internal/emulator/token"
)

// DefaultAudience is the audience the workload identity webhook projects.
const DefaultAudience = "api://AzureADTokenExchange"

// Issuer is one cluster's service-account issuer.
type Issuer struct {
	// URL is the issuer exactly as the cluster publishes it (AKS: with a
	// trailing slash); it is the iss claim of every token.
	URL  string
	Keys *token.KeySet
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
}

// Discovery is the OIDC discovery document of a Kubernetes service-account
// issuer (kube-apiserver's /.well-known/openid-configuration).
type Discovery struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

// JWKSPath is where kube-apiserver (and AKS) serve the keys, relative to
// the issuer URL.
const JWKSPath = "openid/v1/jwks"

// Discovery returns the discovery document. AKS publishes jwks_uri under the
// issuer URL.
func (i *Issuer) Discovery() Discovery {
	base := i.URL
	if base == "" || base[len(base)-1] != '/' {
		base += "/"
	}
	return Discovery{Issuer: i.URL, JWKSURI: base + JWKSPath, ResponseTypes: []string{"id_token"},
		SubjectTypes: []string{"public"}, SigningAlgs: []string{"RS256"}}
}

// Handler serves /.well-known/openid-configuration and /openid/v1/jwks; mount
// it with http.StripPrefix under the path the issuer is mirrored at.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, i.Discovery())
	})
	mux.HandleFunc("GET /"+JWKSPath, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, i.Keys.JWKS())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Request is what a kubelet asks for when it projects a token.
type Request struct {
	Namespace, ServiceAccount string
	ServiceAccountUID         string
	Pod, PodUID               string // optional: the pod the token is bound to
	Node, NodeUID             string // optional
	Audiences                 []string
	// ExpirationSeconds defaults to 3600, the webhook's default.
	ExpirationSeconds int64
}

// Subject is the sub claim of a service account's token.
func Subject(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

type ref struct {
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
}

type k8sClaim struct {
	Namespace      string `json:"namespace"`
	Node           *ref   `json:"node,omitempty"`
	Pod            *ref   `json:"pod,omitempty"`
	ServiceAccount ref    `json:"serviceaccount"`
}

// saClaims are the claims of a service-account token. The API server
// serializes aud as an array even with one audience (go-jose v2's
// Audience), unlike go-jose v4's jwt.Claims.
type saClaims struct {
	Issuer     string           `json:"iss"`
	Subject    string           `json:"sub"`
	Audience   []string         `json:"aud"`
	Expiry     *jwt.NumericDate `json:"exp"`
	NotBefore  *jwt.NumericDate `json:"nbf"`
	IssuedAt   *jwt.NumericDate `json:"iat"`
	ID         string           `json:"jti"`
	Kubernetes k8sClaim         `json:"kubernetes.io"`
}

// Token issues a projected service-account token.
func (i *Issuer) Token(r Request) (string, error) {
	if r.Namespace == "" || r.ServiceAccount == "" {
		return "", fmt.Errorf("a service-account token needs a namespace and a name")
	}
	aud := r.Audiences
	if len(aud) == 0 {
		aud = []string{DefaultAudience}
	}
	exp := r.ExpirationSeconds
	if exp == 0 {
		exp = 3600
	}
	now := time.Now()
	if i.Now != nil {
		now = i.Now()
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	c := saClaims{
		Issuer: i.URL, Subject: Subject(r.Namespace, r.ServiceAccount), Audience: aud,
		IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		Expiry: jwt.NewNumericDate(now.Add(time.Duration(exp) * time.Second)), ID: hex.EncodeToString(jti),
		Kubernetes: k8sClaim{Namespace: r.Namespace, ServiceAccount: ref{Name: r.ServiceAccount, UID: r.ServiceAccountUID}},
	}
	if r.Pod != "" {
		c.Kubernetes.Pod = &ref{Name: r.Pod, UID: r.PodUID}
	}
	if r.Node != "" {
		c.Kubernetes.Node = &ref{Name: r.Node, UID: r.NodeUID}
	}
	return i.Keys.Sign(c)
}
