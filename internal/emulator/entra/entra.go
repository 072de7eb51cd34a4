// Package entra is a local emulator of the Entra ID (Azure AD) endpoints the
// Azure SDK for Go calls, for one tenant whose directory is a snapshot's
// Entra objects: per-tenant OIDC discovery and JWKS, the v2.0 token endpoint
// (client credentials by client secret or by client assertion — the workload
// identity federation exchange decided by a Federation, answered with
// Entra's AADSTS error bodies on a mismatch), and the device code flow for
// users with a non-interactive approval. It issues RS256 v1.0 access tokens
// with the claims AKS and Key Vault read (aud, iss, oid, tid, upn, groups,
// idtyp, appid, ver).
//
// The emulator never logs a secret, a client assertion or a token.
package entra

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/akssec/akssec/internal/emulator/token"
	directory "github.com/akssec/akssec/internal/entra"
)

// Federation decides the workload identity federation exchange: whether a
// federated identity credential of the identity or application clientID
// matches the assertion's issuer, subject and audiences. It returns nil on a
// match, else an *STSError with Entra's code (700016 unknown client, 700211
// issuer, 700212 audience, 700213 subject).
type Federation interface {
	Exchange(clientID, issuer, subject string, audiences []string) error
}

// FederationFunc adapts a function to Federation.
type FederationFunc func(clientID, issuer, subject string, audiences []string) error

// Exchange calls f.
func (f FederationFunc) Exchange(clientID, issuer, subject string, audiences []string) error {
	return f(clientID, issuer, subject, audiences)
}

// JWTBearer is the client_assertion_type of a federated credential.
const JWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// Config configures the emulator.
type Config struct {
	TenantID  string
	Directory *directory.Directory
	// Keys sign the access tokens and are published as the tenant's JWKS.
	Keys *token.KeySet
	// Federation decides client assertions; nil refuses every assertion
	// with AADSTS70021.
	Federation Federation
	// AssertionKeys returns the signing keys an external issuer (a
	// cluster's service-account issuer) publishes, as Entra fetches them
	// from the issuer's JWKS; false means the issuer's OIDC endpoints could
	// not be reached (AADSTS90061).
	AssertionKeys func(issuer string) (jose.JSONWebKeySet, bool)
	// ClientSecrets maps a service principal's client ID (lower case) to
	// its client secret.
	ClientSecrets map[string]string
	// Resources, when not empty, are the only resources tokens are issued
	// for (others get AADSTS500011).
	Resources []string
	// PublicClients are client IDs accepted for the device code flow beyond
	// the directory's applications (first-party tools like the Azure CLI).
	PublicClients []string
	Logger        *slog.Logger
	Now           func() time.Time
	// TokenLifetime of access tokens (default one hour).
	TokenLifetime time.Duration
}

// Well-known first-party public client IDs accepted for the device code
// flow: Azure CLI (azidentity's default), Azure PowerShell, and the AKS
// Entra client (kubelogin).
var DefaultPublicClients = []string{
	"04b07795-8ddb-461a-bbee-02f9e1bf7b46",
	"1950a258-227b-4e31-a9cf-717495945fc2",
	"80faf920-1908-4b52-b5ef-a8e7bedfc67a",
}

// Server is the emulator; its Handler is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mu      sync.Mutex
	devices map[string]*deviceCode // device_code → state
	byUser  map[string]*deviceCode // user_code → state
}

type deviceCode struct {
	clientID, resource string
	scopes             []string
	userCode           string
	expires            time.Time
	approvedBy         *directory.Principal
}

// New builds the emulator.
func New(cfg Config) (*Server, error) {
	if cfg.TenantID == "" {
		return nil, errors.New("the Entra emulator needs a tenant ID")
	}
	if cfg.Keys == nil || cfg.Directory == nil {
		return nil, errors.New("the Entra emulator needs signing keys and a directory")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.PublicClients == nil {
		cfg.PublicClients = DefaultPublicClients
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, log: log, devices: map[string]*deviceCode{}, byUser: map[string]*deviceCode{}}, nil
}

// AccessTokenIssuer is the iss claim of the v1.0 access tokens the emulator
// issues, as Entra's: https://sts.windows.net/<tenant>/.
func (s *Server) AccessTokenIssuer() string { return AccessTokenIssuer(s.cfg.TenantID) }

// AccessTokenIssuer is the v1.0 token issuer of a tenant.
func AccessTokenIssuer(tenant string) string { return "https://sts.windows.net/" + tenant + "/" }

// Keys is the key set that signs access tokens.
func (s *Server) Keys() *token.KeySet { return s.cfg.Keys }

// Handler serves the Entra endpoints.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.jwks)
	mux.HandleFunc("GET /{tenant}/discovery/keys", s.jwks)
	mux.HandleFunc("GET /common/discovery/instance", s.instanceDiscovery)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.deviceCode)
	mux.HandleFunc("POST /devicelogin", s.deviceLogin)
	return mux
}

func (s *Server) tenantOK(w http.ResponseWriter, r *http.Request) bool {
	t := r.PathValue("tenant")
	if strings.EqualFold(t, s.cfg.TenantID) {
		return true
	}
	writeSTSError(w, r, s.cfg.Now(), stsErrorf(90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.", t))
	return false
}

func baseURL(r *http.Request) string { return "https://" + r.Host }

// discovery is the tenant's v2.0 OpenID configuration. MSAL requires the
// issuer on the authority's own scheme and host.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(w, r) {
		return
	}
	b, t := baseURL(r), s.cfg.TenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        b + "/" + t + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              b + "/" + t + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                b + "/" + t + "/v2.0",
		"request_uri_parameter_supported":       false,
		"authorization_endpoint":                b + "/" + t + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         b + "/" + t + "/oauth2/v2.0/devicecode",
		"end_session_endpoint":                  b + "/" + t + "/oauth2/v2.0/logout",
		"tenant_region_scope":                   "WW",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	if !s.tenantOK(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, s.cfg.Keys.JWKS())
}

// instanceDiscovery answers MSAL's authority validation for clients that do
// not disable it and reach this host.
func (s *Server) instanceDiscovery(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	writeJSON(w, http.StatusOK, map[string]any{
		"tenant_discovery_endpoint": baseURL(r) + "/" + s.cfg.TenantID + "/v2.0/.well-known/openid-configuration",
		"api-version":               "1.1",
		"metadata": []map[string]any{{
			"preferred_network": host, "preferred_cache": host, "aliases": []string{host},
		}},
	})
}

// token is POST /{tenant}/oauth2/v2.0/token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now()
	if !s.tenantOK(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeSTSError(w, r, now, stsErrorf(900144, "The request body must contain the following parameter: 'grant_type'."))
		return
	}
	grant := r.PostForm.Get("grant_type")
	var (
		resp map[string]any
		err  *STSError
	)
	switch grant {
	case "":
		err = stsErrorf(900144, "The request body must contain the following parameter: 'grant_type'.")
	case "client_credentials":
		resp, err = s.clientCredentials(r, now)
	case "device_code", "urn:ietf:params:oauth:grant-type:device_code":
		resp, err = s.pollDeviceCode(r, now)
	default:
		err = stsErrorf(70003, "The app requested an unsupported grant type '%s'.", grant)
	}
	if err != nil {
		s.log.Info("token request refused", "grant_type", grant, "client_id", r.PostForm.Get("client_id"), "code", err.Code)
		writeSTSError(w, r, now, err)
		return
	}
	s.log.Info("token issued", "grant_type", grant, "client_id", r.PostForm.Get("client_id"))
	writeJSON(w, http.StatusOK, resp)
}

// resource is the resource a set of scopes asks for: the one scope that is
// not an OIDC scope, without its permission suffix.
func (s *Server) resource(scope string, requireDefault bool) (string, []string, *STSError) {
	var res []string
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "offline_access", "profile", "email":
			continue
		}
		res = append(res, sc)
	}
	if len(res) != 1 {
		return "", nil, stsErrorf(70011, "The provided request must include a 'scope' input parameter naming exactly one resource, got '%s'.", scope)
	}
	sc := res[0]
	if requireDefault && !strings.HasSuffix(sc, "/.default") {
		return "", nil, stsErrorf(1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", sc)
	}
	resource := sc
	if i := strings.LastIndex(sc, "/"); i > 0 && !strings.HasSuffix(sc[:i], "/") {
		resource = sc[:i]
	}
	if len(s.cfg.Resources) > 0 {
		found := false
		for _, r := range s.cfg.Resources {
			if r == resource {
				found = true
			}
		}
		if !found {
			return "", nil, stsErrorf(500011, "The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", resource, s.cfg.TenantID)
		}
	}
	return resource, res, nil
}

func (s *Server) unknownClient(clientID string) *STSError {
	return stsErrorf(700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, s.cfg.TenantID)
}

// clientCredentials is the client credentials grant, by client secret or
// by a federated client assertion.
func (s *Server) clientCredentials(r *http.Request, now time.Time) (map[string]any, *STSError) {
	f := r.PostForm
	clientID := f.Get("client_id")
	if clientID == "" {
		return nil, stsErrorf(900144, "The request body must contain the following parameter: 'client_id'.")
	}
	resource, _, serr := s.resource(f.Get("scope"), true)
	if serr != nil {
		return nil, serr
	}
	var p *directory.Principal
	switch {
	case f.Get("client_assertion") != "":
		if f.Get("client_assertion_type") != JWTBearer {
			return nil, stsErrorf(900144, "The request body must contain the following parameter: 'client_assertion_type'.")
		}
		p, serr = s.federated(clientID, f.Get("client_assertion"), now)
	case f.Get("client_secret") != "":
		p, serr = s.secret(clientID, f.Get("client_secret"))
	default:
		serr = stsErrorf(7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if serr != nil {
		return nil, serr
	}
	at, err := s.accessToken(p, clientID, resource, now, "app")
	if err != nil {
		return nil, stsErrorf(90100, "The token could not be signed.")
	}
	secs := int(s.cfg.TokenLifetime / time.Second)
	return map[string]any{"token_type": "Bearer", "expires_in": secs - 1, "ext_expires_in": secs - 1, "access_token": at}, nil
}

func (s *Server) secret(clientID, secret string) (*directory.Principal, *STSError) {
	p := s.cfg.Directory.ByAppID(clientID)
	if p == nil {
		return nil, s.unknownClient(clientID)
	}
	want, ok := s.cfg.ClientSecrets[strings.ToLower(clientID)]
	if !ok || subtle.ConstantTimeCompare([]byte(want), []byte(secret)) != 1 {
		return nil, stsErrorf(7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)
	}
	return p, nil
}

// assertionClaims are the claims of a client assertion Entra reads.
type assertionClaims struct {
	Issuer   string           `json:"iss"`
	Subject  string           `json:"sub"`
	Audience jwt.Audience     `json:"aud"`
	Expiry   *jwt.NumericDate `json:"exp"`
	NotBef   *jwt.NumericDate `json:"nbf"`
}

// federated decides a jwt-bearer client assertion as Entra does: the
// federated credential match first (the issuer's keys are only fetched for
// an issuer a credential trusts), then the signature by the issuer's JWKS,
// then the validity window.
func (s *Server) federated(clientID, assertion string, now time.Time) (*directory.Principal, *STSError) {
	var c assertionClaims
	if err := token.Unverified(assertion, &c); err != nil {
		return nil, stsErrorf(50027, "JWT token is invalid or malformed.")
	}
	if s.cfg.Federation == nil {
		return nil, stsErrorf(70021, "No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.", c.Issuer, c.Subject, strings.Join(c.Audience, ","))
	}
	if err := s.cfg.Federation.Exchange(clientID, c.Issuer, c.Subject, c.Audience); err != nil {
		var se *STSError
		if errors.As(err, &se) {
			return nil, se
		}
		return nil, stsErrorf(70021, "%v", err)
	}
	p := s.cfg.Directory.ByAppID(clientID)
	if p == nil {
		return nil, s.unknownClient(clientID)
	}
	var keys jose.JSONWebKeySet
	ok := false
	if s.cfg.AssertionKeys != nil {
		keys, ok = s.cfg.AssertionKeys(c.Issuer)
	}
	if !ok {
		return nil, stsErrorf(90061, "Request to External OIDC endpoint failed.")
	}
	v := token.Validator{Keys: func() jose.JSONWebKeySet { return keys }, Issuers: []string{c.Issuer}, Audiences: c.Audience,
		Now: func() time.Time { return now }, Leeway: 5 * time.Minute}
	if _, err := v.Validate(assertion); err != nil {
		if errors.Is(err, token.ErrExpired) {
			// Entra writes the three times as .NET round-trip UTC; a
			// missing nbf reads as the epoch.
			const f = "2006-01-02T15:04:05.0000000Z"
			from, exp := time.Unix(0, 0).UTC().Format(f), time.Unix(0, 0).UTC().Format(f)
			if c.NotBef != nil {
				from = c.NotBef.Time().UTC().Format(f)
			}
			if c.Expiry != nil {
				exp = c.Expiry.Time().UTC().Format(f)
			}
			return nil, stsErrorf(700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
				now.UTC().Format(f), from, exp)
		}
		return nil, stsErrorf(700027, "Client assertion failed signature validation.")
	}
	return p, nil
}

// claims of an access token (v1.0, as Entra issues for resources such as
// Key Vault and the AKS server application).
type accessClaims struct {
	jwt.Claims
	TenantID   string   `json:"tid"`
	ObjectID   string   `json:"oid"`
	AppID      string   `json:"appid"`
	AppIDACR   string   `json:"appidacr"`
	IDType     string   `json:"idtyp"`
	Version    string   `json:"ver"`
	UPN        string   `json:"upn,omitempty"`
	UniqueName string   `json:"unique_name,omitempty"`
	Name       string   `json:"name,omitempty"`
	Scope      string   `json:"scp,omitempty"`
	Groups     []string `json:"groups,omitempty"`
	UTI        string   `json:"uti"`
}

func (s *Server) accessToken(p *directory.Principal, clientID, resource string, now time.Time, idtyp string) (string, error) {
	groups := s.cfg.Directory.TransitiveGroups(p.ID)
	c := accessClaims{
		Claims: jwt.Claims{
			Issuer: s.AccessTokenIssuer(), Subject: p.ID, Audience: jwt.Audience{resource},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
			Expiry: jwt.NewNumericDate(now.Add(s.cfg.TokenLifetime)),
		},
		TenantID: s.cfg.TenantID, ObjectID: p.ID, AppID: clientID, IDType: idtyp, Version: "1.0",
		Groups: groups, UTI: randomString(16),
	}
	if idtyp == "app" {
		c.AppIDACR = "1"
		if p.Kind == directory.KindManagedIdentity {
			c.AppIDACR = "2"
		}
	} else {
		c.AppIDACR = "0"
		c.UPN, c.UniqueName, c.Name, c.Scope = p.UPN, p.UPN, p.DisplayName, "user_impersonation"
	}
	return s.cfg.Keys.Sign(c)
}

// KubeloginClientID is the AKS Entra public client (kubelogin) that signs
// users in for the AKS server application.
const KubeloginClientID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a"

// UserAccessToken issues the access token a user (object ID, UPN or display
// name) would get for resource through clientID's device code sign-in,
// without the sign-in: for tests and `akssec lab token --user`.
func (s *Server) UserAccessToken(user, clientID, resource string) (string, error) {
	p, err := s.cfg.Directory.Resolve(user)
	if err != nil {
		return "", err
	}
	if p.Kind != directory.KindUser {
		return "", fmt.Errorf("%s is not a user", p)
	}
	return s.accessToken(p, clientID, resource, s.cfg.Now(), "user")
}

// ApproveDeviceCode completes a pending device code sign-in as the user
// (object ID, UPN or display name), as the person at the browser would.
func (s *Server) ApproveDeviceCode(userCode, user string) error {
	p, err := s.cfg.Directory.Resolve(user)
	if err != nil {
		return err
	}
	if p.Kind != directory.KindUser {
		return fmt.Errorf("%s is not a user", p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dc, ok := s.byUser[strings.ToUpper(userCode)]
	if !ok || s.cfg.Now().After(dc.expires) {
		return fmt.Errorf("no pending device code %q", userCode)
	}
	dc.approvedBy = p
	return nil
}

// PendingDeviceCodes returns the user codes waiting for approval, sorted.
func (s *Server) PendingDeviceCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for c, dc := range s.byUser {
		if dc.approvedBy == nil {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

const deviceCodeLifetime = 15 * time.Minute

func (s *Server) deviceCode(w http.ResponseWriter, r *http.Request) {
	now := s.cfg.Now()
	if !s.tenantOK(w, r) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		writeSTSError(w, r, now, stsErrorf(900144, "The request body must contain the following parameter: 'client_id'."))
		return
	}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		writeSTSError(w, r, now, stsErrorf(900144, "The request body must contain the following parameter: 'client_id'."))
		return
	}
	if !s.publicClient(clientID) {
		writeSTSError(w, r, now, s.unknownClient(clientID))
		return
	}
	resource, scopes, serr := s.resource(r.PostForm.Get("scope"), false)
	if serr != nil {
		writeSTSError(w, r, now, serr)
		return
	}
	dc := &deviceCode{clientID: clientID, resource: resource, scopes: scopes, userCode: userCode(), expires: now.Add(deviceCodeLifetime)}
	device := randomString(48)
	s.mu.Lock()
	s.devices[device] = dc
	s.byUser[dc.userCode] = dc
	s.mu.Unlock()
	verify := baseURL(r) + "/devicelogin"
	s.log.Info("device code issued", "client_id", clientID, "user_code", dc.userCode)
	writeJSON(w, http.StatusOK, map[string]any{
		"user_code": dc.userCode, "device_code": device, "verification_uri": verify,
		"expires_in": int(deviceCodeLifetime / time.Second), "interval": 5,
		"message": fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, dc.userCode),
	})
}

func (s *Server) publicClient(clientID string) bool {
	for _, c := range s.cfg.PublicClients {
		if strings.EqualFold(c, clientID) {
			return true
		}
	}
	return s.cfg.Directory.ByAppID(clientID) != nil
}

// deviceLogin is the lab's verification page: POST code=USERCODE&user=UPN
// approves the sign-in (no password: the lab trusts loopback callers).
func (s *Server) deviceLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	if err := s.ApproveDeviceCode(r.PostForm.Get("code"), r.PostForm.Get("user")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "Signed in. You may close this window.")
}

func (s *Server) pollDeviceCode(r *http.Request, now time.Time) (map[string]any, *STSError) {
	device := r.PostForm.Get("device_code")
	if device == "" {
		return nil, stsErrorf(900144, "The request body must contain the following parameter: 'device_code'.")
	}
	s.mu.Lock()
	dc, ok := s.devices[device]
	if ok && (now.After(dc.expires) || dc.approvedBy != nil) {
		delete(s.devices, device)
		delete(s.byUser, dc.userCode)
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, stsErrorf(70000, "The provided value for the input parameter 'device_code' is not valid.")
	case now.After(dc.expires):
		return nil, stsErrorf(70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case dc.approvedBy == nil:
		return nil, stsErrorf(70016, "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
	}
	p := dc.approvedBy
	at, err := s.accessToken(p, dc.clientID, dc.resource, now, "user")
	if err != nil {
		return nil, stsErrorf(90100, "The token could not be signed.")
	}
	idt, err := s.cfg.Keys.Sign(map[string]any{
		"aud": dc.clientID, "iss": baseURL(r) + "/" + s.cfg.TenantID + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(s.cfg.TokenLifetime).Unix(), "name": p.DisplayName, "oid": p.ID, "preferred_username": p.UPN,
		"sub": p.ID, "tid": s.cfg.TenantID, "ver": "2.0",
	})
	if err != nil {
		return nil, stsErrorf(90100, "The token could not be signed.")
	}
	ci, _ := json.Marshal(map[string]string{"uid": p.ID, "utid": s.cfg.TenantID})
	secs := int(s.cfg.TokenLifetime / time.Second)
	return map[string]any{
		"token_type": "Bearer", "scope": strings.Join(dc.scopes, " "), "expires_in": secs - 1, "ext_expires_in": secs - 1,
		"access_token": at, "id_token": idt, "client_info": base64.RawURLEncoding.EncodeToString(ci),
	}, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// userCode is nine letters and digits without look-alikes, as Entra's.
func userCode() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
