package workloadid

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/akssec/akssec/internal/azure"
	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/source"
)

// TokenExchangeAudience is the audience Entra expects on a federated
// assertion and the one the webhook and the CSI driver request.
const TokenExchangeAudience = "api://AzureADTokenExchange"

// WorkloadIdentityFederationDocs is the link Entra appends to the
// "No matching federated identity record" errors.
const WorkloadIdentityFederationDocs = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"

// AADSTS codes Exchange returns.
const (
	CodeApplicationNotFound  = 700016  // the client ID names no application or identity in the tenant
	CodeIssuerMismatch       = 700211  // no federated credential has the assertion's issuer
	CodeAudienceMismatch     = 700212  // issuer and subject match, the audience does not
	CodeSubjectMismatch      = 700213  // the issuer matches, no subject does
	CodeSubjectCaseMismatch  = 7002138 // a subject matches only case-insensitively
	CodeAssertionTimeInvalid = 700024  // the assertion is expired or not yet valid
)

// AADSTSError is an Entra token endpoint error: the HTTP status, the OAuth
// error ("invalid_client", ...), the AADSTS code and its description as
// Entra words it. Message is the description without the "AADSTSnnn: "
// prefix and without the trace, correlation and timestamp trailer Entra adds
// per request; Error() and Description() put the prefix back.
type AADSTSError struct {
	Code       int
	HTTPStatus int
	OAuthError string
	Message    string
}

// Description is the error_description Entra sends (without the per-request
// Trace ID / Correlation ID / Timestamp trailer).
func (e *AADSTSError) Description() string { return fmt.Sprintf("AADSTS%d: %s", e.Code, e.Message) }

func (e *AADSTSError) Error() string { return e.Description() }

// ExchangeResult is a successful exchange: the identity the token is issued
// for and the federated credential that matched.
type ExchangeResult struct {
	Identity   *azure.Identity
	Credential *azure.FederatedCredential
	// ObjectID, ClientID and TenantID are the oid, appid and tid of the
	// access token Entra issues.
	ObjectID, ClientID, TenantID string
	Evidence                     []source.Location
}

// Exchange decides a token exchange (client_credentials with a
// client_assertion) as Entra does for a user-assigned managed identity:
//
//   - clientID must be the client ID of an identity of the snapshot, else
//     AADSTS700016 (HTTP 400 unauthorized_client);
//   - among that identity's federated credentials, those whose issuer is
//     string-equal (case-sensitive, trailing slash included) to the
//     assertion's iss; none → AADSTS700211;
//   - of those, the ones whose subject equals sub exactly; none →
//     AADSTS7002138 when one matches ignoring case, else AADSTS700213;
//   - of those, one whose audience is among the assertion's aud values; none
//     → AADSTS700212.
//
// Errors for a federated credential mismatch are HTTP 401 invalid_client.
// The error is always an *AADSTSError. Exchange does not check the
// assertion's signature or lifetime; the caller (an emulator) does, and can
// report the lifetime with AssertionTimeError.
func Exchange(e *env.Environment, clientID, issuer, subject string, audiences []string) (*ExchangeResult, error) {
	id := identityByClientID(e, clientID)
	if id == nil {
		return nil, ApplicationNotFound(clientID, tenantOf(e))
	}
	return exchangeWith(id, credentialsOf(e, id), issuer, subject, audiences)
}

// ApplicationNotFound is AADSTS700016 as Entra returns it for an unknown
// client ID in the tenant.
func ApplicationNotFound(clientID, tenant string) *AADSTSError {
	return &AADSTSError{Code: CodeApplicationNotFound, HTTPStatus: 400, OAuthError: "unauthorized_client",
		Message: fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)}
}

// AssertionTimeError is AADSTS700024, for an assertion outside its validity
// window. The times are written as Entra writes them: UTC with seven
// fractional digits, e.g. 2024-10-02T22:05:03.6755165Z.
func AssertionTimeError(now, notBefore, expiry time.Time) *AADSTSError {
	return &AADSTSError{Code: CodeAssertionTimeInvalid, HTTPStatus: 400, OAuthError: "invalid_client",
		Message: fmt.Sprintf("Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s.",
			entraTime(now), entraTime(notBefore), entraTime(expiry))}
}

// entraTime formats t as Entra's error messages do.
func entraTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.0000000Z") }

func exchangeWith(id *azure.Identity, fics []*azure.FederatedCredential, issuer, subject string, audiences []string) (*ExchangeResult, error) {
	var byIssuer []*azure.FederatedCredential
	for _, f := range fics {
		if f.Issuer == issuer {
			byIssuer = append(byIssuer, f)
		}
	}
	if len(byIssuer) == 0 {
		return nil, &AADSTSError{Code: CodeIssuerMismatch, HTTPStatus: 401, OAuthError: "invalid_client",
			Message: fmt.Sprintf("No matching federated identity record found for presented assertion issuer '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. %s", issuer, WorkloadIdentityFederationDocs)}
	}
	var bySubject []*azure.FederatedCredential
	caseOnly := false
	for _, f := range byIssuer {
		if f.ClaimsMatchingExpression != nil && f.Subject == "" {
			// Flexible credentials are not supported for Kubernetes issuers
			// (only GitHub, GitLab and Terraform Cloud); they match nothing here.
			continue
		}
		switch {
		case f.Subject == subject:
			bySubject = append(bySubject, f)
		case strings.EqualFold(f.Subject, subject):
			caseOnly = true
		}
	}
	if len(bySubject) == 0 {
		if caseOnly {
			return nil, &AADSTSError{Code: CodeSubjectCaseMismatch, HTTPStatus: 401, OAuthError: "invalid_client",
				Message: fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. See documentation at: %s. See breaking change notification and remediation at: https://learn.microsoft.com/en-us/entra/identity-platform/reference-breaking-changes#august-2024.", subject, WorkloadIdentityFederationDocs)}
		}
		return nil, &AADSTSError{Code: CodeSubjectMismatch, HTTPStatus: 401, OAuthError: "invalid_client",
			Message: fmt.Sprintf("No matching federated identity record found for presented assertion subject '%s'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. %s", subject, WorkloadIdentityFederationDocs)}
	}
	for _, f := range bySubject {
		for _, want := range f.Audiences {
			for _, got := range audiences {
				if want == got {
					return &ExchangeResult{Identity: id, Credential: f, ObjectID: id.PrincipalID, ClientID: id.ClientID, TenantID: id.TenantID,
						Evidence: []source.Location{id.Src, f.Src}}, nil
				}
			}
		}
	}
	return nil, &AADSTSError{Code: CodeAudienceMismatch, HTTPStatus: 401, OAuthError: "invalid_client",
		Message: fmt.Sprintf("No matching federated identity record found for presented assertion audience '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. %s", strings.Join(audiences, ","), WorkloadIdentityFederationDocs)}
}

// identityByClientID finds the user-assigned identity with the client ID
// (GUIDs compare case-insensitively).
func identityByClientID(e *env.Environment, clientID string) *azure.Identity {
	if clientID == "" {
		return nil
	}
	for _, id := range e.Azure.Identities {
		if strings.EqualFold(id.ClientID, clientID) {
			return id
		}
	}
	return nil
}

// credentialsOf returns the federated credentials of an identity: those
// whose resource ID lies under the identity's, or, without IDs, those listed
// for an identity of the same name. Sorted by name for stable output.
func credentialsOf(e *env.Environment, id *azure.Identity) []*azure.FederatedCredential {
	var out []*azure.FederatedCredential
	prefix := strings.ToLower(id.ID) + "/federatedidentitycredentials/"
	for _, f := range e.Azure.FederatedCredentials {
		if f.ID != "" && id.ID != "" {
			if strings.HasPrefix(strings.ToLower(f.ID), prefix) {
				out = append(out, f)
			}
			continue
		}
		if strings.EqualFold(f.IdentityName(), id.Name) {
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func tenantOf(e *env.Environment) string {
	if e.Directory != nil && e.Directory.TenantID != "" {
		return e.Directory.TenantID
	}
	if e.Cluster != nil && e.Cluster.Identity != nil && e.Cluster.Identity.TenantID != "" {
		return e.Cluster.Identity.TenantID
	}
	for _, id := range e.Azure.Identities {
		if id.TenantID != "" {
			return id.TenantID
		}
	}
	return ""
}
