package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthhq/berth/auth"
)

// Policy decides what an account may do. The token handler asks it what to
// grant; a Verifier given one (WithPolicy) asks it too when an Identity is
// asked about access its token does not hold. auth/acl implements it.
type Policy interface {
	// Allowed returns the subset of a.Actions that account ("" for
	// anonymous) may perform on a's resource; none is an empty result.
	Allowed(account string, a auth.Access) []string
}

// Verifier checks the bearer tokens of registry requests: it is the
// registry-side auth.Authorizer of token auth. It is safe for concurrent
// use.
//
// A token passes when its header names (kid) one of the configured keys,
// its alg is the one algorithm that key's type implies (ES256, ES384,
// RS256 or EdDSA), its signature verifies with that key, it carries no key
// of its own (jwk, jku, x5c, x5u) and no crit header, its iss is the
// configured issuer, its aud includes the service, it has an exp, exp and
// nbf hold within the leeway, and it is not a refresh token. Keys carried
// in a token are never used.
//
// Verified tokens are remembered (by their exact text, bounded, until they
// expire) so that a client reusing its token does not pay for a signature
// check on every request. The keys are fixed when the Verifier is built, so
// this cache cannot outlive a key: to revoke a key, build a new Verifier
// without it (which starts with an empty cache).
type Verifier struct {
	keys      *KeySet
	issuer    string
	service   string
	realm     string
	leeway    time.Duration
	policy    Policy
	parser    *jwt.Parser
	cache     *tokenCache
	cacheSize int
	now       func() time.Time
}

var _ auth.Authorizer = (*Verifier)(nil)

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier)

// WithLeeway sets the clock skew tolerated on exp and nbf (default
// DefaultLeeway).
func WithLeeway(d time.Duration) VerifierOption {
	return func(v *Verifier) { v.leeway = d }
}

// WithPolicy makes Identity.Can also ask p when the token does not hold the
// access asked about. A registry that issues its own tokens uses it, with
// the handler's Policy, to filter its catalog to the repositories the
// account may pull.
func WithPolicy(p Policy) VerifierOption {
	return func(v *Verifier) { v.policy = p }
}

// WithCacheSize bounds how many verified tokens are remembered (default
// 4096; 0 turns the cache off).
func WithCacheSize(n int) VerifierOption {
	return func(v *Verifier) { v.cacheSize = n }
}

// NewVerifier returns a Verifier trusting a copy of keys, for tokens from
// issuer (the "iss" claim) for service (the "aud" claim, also the service
// of challenges). realm is the token endpoint's URL sent in challenges;
// when empty it is derived from each request as scheme://Host/token, the
// scheme https when the request came over TLS or X-Forwarded-Proto says
// https. Fails for an empty key set, empty names, a realm that is not an
// absolute http(s) URL, or a negative leeway or cache size.
func NewVerifier(keys *KeySet, issuer, service, realm string, opts ...VerifierOption) (*Verifier, error) {
	if keys == nil || keys.Len() == 0 {
		return nil, errors.New("token verifier: no verification keys")
	}
	if issuer == "" || service == "" {
		return nil, errors.New("token verifier: issuer and service names are required")
	}
	if realm != "" {
		u, err := url.Parse(realm)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("token verifier: realm %q is not an absolute http(s) URL", realm)
		}
	}
	v := &Verifier{
		keys: keys.clone(), issuer: issuer, service: service, realm: realm,
		leeway: DefaultLeeway, cacheSize: 4096, now: time.Now,
	}
	for _, o := range opts {
		o(v)
	}
	if v.leeway < 0 || v.cacheSize < 0 {
		return nil, errors.New("token verifier: leeway and cache size must not be negative")
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{
			jwt.SigningMethodES256.Alg(), jwt.SigningMethodES384.Alg(),
			jwt.SigningMethodRS256.Alg(), jwt.SigningMethodEdDSA.Alg(),
		}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(service),
		jwt.WithExpirationRequired(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(func() time.Time { return v.now() }),
	)
	if v.cacheSize > 0 {
		v.cache = newTokenCache(v.cacheSize)
	}
	return v, nil
}

// Authorize implements auth.Authorizer. It reads "Authorization: Bearer
// <token>", verifies the token and checks that its access covers every
// action of every entry of need (an empty need only requires a valid
// token). It returns an Identity whose Account is the token's sub. A
// missing or non-Bearer Authorization gives a *auth.Challenge with a nil
// Err; a token that fails verification one wrapping auth.ErrInvalidToken;
// one that lacks access one wrapping auth.ErrInsufficientScope. Each
// Challenge carries the realm, the service and need as its scope.
func (v *Verifier) Authorize(_ context.Context, r *http.Request, need []auth.Access) (auth.Identity, error) {
	raw, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, v.challenge(r, need, nil)
	}
	tok, err := v.verify(raw)
	if err != nil {
		return nil, v.challenge(r, need, fmt.Errorf("%w: %w", auth.ErrInvalidToken, err))
	}
	for _, n := range need {
		for _, act := range n.Actions {
			if !tok.holds(n.Type, n.Name, act) {
				return nil, v.challenge(r, need, fmt.Errorf("%w: token lacks %s:%s:%s",
					auth.ErrInsufficientScope, n.Type, n.Name, act))
			}
		}
	}
	return &identity{tok: tok, policy: v.policy}, nil
}

// bearer extracts the token of a Bearer Authorization value.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && tok != "" && strings.EqualFold(scheme, "Bearer")
}

// verified is what a verified token says.
type verified struct {
	account string
	access  []auth.Access
	exp     time.Time
	nbf     time.Time // zero when the token has none
}

// holds reports whether the token grants action on typ/name.
func (t *verified) holds(typ, name, action string) bool {
	for _, a := range t.access {
		if a.Allows(typ, name, action) {
			return true
		}
	}
	return false
}

// current reports whether now lies within the token's validity, leeway
// included, with the same bounds as the jwt package's validator.
func (t *verified) current(now time.Time, leeway time.Duration) bool {
	return now.Before(t.exp.Add(leeway)) && (t.nbf.IsZero() || !now.Add(leeway).Before(t.nbf))
}

// verify checks raw's signature and claims, from the cache when it was
// verified before and is still current.
func (v *Verifier) verify(raw string) (*verified, error) {
	if v.cache != nil {
		if t := v.cache.get(raw); t != nil {
			if t.current(v.now(), v.leeway) {
				return t, nil
			}
			v.cache.remove(raw)
		}
	}
	var c claims
	if _, err := v.parser.ParseWithClaims(raw, &c, v.keyFor); err != nil {
		return nil, err
	}
	if c.Use == useRefresh {
		return nil, errors.New("a refresh token is not an access token")
	}
	t := &verified{account: c.Subject, access: c.Access, exp: c.ExpiresAt.Time}
	if c.NotBefore != nil {
		t.nbf = c.NotBefore.Time
	}
	if v.cache != nil {
		v.cache.put(raw, t, v.now(), v.leeway)
	}
	return t, nil
}

// keyFor is the jwt.Keyfunc: the configured key named by kid, provided the
// token's alg is the one that key verifies and the token brings no key of
// its own.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	if err := refuseEmbeddedKeys(t); err != nil {
		return nil, err
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("token has no kid")
	}
	k, ok := v.keys.keys[kid]
	if !ok {
		return nil, fmt.Errorf("token signed by unknown key %q", kid)
	}
	if t.Method.Alg() != k.method.Alg() {
		return nil, fmt.Errorf("alg %s does not fit key %q (%s)", t.Method.Alg(), kid, k.method.Alg())
	}
	return k.pub, nil
}

// refuseEmbeddedKeys fails for tokens that carry or point to their own key
// or certificate, or demand header extensions (crit) this package does not
// understand.
func refuseEmbeddedKeys(t *jwt.Token) error {
	for _, h := range []string{"jwk", "jku", "x5c", "x5u", "crit"} {
		if _, ok := t.Header[h]; ok {
			return fmt.Errorf("token header %q is not accepted", h)
		}
	}
	return nil
}

// challenge builds the refusal for r.
func (v *Verifier) challenge(r *http.Request, need []auth.Access, err error) *auth.Challenge {
	return &auth.Challenge{Realm: v.realmFor(r), Service: v.service, Scope: need, Err: err}
}

// realmFor returns the configured realm or one derived from r.
func (v *Verifier) realmFor(r *http.Request) string {
	if v.realm != "" {
		return v.realm
	}
	scheme := "http"
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",") // the first proxy's
	if r.TLS != nil || strings.EqualFold(strings.TrimSpace(proto), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/token"
}

// identity is the auth.Identity of a verified token.
type identity struct {
	tok    *verified
	policy Policy
}

var _ auth.Identity = (*identity)(nil)

// Account returns the token's sub.
func (id *identity) Account() string { return id.tok.account }

// Can reports whether the token grants action on typ/name or, with a
// Policy configured, whether the policy allows it to the token's account.
func (id *identity) Can(typ, name, action string) bool {
	if id.tok.holds(typ, name, action) {
		return true
	}
	if id.policy == nil {
		return false
	}
	allowed := id.policy.Allowed(id.tok.account, auth.Access{Type: typ, Name: name, Actions: []string{action}})
	return slices.Contains(allowed, action)
}
