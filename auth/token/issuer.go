package token

import (
	"crypto"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthhq/berth/auth"
)

// Issuer signs access and refresh tokens with one private key. It is safe
// for concurrent use.
type Issuer struct {
	key             crypto.Signer
	method          jwt.SigningMethod
	kid             string
	name            string
	service         string
	lifetime        time.Duration
	refreshLifetime time.Duration
	leeway          time.Duration
	now             func() time.Time
}

// IssuerOption configures an Issuer.
type IssuerOption func(*Issuer)

// WithLifetime sets how long access tokens live (default DefaultLifetime).
func WithLifetime(d time.Duration) IssuerOption {
	return func(i *Issuer) { i.lifetime = d }
}

// WithRefreshLifetime sets how long refresh tokens live (default
// DefaultRefreshLifetime).
func WithRefreshLifetime(d time.Duration) IssuerOption {
	return func(i *Issuer) { i.refreshLifetime = d }
}

// WithRefreshLeeway sets the clock skew VerifyRefresh tolerates (default
// DefaultLeeway).
func WithRefreshLeeway(d time.Duration) IssuerOption {
	return func(i *Issuer) { i.leeway = d }
}

// NewIssuer returns an Issuer signing with key (EC P-256 -> ES256, P-384 ->
// ES384, RSA -> RS256, Ed25519 -> EdDSA; see LoadOrCreateKey) as issuer
// (the "iss" claim, which verifiers are configured with) for service (the
// "aud" claim: the registry's service name, as in its challenges). The kid
// is the key's RFC 7638 thumbprint. Fails for an unsupported key type,
// empty names or non-positive lifetimes.
func NewIssuer(key crypto.Signer, issuer, service string, opts ...IssuerOption) (*Issuer, error) {
	if key == nil {
		return nil, errors.New("token issuer: no signing key")
	}
	if issuer == "" || service == "" {
		return nil, errors.New("token issuer: issuer and service names are required")
	}
	method, err := algFor(key.Public())
	if err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	kid, err := Thumbprint(key.Public())
	if err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	i := &Issuer{
		key: key, method: method, kid: kid, name: issuer, service: service,
		lifetime:        DefaultLifetime,
		refreshLifetime: DefaultRefreshLifetime,
		leeway:          DefaultLeeway,
		now:             time.Now,
	}
	for _, o := range opts {
		o(i)
	}
	if i.lifetime <= 0 || i.refreshLifetime <= 0 || i.leeway < 0 {
		return nil, errors.New("token issuer: lifetimes must be positive and leeway not negative")
	}
	// The jwt package signs ES* and RS* only with the standard library's
	// key types; find out now rather than on the first request.
	if _, err := i.sign(&claims{}); err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	return i, nil
}

// KeyID returns the kid written in every token's header.
func (i *Issuer) KeyID() string { return i.kid }

// Public returns the public half of the signing key, for a KeySet.
func (i *Issuer) Public() crypto.PublicKey { return i.key.Public() }

// Name returns the issuer name (the "iss" claim).
func (i *Issuer) Name() string { return i.name }

// Service returns the service name (the "aud" claim of access tokens).
func (i *Issuer) Service() string { return i.service }

// Issue signs an access token for account ("" for anonymous) granting
// exactly access; callers decide what to grant. It returns the token, its
// lifetime and its issuing time (for the token endpoint's expires_in and
// issued_at). Fails only if signing fails.
func (i *Issuer) Issue(account string, access []auth.Access) (token string, expiresIn time.Duration, issuedAt time.Time, err error) {
	now := i.now().Truncate(time.Second)
	granted := make([]auth.Access, 0, len(access))
	for _, a := range access {
		a.Actions = slices.Clone(a.Actions)
		granted = append(granted, a)
	}
	c := i.claims(account, now, i.lifetime)
	c.Audience = audience{i.service}
	c.Access = granted
	token, err = i.sign(c)
	if err != nil {
		return "", 0, time.Time{}, err
	}
	return token, i.lifetime, now, nil
}

// IssueRefresh signs a refresh token for account: no access, "token_use":
// "refresh", the issuer name as audience, the refresh lifetime. Fails for
// an empty account (anonymous clients get no refresh tokens) or if signing
// fails.
func (i *Issuer) IssueRefresh(account string) (string, error) {
	if account == "" {
		return "", errors.New("refresh token: no account")
	}
	c := i.claims(account, i.now().Truncate(time.Second), i.refreshLifetime)
	c.Audience = audience{i.name}
	c.Use = useRefresh
	return i.sign(c)
}

// VerifyRefresh checks a refresh token made by IssueRefresh with this
// Issuer's key and returns its account. Whether the account still exists
// is for the caller to check. Failures wrap auth.ErrInvalidToken.
func (i *Issuer) VerifyRefresh(token string) (account string, err error) {
	var c claims
	_, err = jwt.ParseWithClaims(token, &c, func(t *jwt.Token) (any, error) {
		if err := refuseEmbeddedKeys(t); err != nil {
			return nil, err
		}
		if kid, _ := t.Header["kid"].(string); kid != i.kid {
			return nil, errors.New("unknown kid")
		}
		return i.key.Public(), nil
	},
		jwt.WithValidMethods([]string{i.method.Alg()}),
		jwt.WithIssuer(i.name),
		jwt.WithAudience(i.name),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(i.leeway),
		jwt.WithTimeFunc(i.now),
	)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w: refresh token: %w", auth.ErrInvalidToken, err)
	case c.Use != useRefresh:
		return "", fmt.Errorf("%w: not a refresh token", auth.ErrInvalidToken)
	case c.Subject == "":
		return "", fmt.Errorf("%w: refresh token without subject", auth.ErrInvalidToken)
	}
	return c.Subject, nil
}

// claims returns the registered claims common to both token kinds.
func (i *Issuer) claims(account string, now time.Time, lifetime time.Duration) *claims {
	var id [16]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	return &claims{
		Issuer:    i.name,
		Subject:   account,
		ExpiresAt: jwt.NewNumericDate(now.Add(lifetime)),
		NotBefore: jwt.NewNumericDate(now),
		IssuedAt:  jwt.NewNumericDate(now),
		ID:        base64.RawURLEncoding.EncodeToString(id[:]),
	}
}

// sign serializes and signs c with the kid in the header.
func (i *Issuer) sign(c *claims) (string, error) {
	t := jwt.NewWithClaims(i.method, c)
	t.Header["kid"] = i.kid
	s, err := t.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}
