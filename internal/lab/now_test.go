package lab

import (
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func nowFunc() time.Time { return time.Now() }

func tokenOpts(scopes []string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: scopes}
}

func newRequest(l *Lab, method, url, bearer string) (*http.Request, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	return req, nil
}
