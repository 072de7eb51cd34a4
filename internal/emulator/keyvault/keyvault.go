// Package keyvault is a local emulator of the Azure Key Vault secrets data
// plane (api-version 7.x): set, get latest or by version, list, list
// versions, update attributes, delete / recover / purge with soft delete.
// It answers an unauthenticated request with Key Vault's 401 challenge
// (WWW-Authenticate: Bearer authorization=…, resource=…), validates bearer
// tokens strictly (RS256 only, a key of the Entra emulator, issuer, audience,
// expiry), authorizes each operation with an Authorizer (the secrets layer's
// access-policy or RBAC decision) and keeps its state in a bbolt file so
// nothing is lost across restarts.
//
// One listener serves every vault: the vault is chosen by the request's
// host name, <vault>.<DNSSuffix>. Secret values are never logged.
package keyvault

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/akssec/akssec/internal/emulator/token"
)

// Action is a secret operation, named by the access-policy permission it
// needs.
type Action string

// The secret operations.
const (
	ActionGet     Action = "get"
	ActionList    Action = "list"
	ActionSet     Action = "set"
	ActionDelete  Action = "delete"
	ActionRecover Action = "recover"
	ActionPurge   Action = "purge"
)

// Caller is the identity of a validated access token.
type Caller struct {
	ObjectID, TenantID, ApplicationID string
}

// Decision is the authorization answer. A denial carries Key Vault's 403:
// Code (Forbidden), InnerCode (AccessDenied, ForbiddenByRbac,
// ForbiddenByPolicy) and Message.
type Decision struct {
	Allowed   bool
	Status    int // 403 when zero
	Code      string
	InnerCode string
	Message   string
}

// Authorizer decides whether a caller may perform an action on a vault's
// secret (secret is "" for listings). update is true for an attribute
// update (access-policy permission set, RBAC data action update/action).
type Authorizer interface {
	Authorize(vault string, caller Caller, action Action, update bool, secret string) Decision
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(vault string, caller Caller, action Action, update bool, secret string) Decision

// Authorize calls f.
func (f AuthorizerFunc) Authorize(vault string, caller Caller, action Action, update bool, secret string) Decision {
	return f(vault, caller, action, update, secret)
}

// Vault is one emulated vault.
type Vault struct {
	Name     string // as in the snapshot; host names match it case-insensitively
	TenantID string
	Location string
	// SoftDeleteDays is the retention of deleted secrets; 0 disables soft
	// delete (deletes purge at once).
	SoftDeleteDays  int
	PurgeProtection bool
}

// Config configures the emulator.
type Config struct {
	Vaults []Vault
	Store  *Store
	// DNSSuffix is the domain vault hosts live under (e.g. vault.localhost):
	// vault myKV is served at mykv.<DNSSuffix>.
	DNSSuffix string
	// Resource is the challenge's resource (e.g. https://vault.localhost:8443)
	// and the audience tokens must carry. Audiences adds other accepted
	// audiences.
	Resource  string
	Audiences []string
	// Authority is the Entra authority host (https://host:port) named in the
	// challenge.
	Authority string
	// Keys returns the Entra emulator's published keys.
	Keys func() jose.JSONWebKeySet
	// Issuer returns the accepted token issuer for a tenant.
	Issuer     func(tenant string) string
	Authorizer Authorizer
	Logger     *slog.Logger
	Now        func() time.Time
}

// Server is the emulator; its Handler is safe for concurrent use.
type Server struct {
	cfg    Config
	log    *slog.Logger
	vaults map[string]*Vault // lower-case name
}

// New builds the emulator.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.Keys == nil || cfg.Issuer == nil || cfg.Authorizer == nil {
		return nil, errors.New("the Key Vault emulator needs a store, token keys, an issuer and an authorizer")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, vaults: map[string]*Vault{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for i := range cfg.Vaults {
		v := &cfg.Vaults[i]
		s.vaults[strings.ToLower(v.Name)] = v
	}
	return s, nil
}

// Handler serves every vault, routed by host name.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// VaultForHost returns the vault a host name (with or without port) names.
func (s *Server) VaultForHost(host string) *Vault {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	suffix := "." + strings.ToLower(s.cfg.DNSSuffix)
	if !strings.HasSuffix(host, suffix) {
		return nil
	}
	return s.vaults[strings.TrimSuffix(host, suffix)]
}

type kvError struct {
	Code       string      `json:"code"`
	Message    string      `json:"message"`
	InnerError *innerError `json:"innererror,omitempty"`
}

type innerError struct {
	Code string `json:"code"`
}

func writeError(w http.ResponseWriter, status int, code, inner, msg string) {
	e := kvError{Code: code, Message: msg}
	if inner != "" {
		e.InnerError = &innerError{Code: inner}
	}
	w.Header().Set("x-ms-keyvault-service-version", "1.9.0.0")
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// statusRecorder remembers the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	var caller Caller
	start := s.cfg.Now()
	defer func() {
		// Method, host, path and caller only: never a body, never a value.
		s.log.Info("keyvault request", "method", r.Method, "host", r.Host, "path", r.URL.Path,
			"status", rec.status, "oid", caller.ObjectID, "duration", s.cfg.Now().Sub(start))
	}()
	v := s.VaultForHost(r.Host)
	if v == nil {
		writeError(rec, http.StatusNotFound, "VaultNotFound", "", fmt.Sprintf("No vault is served at host %q.", r.Host))
		return
	}
	c, ok := s.authenticate(rec, r, v)
	if !ok {
		return
	}
	caller = c
	if err := checkAPIVersion(r.URL.Query().Get("api-version")); err != "" {
		writeError(rec, http.StatusBadRequest, "BadParameter", "", err)
		return
	}
	s.route(rec, r, v, caller)
}

// challenge is the WWW-Authenticate value Key Vault sends.
func (s *Server) challenge(v *Vault) string {
	return fmt.Sprintf(`Bearer authorization="%s/%s", resource="%s"`, strings.TrimSuffix(s.cfg.Authority, "/"), v.TenantID, s.cfg.Resource)
}

func (s *Server) unauthorized(w http.ResponseWriter, v *Vault, msg string) {
	w.Header().Set("WWW-Authenticate", s.challenge(v))
	writeError(w, http.StatusUnauthorized, "Unauthorized", "", msg)
}

type tokenClaims struct {
	TenantID string `json:"tid"`
	ObjectID string `json:"oid"`
	AppID    string `json:"appid"`
	AZP      string `json:"azp"`
}

// authenticate validates the bearer token: RS256 by a key the Entra emulator
// publishes, issued for the vault's tenant, for this resource, unexpired.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, v *Vault) (Caller, bool) {
	h := r.Header.Get("Authorization")
	scheme, raw, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		s.unauthorized(w, v, "AKV10000: Request is missing a Bearer or PoP token.")
		return Caller{}, false
	}
	val := token.Validator{
		Keys: s.cfg.Keys, Issuers: []string{s.cfg.Issuer(v.TenantID)},
		// Exact: Key Vault refuses "https://vault.azure.net/" (AKV10022).
		Audiences: append([]string{s.cfg.Resource}, s.cfg.Audiences...),
		Now:       s.cfg.Now, Leeway: 5 * time.Minute,
	}
	var c tokenClaims
	std, err := val.Validate(strings.TrimSpace(raw), &c)
	switch {
	case errors.Is(err, token.ErrAudience):
		s.unauthorized(w, v, fmt.Sprintf("AKV10022: Invalid audience. Expected %s, found: %s.", s.cfg.Resource, strings.Join(audOf(raw), ",")))
		return Caller{}, false
	case errors.Is(err, token.ErrIssuer):
		s.unauthorized(w, v, fmt.Sprintf("AKV10032: Invalid issuer. Expected one of %s, found %s.", s.cfg.Issuer(v.TenantID), issOf(raw)))
		return Caller{}, false
	case errors.Is(err, token.ErrExpired):
		s.unauthorized(w, v, "[TokenExpired] Error validating token: 'S2S12086'.")
		return Caller{}, false
	case err != nil:
		s.unauthorized(w, v, "Error validating token: the token is malformed or its signature does not match a key of the issuer.")
		return Caller{}, false
	}
	oid := c.ObjectID
	if oid == "" {
		oid = std.Subject
	}
	app := c.AppID
	if app == "" {
		app = c.AZP
	}
	return Caller{ObjectID: oid, TenantID: c.TenantID, ApplicationID: app}, true
}

func audOf(raw string) []string {
	var c struct {
		Aud any `json:"aud"`
	}
	_ = token.Unverified(raw, &c)
	switch a := c.Aud.(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

func issOf(raw string) string {
	var c struct {
		Iss string `json:"iss"`
	}
	_ = token.Unverified(raw, &c)
	return c.Iss
}

// checkAPIVersion accepts the 7.x versions and the dated ones azsecrets
// sends; Key Vault has no default version.
func checkAPIVersion(v string) string {
	if v == "" {
		return "The 'api-version' query parameter is missing."
	}
	if strings.HasPrefix(v, "7.") || strings.HasPrefix(v, "2025-") || strings.HasPrefix(v, "2026-") {
		return ""
	}
	return fmt.Sprintf("The specified version (%s) is not recognized. Consider using the latest supported version (7.6).", v)
}

var nameRE = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

func (s *Server) route(w http.ResponseWriter, r *http.Request, v *Vault, c Caller) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// A trailing slash (GET /secrets/name/) means the latest version.
	if strings.HasSuffix(r.URL.Path, "/") && len(parts) == 2 {
		parts = append(parts, "")
	}
	for i, p := range parts {
		if i == 1 && !nameRE.MatchString(p) {
			writeError(w, http.StatusBadRequest, "BadParameter", "", fmt.Sprintf("The request URI contains an invalid name: %s", p))
			return
		}
	}
	m := r.Method
	switch {
	case parts[0] == "secrets" && len(parts) == 1 && m == http.MethodGet:
		s.list(w, r, v, c, false)
	case parts[0] == "secrets" && len(parts) == 2 && m == http.MethodPut:
		s.set(w, r, v, c, parts[1])
	case parts[0] == "secrets" && len(parts) == 2 && m == http.MethodGet:
		s.get(w, r, v, c, parts[1], "")
	case parts[0] == "secrets" && len(parts) == 2 && m == http.MethodDelete:
		s.delete(w, r, v, c, parts[1])
	case parts[0] == "secrets" && len(parts) == 3 && parts[2] == "versions" && m == http.MethodGet:
		s.versions(w, r, v, c, parts[1])
	case parts[0] == "secrets" && len(parts) == 3 && m == http.MethodGet:
		s.get(w, r, v, c, parts[1], parts[2])
	case parts[0] == "secrets" && len(parts) == 3 && m == http.MethodPatch:
		s.update(w, r, v, c, parts[1], parts[2])
	case parts[0] == "deletedsecrets" && len(parts) == 1 && m == http.MethodGet:
		s.list(w, r, v, c, true)
	case parts[0] == "deletedsecrets" && len(parts) == 2 && m == http.MethodGet:
		s.getDeleted(w, r, v, c, parts[1])
	case parts[0] == "deletedsecrets" && len(parts) == 2 && m == http.MethodDelete:
		s.purge(w, r, v, c, parts[1])
	case parts[0] == "deletedsecrets" && len(parts) == 3 && parts[2] == "recover" && m == http.MethodPost:
		s.recover(w, r, v, c, parts[1])
	default:
		writeError(w, http.StatusBadRequest, "BadParameter", "", fmt.Sprintf("The operation %s %s is not supported by the emulator.", r.Method, r.URL.Path))
	}
}

// authorize writes Key Vault's 403 when the caller may not act.
func (s *Server) authorize(w http.ResponseWriter, v *Vault, c Caller, a Action, update bool, secret string) bool {
	d := s.cfg.Authorizer.Authorize(v.Name, c, a, update, secret)
	if d.Allowed {
		return true
	}
	code, inner, msg := d.Code, d.InnerCode, d.Message
	if code == "" {
		code = "Forbidden"
	}
	if msg == "" {
		msg = fmt.Sprintf("The user, group or application 'appid=%s;oid=%s;iss=%s' does not have secrets %s permission on key vault '%s;location=%s'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
			c.ApplicationID, c.ObjectID, s.cfg.Issuer(c.TenantID), a, v.Name, v.Location)
	}
	status := d.Status
	if status == 0 || status == http.StatusOK {
		status = http.StatusForbidden
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", s.challenge(v))
	}
	writeError(w, status, code, inner, msg)
	return false
}

func notFound(w http.ResponseWriter, name string) {
	writeError(w, http.StatusNotFound, "SecretNotFound", "", fmt.Sprintf("A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name))
}

func deletedNotFound(w http.ResponseWriter, name string) {
	writeError(w, http.StatusNotFound, "SecretNotFound", "", fmt.Sprintf("Deleted Secret not found: %s", name))
}

func (s *Server) storeError(w http.ResponseWriter, err error, name string) {
	switch {
	case errors.Is(err, ErrNotFound):
		notFound(w, name)
	case errors.Is(err, ErrNotDeleted):
		deletedNotFound(w, name)
	case errors.Is(err, ErrDeleted):
		writeError(w, http.StatusConflict, "Conflict", "ObjectIsDeletedButRecoverable", fmt.Sprintf("Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name))
	default:
		s.log.Error("keyvault store", "error", err)
		writeError(w, http.StatusInternalServerError, "InternalError", "", "The emulator's store failed.")
	}
}

// attributes is Key Vault's SecretAttributes (dates in Unix seconds).
type attributes struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         int64  `json:"created,omitempty"`
	Updated         int64  `json:"updated,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
}

func (s *Server) attrs(v *Vault, ver *Version) attributes {
	en := ver.Enabled
	a := attributes{Enabled: &en, NotBefore: ver.NotBefore, Expires: ver.Expires, Created: ver.Created, Updated: ver.Updated}
	switch {
	case v.SoftDeleteDays == 0:
		a.RecoveryLevel = "Purgeable"
	case v.PurgeProtection:
		a.RecoveryLevel = "Recoverable"
	default:
		a.RecoveryLevel = "Recoverable+Purgeable"
	}
	if v.SoftDeleteDays > 0 {
		if v.SoftDeleteDays < 90 {
			a.RecoveryLevel = "Customized" + a.RecoveryLevel
		}
		d := v.SoftDeleteDays
		a.RecoverableDays = &d
	}
	return a
}

// bundle is SecretBundle / DeletedSecretBundle / SecretItem.
type bundle struct {
	Value              *string           `json:"value,omitempty"`
	ID                 string            `json:"id"`
	ContentType        string            `json:"contentType,omitempty"`
	Attributes         attributes        `json:"attributes"`
	Tags               map[string]string `json:"tags,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        int64             `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64             `json:"scheduledPurgeDate,omitempty"`
}

func vaultURL(r *http.Request) string { return "https://" + r.Host }

func (s *Server) bundle(r *http.Request, v *Vault, m *Secret, ver *Version, withVersion, withValue bool) bundle {
	id := vaultURL(r) + "/secrets/" + m.Name
	if withVersion {
		id += "/" + ver.ID
	}
	b := bundle{ID: id, ContentType: ver.ContentType, Attributes: s.attrs(v, ver), Tags: ver.Tags}
	if withValue {
		val := ver.Value
		b.Value = &val
	}
	if m.Deleted != nil {
		b.RecoveryID = vaultURL(r) + "/deletedsecrets/" + m.Name
		b.DeletedDate, b.ScheduledPurgeDate = m.Deleted.DeletedDate, m.Deleted.ScheduledPurgeDate
	}
	return b
}

type setBody struct {
	Value       *string           `json:"value"`
	ContentType string            `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Attributes  struct {
		Enabled   *bool  `json:"enabled"`
		NotBefore *int64 `json:"nbf"`
		Expires   *int64 `json:"exp"`
	} `json:"attributes"`
}

const maxValue = 25 * 1024

func (s *Server) set(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, name string) {
	if !s.authorize(w, v, c, ActionSet, false, name) {
		return
	}
	var body setBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil || body.Value == nil {
		writeError(w, http.StatusBadRequest, "BadParameter", "", "Property value is required and must be a string.")
		return
	}
	if len(*body.Value) > maxValue {
		writeError(w, http.StatusBadRequest, "BadParameter", "", "Secret value is too long: the maximum is 25k characters.")
		return
	}
	ver := Version{Value: *body.Value, ContentType: body.ContentType, Tags: body.Tags, Enabled: true,
		NotBefore: body.Attributes.NotBefore, Expires: body.Attributes.Expires}
	if body.Attributes.Enabled != nil {
		ver.Enabled = *body.Attributes.Enabled
	}
	m, nv, err := s.cfg.Store.Set(v.Name, name, ver, s.cfg.Now())
	if err != nil {
		s.storeError(w, err, name)
		return
	}
	writeJSON(w, http.StatusOK, s.bundle(r, v, m, nv, true, true))
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, name, version string) {
	if !s.authorize(w, v, c, ActionGet, false, name) {
		return
	}
	m, ver, err := s.cfg.Store.Get(v.Name, name, version, s.cfg.Now())
	if err != nil {
		if errors.Is(err, ErrNotFound) && version != "" {
			writeError(w, http.StatusNotFound, "SecretNotFound", "", fmt.Sprintf("A secret with (name/id) %s/%s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182", name, version))
			return
		}
		s.storeError(w, err, name)
		return
	}
	if !ver.Enabled {
		writeError(w, http.StatusForbidden, "Forbidden", "SecretDisabled", "Operation get is not allowed on a disabled secret.")
		return
	}
	writeJSON(w, http.StatusOK, s.bundle(r, v, m, ver, true, true))
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, name, version string) {
	if !s.authorize(w, v, c, ActionSet, true, name) {
		return
	}
	var body struct {
		ContentType *string            `json:"contentType"`
		Tags        *map[string]string `json:"tags"`
		Attributes  *struct {
			Enabled   *bool  `json:"enabled"`
			NotBefore *int64 `json:"nbf"`
			Expires   *int64 `json:"exp"`
		} `json:"attributes"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "BadParameter", "", "The request body is not valid JSON.")
		return
	}
	m, ver, err := s.cfg.Store.Update(v.Name, name, version, func(x *Version) {
		if body.ContentType != nil {
			x.ContentType = *body.ContentType
		}
		if body.Tags != nil {
			x.Tags = *body.Tags
		}
		if a := body.Attributes; a != nil {
			if a.Enabled != nil {
				x.Enabled = *a.Enabled
			}
			if a.NotBefore != nil {
				x.NotBefore = a.NotBefore
			}
			if a.Expires != nil {
				x.Expires = a.Expires
			}
		}
	}, s.cfg.Now())
	if err != nil {
		s.storeError(w, err, name)
		return
	}
	writeJSON(w, http.StatusOK, s.bundle(r, v, m, ver, true, false))
}

// pageSize is Key Vault's default and maximum page of a listing.
const pageSize = 25

// page writes one page of a listing: at most maxresults (default and cap
// 25) items after the $skiptoken position, with the nextLink Key Vault
// sends (api-version, an opaque $skiptoken, maxresults).
func page(w http.ResponseWriter, r *http.Request, items []bundle) {
	q := r.URL.Query()
	size := pageSize
	if m := q.Get("maxresults"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > pageSize {
			writeError(w, http.StatusBadRequest, "BadParameter", "", fmt.Sprintf("Invalid value for maxresults: %s. It must be between 1 and %d.", m, pageSize))
			return
		}
		size = n
	}
	start := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "BadParameter", "", "The $skiptoken is not valid.")
			return
		}
		start = min(n, len(items))
	}
	end := min(start+size, len(items))
	var next *string
	if end < len(items) {
		u := vaultURL(r) + r.URL.Path + "?api-version=" + url.QueryEscape(q.Get("api-version")) +
			"&$skiptoken=" + base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end))) + "&maxresults=" + strconv.Itoa(size)
		next = &u
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": items[start:end], "nextLink": next})
}

// list answers "list secrets" or, with deleted, "list deleted secrets".
func (s *Server) list(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, deleted bool) {
	if !s.authorize(w, v, c, ActionList, false, "") {
		return
	}
	es, err := s.cfg.Store.List(v.Name, deleted, s.cfg.Now())
	if err != nil {
		s.storeError(w, err, "")
		return
	}
	items := make([]bundle, 0, len(es))
	for _, e := range es {
		items = append(items, s.bundle(r, v, e.Secret, e.Version, false, false))
	}
	page(w, r, items)
}

func (s *Server) versions(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, name string) {
	if !s.authorize(w, v, c, ActionList, false, name) {
		return
	}
	es, err := s.cfg.Store.Versions(v.Name, name)
	if err != nil {
		s.storeError(w, err, name)
		return
	}
	items := make([]bundle, 0, len(es))
	for _, e := range es {
		items = append(items, s.bundle(r, v, e.Secret, e.Version, true, false))
	}
	page(w, r, items)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, name string) {
	if !s.authorize(w, v, c, ActionDelete, false, name) {
		return
	}
	retention := time.Duration(v.SoftDeleteDays) * 24 * time.Hour
	m, ver, err := s.cfg.Store.Delete(v.Name, name, retention, s.cfg.Now())
	if err != nil {
		s.storeError(w, err, name)
		return
	}
	writeJSON(w, http.StatusOK, s.bundle(r, v, m, ver, true, false))
}

func (s *Server) getDeleted(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, name string) {
	if !s.authorize(w, v, c, ActionList, false, name) {
		return
	}
	m, ver, err := s.cfg.Store.GetDeleted(v.Name, name, s.cfg.Now())
	if err != nil {
		s.storeError(w, err, name)
		return
	}
	writeJSON(w, http.StatusOK, s.bundle(r, v, m, ver, false, false))
}

func (s *Server) recover(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, name string) {
	if !s.authorize(w, v, c, ActionRecover, false, name) {
		return
	}
	m, ver, err := s.cfg.Store.Recover(v.Name, name, s.cfg.Now())
	if err != nil {
		s.storeError(w, err, name)
		return
	}
	writeJSON(w, http.StatusOK, s.bundle(r, v, m, ver, true, false))
}

func (s *Server) purge(w http.ResponseWriter, r *http.Request, v *Vault, c Caller, name string) {
	if !s.authorize(w, v, c, ActionPurge, false, name) {
		return
	}
	if v.PurgeProtection {
		writeError(w, http.StatusForbidden, "Forbidden", "", fmt.Sprintf("Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed. Vault: %s;location=%s", v.Name, v.Location))
		return
	}
	if err := s.cfg.Store.Purge(v.Name, name, s.cfg.Now()); err != nil {
		s.storeError(w, err, name)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
