package entra

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// STSError is an error of the Entra token service: the HTTP status, the
// OAuth error, the AADSTS code and its message, rendered in the body shape
// Entra sends ({"error","error_description":"AADSTSnnnn: … Trace ID …",
// "error_codes",…}).
type STSError struct {
	Status     int
	OAuthError string
	Code       int
	Message    string // without the "AADSTSnnnn: " prefix
}

func (e *STSError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.Code, e.Message) }

// statusOf is the HTTP status and OAuth error Entra answers each code with
// (workload-identity-and-keyvault.md §2.4; OAuth 2.0 error responses).
var statusOf = map[int]struct {
	status int
	oauth  string
}{
	70016:   {400, "authorization_pending"},
	70020:   {400, "expired_token"},
	70000:   {400, "invalid_grant"},
	70003:   {400, "unsupported_grant_type"},
	70021:   {400, "invalid_request"},
	90002:   {400, "invalid_request"},
	90061:   {400, "invalid_request"},
	50027:   {400, "invalid_request"},
	900144:  {400, "invalid_request"},
	900612:  {400, "invalid_request"},
	700016:  {400, "unauthorized_client"},
	700024:  {400, "invalid_client"},
	700027:  {401, "invalid_client"},
	700211:  {401, "invalid_client"},
	700212:  {401, "invalid_client"},
	700213:  {401, "invalid_client"},
	7000215: {401, "invalid_client"},
	7000218: {401, "invalid_client"},
	1002012: {400, "invalid_scope"},
	70011:   {400, "invalid_scope"},
	500011:  {400, "invalid_resource"},
}

var codePrefix = regexp.MustCompile(`^AADSTS\d+:\s*`)

// NewSTSError builds the error for an AADSTS code with Entra's status and
// OAuth error for that code (400 invalid_request for codes not in the
// table). A leading "AADSTSnnnn: " in msg is dropped.
func NewSTSError(code int, msg string) *STSError {
	st, ok := statusOf[code]
	if !ok {
		st.status, st.oauth = 400, "invalid_request"
	}
	return &STSError{Status: st.status, OAuthError: st.oauth, Code: code, Message: codePrefix.ReplaceAllString(msg, "")}
}

func stsErrorf(code int, format string, args ...any) *STSError {
	return NewSTSError(code, fmt.Sprintf(format, args...))
}

// errorBody is Entra's v2 error response.
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
	ErrorURI         string `json:"error_uri"`
}

const stsTimeFormat = "2006-01-02 15:04:05Z"

func writeSTSError(w http.ResponseWriter, r *http.Request, now time.Time, e *STSError) {
	trace := newUUID()
	corr := r.Header.Get("client-request-id")
	if corr == "" {
		corr = newUUID()
	}
	ts := now.UTC().Format(stsTimeFormat)
	msg := strings.TrimRight(e.Message, " ")
	body := errorBody{
		Error:            e.OAuthError,
		ErrorDescription: fmt.Sprintf("AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s", e.Code, msg, trace, corr, ts),
		ErrorCodes:       []int{e.Code},
		Timestamp:        ts,
		TraceID:          trace,
		CorrelationID:    corr,
		ErrorURI:         fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", e.Code),
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("x-ms-request-id", trace)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(body)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
