// Package token signs and validates the JWTs of the local emulators: RS256
// signing keys with rotation (persisted as PEM files so tokens survive a
// restart), the JWKS that publishes them, and a strict validator that accepts
// RS256 only (never "none" or HMAC), a key ID from the trusted key set, the
// expected issuer and audience, and a current validity window.
package token

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// KeyBits is the RSA modulus size of the signing keys.
const KeyBits = 2048

// key is one RSA key with its key ID.
type key struct {
	id      string
	priv    *rsa.PrivateKey
	created time.Time
}

// KeySet is an ordered set of RS256 keys: the newest signs, all are
// published and accepted, so a rotation does not invalidate tokens already
// issued. Safe for concurrent use.
type KeySet struct {
	mu   sync.RWMutex
	dir  string // "" when not persisted
	keys []*key // oldest first; the last one signs
	jwks jose.JSONWebKeySet
}

// NewKeySet returns a key set with one fresh key, kept in memory only.
func NewKeySet() (*KeySet, error) {
	ks := &KeySet{}
	if err := ks.Rotate(); err != nil {
		return nil, err
	}
	return ks, nil
}

// LoadKeySet reads the keys kept in dir (one PKCS#1 PEM file per key, named
// by creation order) or, if there are none, creates one and writes it.
func LoadKeySet(dir string) (*KeySet, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating key directory: %w", err)
	}
	ks := &KeySet{dir: dir}
	names, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("reading signing key: %w", err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("%s: no PEM block", n)
		}
		priv, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		st, _ := os.Stat(n)
		ks.keys = append(ks.keys, &key{id: KeyID(&priv.PublicKey), priv: priv, created: st.ModTime()})
	}
	if len(ks.keys) == 0 {
		if err := ks.Rotate(); err != nil {
			return nil, err
		}
	}
	ks.rebuild()
	return ks, nil
}

// KeyID is the key ID of a public key: the base64url SHA-256 of its DER
// encoding, stable across restarts.
func KeyID(pub *rsa.PublicKey) string {
	der := x509.MarshalPKCS1PublicKey(pub)
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Rotate adds a new signing key; older keys stay published and valid.
func (ks *KeySet) Rotate() error {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return fmt.Errorf("generating signing key: %w", err)
	}
	k := &key{id: KeyID(&priv.PublicKey), priv: priv, created: time.Now()}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if ks.dir != "" {
		name := filepath.Join(ks.dir, fmt.Sprintf("%04d-%s.pem", len(ks.keys), k.id))
		b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})
		if err := os.WriteFile(name, b, 0o600); err != nil {
			return fmt.Errorf("writing signing key: %w", err)
		}
	}
	ks.keys = append(ks.keys, k)
	ks.rebuild()
	return nil
}

// Retire removes every key but the newest n from the set (and its files):
// tokens signed by a retired key stop validating.
func (ks *KeySet) Retire(keep int) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if keep < 1 {
		keep = 1
	}
	if len(ks.keys) <= keep {
		return nil
	}
	old := ks.keys[:len(ks.keys)-keep]
	ks.keys = append([]*key(nil), ks.keys[len(ks.keys)-keep:]...)
	if ks.dir != "" {
		for _, k := range old {
			matches, _ := filepath.Glob(filepath.Join(ks.dir, "*-"+k.id+".pem"))
			for _, m := range matches {
				if err := os.Remove(m); err != nil {
					return err
				}
			}
		}
	}
	ks.rebuild()
	return nil
}

func (ks *KeySet) rebuild() {
	set := jose.JSONWebKeySet{}
	// Newest first, as Entra lists the current key first.
	for i := len(ks.keys) - 1; i >= 0; i-- {
		k := ks.keys[i]
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.id, Algorithm: string(jose.RS256), Use: "sig"})
	}
	ks.jwks = set
}

// SigningKeyID is the ID of the key that signs new tokens.
func (ks *KeySet) SigningKeyID() string {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.keys[len(ks.keys)-1].id
}

// JWKS returns the public keys, newest first.
func (ks *KeySet) JWKS() jose.JSONWebKeySet {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.jwks
}

// Sign serializes claims as a compact RS256 JWT signed by the newest key,
// with typ JWT and the key's kid in the header.
func (ks *KeySet) Sign(claims any) (string, error) {
	ks.mu.RLock()
	k := ks.keys[len(ks.keys)-1]
	ks.mu.RUnlock()
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.id)
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.priv}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

// Validation errors callers branch on.
var (
	ErrMalformed = errors.New("token is malformed or not signed with RS256")
	ErrKey       = errors.New("token is not signed by a trusted key")
	ErrExpired   = errors.New("token is expired or not yet valid")
	ErrIssuer    = errors.New("token issuer is not trusted")
	ErrAudience  = errors.New("token audience is not accepted")
)

// Validator checks a JWT strictly. Keys returns the trusted key set at the
// time of the call (so rotations are seen at once).
type Validator struct {
	Keys      func() jose.JSONWebKeySet
	Issuers   []string // accepted iss values, exact
	Audiences []string // accepted aud values, exact; any one must be present
	Now       func() time.Time
	Leeway    time.Duration // clock skew allowed on exp/nbf/iat
}

// Claims are the registered claims the validator returns.
type Claims = jwt.Claims

// Validate verifies raw and decodes its payload into each of dest (after
// the registered claims). The error wraps one of the Err values above.
func (v *Validator) Validate(raw string, dest ...any) (*Claims, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(tok.Headers) != 1 {
		return nil, ErrMalformed
	}
	kid := tok.Headers[0].KeyID
	if kid == "" {
		return nil, fmt.Errorf("%w: no kid in the header", ErrKey)
	}
	set := v.Keys()
	keys := set.Key(kid)
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: unknown kid %q", ErrKey, kid)
	}
	var std jwt.Claims
	out := append([]any{&std}, dest...)
	if err := tok.Claims(keys[0].Key, out...); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if std.Expiry == nil {
		return nil, fmt.Errorf("%w: no exp claim", ErrExpired)
	}
	if err := std.ValidateWithLeeway(jwt.Expected{Time: now}, v.Leeway); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrExpired, err)
	}
	if !contains(v.Issuers, std.Issuer) {
		return nil, fmt.Errorf("%w: %q", ErrIssuer, std.Issuer)
	}
	ok := false
	for _, a := range std.Audience {
		if contains(v.Audiences, a) {
			ok = true
		}
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrAudience, strings.Join(std.Audience, ","))
	}
	return &std, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Unverified decodes the payload of raw without checking the signature (for
// deciding which issuer's keys to check it with). The caller must validate
// the token before trusting any of it.
func Unverified(raw string, dest ...any) error {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return tok.UnsafeClaimsWithoutVerification(dest...)
}
