package secretsstore

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/akssec/akssec/internal/keyvault"
	"github.com/akssec/akssec/internal/workloadid"
)

const dashes = "--------------------------------------------------------------------------------"

var statusText = map[int]string{200: "200 OK", 400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not Found"}

// tokenError renders an Entra token error as the provider sees it from
// azidentity's ClientAssertionCredential (azcore's response error layout;
// Entra's per-request trace and correlation IDs are left out).
func tokenError(authority, tenant string, e *workloadid.AADSTSError) string {
	body := struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorCodes       []int  `json:"error_codes"`
		ErrorURI         string `json:"error_uri"`
	}{e.OAuthError, e.Description(), []int{e.Code}, fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", e.Code)}
	js, _ := json.MarshalIndent(body, "", "  ")
	return fmt.Sprintf("ClientAssertionCredential authentication failed. \nPOST %s%s/oauth2/v2.0/token\n%s\nRESPONSE %d: %s\n%s\n%s\n%s\nTo troubleshoot, visit https://aka.ms/azsdk/go/identity/troubleshoot#client-assertion",
		strings.TrimSuffix(authority, "/")+"/", tenant, dashes, e.HTTPStatus, statusText[e.HTTPStatus], dashes, js, dashes)
}

// vaultError renders a Key Vault error body as azcore's ResponseError does.
func vaultError(method, url string, status int, body keyvault.ErrorBody) string {
	js, _ := json.MarshalIndent(body, "", "  ")
	return fmt.Sprintf("%s %s\n%s\nRESPONSE %d: %s\nERROR CODE: %s\n%s\n%s\n%s\n", method, url, dashes, status, statusText[status], body.Error.Code, dashes, js, dashes)
}

// mountEvent is the pod event kubelet records when the provider fails, as
// kubectl describe pod shows it.
func mountEvent(volume, ns, pod, providerErr string) string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : rpc error: code = Unknown desc = failed to mount secrets store objects for pod %s/%s, err: rpc error: code = Unknown desc = failed to mount objects, error: %s", volume, ns, pod, providerErr)
}

// driverEvent is the pod event for an error of the driver itself (before
// the provider is called).
func driverEvent(volume, code, msg string) string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : rpc error: code = %s desc = %s", volume, code, msg)
}
