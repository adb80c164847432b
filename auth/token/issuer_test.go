package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthhq/berth/auth"
)

// TestRoundTrip: what the Issuer issues, the Verifier accepts, for every
// supported key type, and the Identity reports.
func TestRoundTrip(t *testing.T) {
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.Signer
		alg  string
	}{
		{"P-256", newECKey(t), "ES256"},
		{"P-384", p384, "ES384"},
		{"RSA", rsaKey, "RS256"},
		{"Ed25519", edKey, "EdDSA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			iss := newTestIssuer(t, tt.key, clk)
			v := newTestVerifier(t, clk, []crypto.PublicKey{iss.Public()})
			granted := []auth.Access{repo("team/app", "pull", "push"), {Type: auth.TypeRegistry, Name: "catalog", Actions: []string{"*"}}}
			tok, expiresIn, issuedAt, err := iss.Issue("alice", granted)
			if err != nil {
				t.Fatal(err)
			}
			if expiresIn != DefaultLifetime || !issuedAt.Equal(clk.now()) {
				t.Fatalf("expiresIn %v issuedAt %v", expiresIn, issuedAt)
			}
			header, claims := decodeParts(t, tok)
			if header["alg"] != tt.alg || header["kid"] != iss.KeyID() || header["typ"] != "JWT" {
				t.Fatalf("header = %v", header)
			}
			for _, k := range []string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"} {
				if _, ok := claims[k]; !ok {
					t.Errorf("claim %q missing: %v", k, claims)
				}
			}
			if claims["aud"] != testService {
				t.Errorf("aud = %#v, want the string %q", claims["aud"], testService)
			}
			id, err := v.Authorize(t.Context(), bearerRequest(tok), []auth.Access{repo("team/app", "push")})
			if err != nil {
				t.Fatal(err)
			}
			checks := []struct {
				typ, name, action string
				want              bool
			}{
				{auth.TypeRepository, "team/app", "pull", true},
				{auth.TypeRepository, "team/app", "push", true},
				{auth.TypeRepository, "team/app", "delete", false},
				{auth.TypeRepository, "team/other", "pull", false},
				{auth.TypeRegistry, "catalog", "*", true},
			}
			for _, c := range checks {
				if got := id.Can(c.typ, c.name, c.action); got != c.want {
					t.Errorf("Can(%s, %s, %s) = %v", c.typ, c.name, c.action, got)
				}
			}
			if id.Account() != "alice" {
				t.Errorf("Account = %q", id.Account())
			}
			// Lifetime: valid until exp (+ leeway), not after.
			clk.advance(DefaultLifetime + DefaultLeeway - time.Second)
			if _, err := v.Authorize(t.Context(), bearerRequest(tok), nil); err != nil {
				t.Fatalf("refused within leeway: %v", err)
			}
			clk.advance(2 * time.Second)
			if _, err := v.Authorize(t.Context(), bearerRequest(tok), nil); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("expired token: err = %v", err)
			}
		})
	}
}

// decodeParts returns a token's header and claims without verifying.
func decodeParts(t *testing.T, tok string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func TestIdentityPolicy(t *testing.T) {
	clk := newClock()
	iss := newTestIssuer(t, newECKey(t), clk)
	policy := fakePolicy{"alice": {"repository:team/private": {"pull"}}}
	tok, _, _, err := iss.Issue("alice", []auth.Access{{Type: auth.TypeRegistry, Name: "catalog", Actions: []string{"*"}}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		opts   []VerifierOption
		repo   string
		action string
		want   bool
	}{
		{"without policy", nil, "team/private", "pull", false},
		{"policy allows", []VerifierOption{WithPolicy(policy)}, "team/private", "pull", true},
		{"policy refuses action", []VerifierOption{WithPolicy(policy)}, "team/private", "push", false},
		{"policy refuses repository", []VerifierOption{WithPolicy(policy)}, "team/other", "pull", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, clk, []crypto.PublicKey{iss.Public()}, tt.opts...)
			id, err := v.Authorize(t.Context(), bearerRequest(tok), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := id.Can(auth.TypeRepository, tt.repo, tt.action); got != tt.want {
				t.Fatalf("Can = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRefreshTokens(t *testing.T) {
	clk := newClock()
	key := newECKey(t)
	iss := newTestIssuer(t, key, clk, WithRefreshLifetime(time.Hour))
	other := newTestIssuer(t, newECKey(t), clk)
	rt, err := iss.IssueRefresh("alice")
	if err != nil {
		t.Fatal(err)
	}
	_, claims := decodeParts(t, rt)
	if claims["token_use"] != "refresh" || claims["access"] != nil || claims["aud"] != testIssuer {
		t.Fatalf("refresh claims = %v", claims)
	}
	access, _, _, err := iss.Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := other.IssueRefresh("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iss.IssueRefresh(""); err == nil {
		t.Fatal("anonymous refresh token issued")
	}
	tests := []struct {
		name    string
		token   string
		advance time.Duration
		want    string // account; "" means refused
	}{
		{"valid", rt, 0, "alice"},
		{"access token", access, 0, ""},
		{"other key", foreign, 0, ""},
		{"garbage", "x.y.z", 0, ""},
		{"alg none", craft(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": iss.KeyID()},
			jwt.MapClaims{"iss": testIssuer, "aud": testIssuer, "sub": "alice", "token_use": "refresh", "exp": clk.now().Add(time.Hour).Unix()}), 0, ""},
		{"expired", rt, time.Hour + DefaultLeeway + time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := clk.now()
			iss.now = func() time.Time { return base.Add(tt.advance) }
			defer func() { iss.now = clk.now }()
			got, err := iss.VerifyRefresh(tt.token)
			if tt.want == "" {
				if err == nil || !errors.Is(err, auth.ErrInvalidToken) {
					t.Fatalf("got %q, err %v; want refusal", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, err %v", got, err)
			}
		})
	}
}

func TestNewIssuerValidates(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := newECKey(t)
	tests := []struct {
		name            string
		key             crypto.Signer
		issuer, service string
		opts            []IssuerOption
	}{
		{"nil key", nil, testIssuer, testService, nil},
		{"no issuer", key, "", testService, nil},
		{"no service", key, testIssuer, "", nil},
		{"small RSA", small, testIssuer, testService, nil},
		{"P-521", p521, testIssuer, testService, nil},
		{"foreign signer", wrappedSigner{key}, testIssuer, testService, nil},
		{"zero lifetime", key, testIssuer, testService, []IssuerOption{WithLifetime(0)}},
		{"negative refresh lifetime", key, testIssuer, testService, []IssuerOption{WithRefreshLifetime(-time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewIssuer(tt.key, tt.issuer, tt.service, tt.opts...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	iss, err := NewIssuer(key, testIssuer, testService, WithLifetime(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, exp, _, err := iss.Issue("", nil); err != nil || exp != time.Minute {
		t.Fatalf("Issue: %v, %v", exp, err)
	}
}

// wrappedSigner is a crypto.Signer the jwt package cannot sign ES256 with.
type wrappedSigner struct{ crypto.Signer }
