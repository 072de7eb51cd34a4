package lab

import (
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func nowFunc() time.Time { return time.Now() }

func tokenOpts(scopes []string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: scopes}
}
