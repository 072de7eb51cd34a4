package lab

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/akssec/akssec/internal/emulator/oidc"
	"github.com/akssec/akssec/internal/emulator/token"
	"github.com/akssec/akssec/internal/env"
)

// HTTPClient is an HTTP client for in-process callers (tests, benchmarks,
// Go programs that embed the lab): it trusts the lab CA and dials every lab
// host name to the lab listener, so *.localhost needs no resolver support.
// Pass it as the Azure SDK's ClientOptions.Transport.
func (l *Lab) HTTPClient() *http.Client {
	addr := l.Addr
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: l.CA.Pool(), MinVersion: tls.VersionTLS12},
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(a)
			if err != nil {
				return nil, err
			}
			if host != AuthorityHost && host != "127.0.0.1" && !strings.HasSuffix(strings.ToLower(host), "."+VaultDNSSuffix) {
				return nil, fmt.Errorf("lab client: %s is not a lab host", host)
			}
			return d.DialContext(ctx, network, addr)
		},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 64,
	}}
}

// ServiceAccountToken issues the projected token a kubelet would mount for
// the service account (audience api://AzureADTokenExchange unless others
// are given), signed by the running lab's cluster issuer.
func (l *Lab) ServiceAccountToken(namespace, name string, audiences ...string) (string, error) {
	if l.Issuer == nil {
		return "", fmt.Errorf("the snapshot's cluster has no OIDC issuer: no service-account token can be federated")
	}
	return l.Issuer.Token(tokenRequest(l.env, namespace, name, audiences))
}

// ServiceAccountToken issues a projected service-account token with the
// issuer keys kept in a lab directory (the lab need not be running): iss is
// the cluster issuer URL of the snapshot, sub system:serviceaccount:NS:NAME.
func ServiceAccountToken(dir string, e *env.Environment, namespace, name string, audiences ...string) (string, error) {
	issuer := IssuerURL(e)
	if issuer == "" {
		return "", fmt.Errorf("the snapshot's cluster has no OIDC issuer (azure/aks.json oidcIssuerProfile): no service-account token can be federated")
	}
	keys, err := token.LoadKeySet(filepath.Join(dir, issuerKeysDir))
	if err != nil {
		return "", err
	}
	return (&oidc.Issuer{URL: issuer, Keys: keys}).Token(tokenRequest(e, namespace, name, audiences))
}

func tokenRequest(e *env.Environment, namespace, name string, audiences []string) oidc.Request {
	r := oidc.Request{Namespace: namespace, ServiceAccount: name, Audiences: audiences}
	if sa := e.ServiceAccount(namespace, name); sa != nil {
		r.ServiceAccountUID = string(sa.Obj.UID)
	}
	return r
}
