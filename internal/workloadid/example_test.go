package workloadid_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/akssec/akssec/internal/env"
	"github.com/akssec/akssec/internal/snapshot"
	"github.com/akssec/akssec/internal/workloadid"
)

// Entra's answer for trading-sa's token: trading-identity's federated
// credential names the issuer without its trailing slash.
func ExampleExchange() {
	s, err := snapshot.Load(context.Background(), "../../examples/contoso-bank", snapshot.Options{})
	if err != nil {
		panic(err)
	}
	e := env.New(s)
	issuer := e.Cluster.IssuerURL()
	_, err = workloadid.Exchange(e, "c1000000-0000-4000-8000-000000000002", issuer,
		workloadid.Subject("trading", "trading-sa"), []string{workloadid.TokenExchangeAudience})
	var ae *workloadid.AADSTSError
	if errors.As(err, &ae) {
		fmt.Println(ae.Code, ae.HTTPStatus, ae.OAuthError)
	}
	res, err := workloadid.Exchange(e, "c1000000-0000-4000-8000-000000000001", issuer,
		workloadid.Subject("default", "myapp-sa"), []string{workloadid.TokenExchangeAudience})
	fmt.Println(res.Identity.Name, res.Credential.Name, err)
	// Output:
	// 700211 401 invalid_client
	// myapp-identity myapp-fic <nil>
}
