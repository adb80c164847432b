// Package token is the registry's own token issuer and its token verifier,
// after the docker token authentication specification
// (distribution's docs/spec/auth/token.md, jwt.md and oauth.md).
//
// A token is a JWT signed with ES256 (EC P-256, the default), ES384 (P-384),
// RS256 (RSA) or EdDSA (Ed25519). Its header carries "alg", "typ": "JWT" and
// "kid", the RFC 7638 thumbprint of the signing key. Its claims are:
//
//	iss        the issuer name both sides are configured with
//	sub        the account ("" for anonymous, then omitted)
//	aud        the service, the registry's name (a string)
//	exp        expiry; nbf and iat the issuing time; jti a random id
//	access     [{"type","name","actions"}], what was granted
//
// Refresh tokens (the docker "identity token" kept by `docker login`) are
// JWTs from the same key with "token_use": "refresh", the issuer name as
// audience and no access; the Verifier refuses them as access tokens.
//
// Issuer signs, Verifier (an auth.Authorizer) checks tokens on registry
// requests, Handler serves the token endpoint. Keys come from PEM files
// (LoadPrivateKey, LoadOrCreateKey; KeySet.AddPEMFile for public keys and
// certificate bundles) and JWKS files (KeySet.AddJWKSFile).
package token

import (
	"encoding/json"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthhq/berth/auth"
)

// Token use claim values.
const (
	useRefresh = "refresh"
)

// Defaults.
const (
	// DefaultLifetime is how long an access token lives.
	DefaultLifetime = 5 * time.Minute
	// DefaultRefreshLifetime is how long a refresh token lives.
	DefaultRefreshLifetime = 30 * 24 * time.Hour
	// DefaultLeeway is the clock skew tolerated on exp and nbf.
	DefaultLeeway = 30 * time.Second
)

// claims is the JWT claim set of both token kinds. It implements jwt.Claims
// itself (rather than embedding jwt.RegisteredClaims) so that a single
// audience is written as a string, as the spec's examples and older
// registries expect, without touching the jwt package's global switch.
type claims struct {
	Issuer    string           `json:"iss,omitempty"`
	Subject   string           `json:"sub,omitempty"`
	Audience  audience         `json:"aud,omitempty"`
	ExpiresAt *jwt.NumericDate `json:"exp,omitempty"`
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
	IssuedAt  *jwt.NumericDate `json:"iat,omitempty"`
	ID        string           `json:"jti,omitempty"`
	Access    []auth.Access    `json:"access,omitempty"`
	Use       string           `json:"token_use,omitempty"`
}

func (c *claims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *claims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *claims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *claims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *claims) GetSubject() (string, error)                  { return c.Subject, nil }
func (c *claims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings(c.Audience), nil }

var _ jwt.Claims = (*claims)(nil)

// audience is the aud claim: written as a string when it holds one value,
// read from a string or an array.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

func (a *audience) UnmarshalJSON(b []byte) error {
	var cs jwt.ClaimStrings
	if err := json.Unmarshal(b, &cs); err != nil {
		return err
	}
	*a = audience(cs)
	return nil
}
