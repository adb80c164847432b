package token

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthhq/berth/auth"
)

func TestVerifierRejects(t *testing.T) {
	clk := newClock()
	now := clk.now()
	key := newECKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other := newECKey(t)
	kid, rsaKid := thumb(t, key.Public()), thumb(t, rsaKey.Public())
	v := newTestVerifier(t, clk, []crypto.PublicKey{key.Public(), rsaKey.Public()})
	iss := newTestIssuer(t, key, clk)

	pull := []auth.Access{repo("team/app", "pull")}
	good := goodClaims(now, repo("team/app", "pull"))
	es := func(c jwt.MapClaims) string {
		return craft(t, jwt.SigningMethodES256, key, map[string]any{"kid": kid}, c)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	validTok := es(good)
	parts := strings.Split(validTok, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(
		[]byte(`{"iss":"`+testIssuer+`","aud":"`+testService+`","exp":9999999999,"access":[{"type":"repository","name":"team/app","actions":["push"]}]}`)) +
		"." + parts[2]
	refresh, err := iss.IssueRefresh("alice")
	if err != nil {
		t.Fatal(err)
	}
	pushTok, _, _, err := iss.Issue("alice", []auth.Access{repo("team/app", "push")})
	if err != nil {
		t.Fatal(err)
	}
	jwkHeader := map[string]any{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}

	tests := []struct {
		name  string
		token string
		need  []auth.Access
		want  error // nil: a challenge without error
	}{
		{"no token", "", pull, nil},
		{"garbage", "not-a-token", pull, auth.ErrInvalidToken},
		{"two segments", "abc.def", pull, auth.ErrInvalidToken},
		{"bad signature (other key, our kid)", craft(t, jwt.SigningMethodES256, other, map[string]any{"kid": kid}, good), pull, auth.ErrInvalidToken},
		{"tampered claims", tampered, []auth.Access{repo("team/app", "push")}, auth.ErrInvalidToken},
		{"alg none", craft(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": kid}, good), pull, auth.ErrInvalidToken},
		{"HS256 with the public key PEM", craft(t, jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": kid}, good), pull, auth.ErrInvalidToken},
		{"HS256 with the public key DER", craft(t, jwt.SigningMethodHS256, pubDER, map[string]any{"kid": kid}, good), pull, auth.ErrInvalidToken},
		{"alg of another key type", craft(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": kid}, good), pull, auth.ErrInvalidToken},
		{"ES384 claimed for RSA kid", craft(t, jwt.SigningMethodES256, key, map[string]any{"kid": rsaKid, "alg": "ES384"}, good), pull, auth.ErrInvalidToken},
		{"RS512 not allowed", craft(t, jwt.SigningMethodRS512, rsaKey, map[string]any{"kid": rsaKid}, good), pull, auth.ErrInvalidToken},
		{"expired", es(with(good, "exp", now.Add(-time.Minute).Unix())), pull, auth.ErrInvalidToken},
		{"no exp", es(with(good, "exp", nil)), pull, auth.ErrInvalidToken},
		{"not yet valid", es(with(good, "nbf", now.Add(2*time.Minute).Unix())), pull, auth.ErrInvalidToken},
		{"wrong audience", es(with(good, "aud", "other.registry")), pull, auth.ErrInvalidToken},
		{"no audience", es(with(good, "aud", nil)), pull, auth.ErrInvalidToken},
		{"wrong issuer", es(with(good, "iss", "someone-else")), pull, auth.ErrInvalidToken},
		{"unknown kid", craft(t, jwt.SigningMethodES256, other, map[string]any{"kid": thumb(t, other.Public())}, good), pull, auth.ErrInvalidToken},
		{"no kid", craft(t, jwt.SigningMethodES256, key, nil, good), pull, auth.ErrInvalidToken},
		{"own jwk header, own key", craft(t, jwt.SigningMethodES256, other, map[string]any{"kid": kid, "jwk": jwkHeader}, good), pull, auth.ErrInvalidToken},
		{"jwk header, even signed by our key", craft(t, jwt.SigningMethodES256, key, map[string]any{"kid": kid, "jwk": jwkHeader}, good), pull, auth.ErrInvalidToken},
		{"x5c header", craft(t, jwt.SigningMethodES256, key, map[string]any{"kid": kid, "x5c": []string{"MIIB"}}, good), pull, auth.ErrInvalidToken},
		{"jku header", craft(t, jwt.SigningMethodES256, key, map[string]any{"kid": kid, "jku": "https://evil.test/jwks"}, good), pull, auth.ErrInvalidToken},
		{"crit header", craft(t, jwt.SigningMethodES256, key, map[string]any{"kid": kid, "crit": []string{"exp"}}, good), pull, auth.ErrInvalidToken},
		{"refresh token as access token", refresh, nil, auth.ErrInvalidToken},
		{"refresh-use claim with the service audience", es(with(good, "token_use", "refresh")), nil, auth.ErrInvalidToken},
		{"access for another repository", validTok, []auth.Access{repo("team/other", "pull")}, auth.ErrInsufficientScope},
		{"missing action", validTok, []auth.Access{repo("team/app", "pull", "push")}, auth.ErrInsufficientScope},
		{"push only, pull needed", pushTok, pull, auth.ErrInsufficientScope},
		{"repository grant for registry resource", validTok, []auth.Access{{Type: auth.TypeRegistry, Name: "team/app", Actions: []string{"pull"}}}, auth.ErrInsufficientScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Authorize(t.Context(), bearerRequest(tt.token), tt.need)
			if id != nil {
				t.Fatalf("accepted, identity %v", id.Account())
			}
			var ch *auth.Challenge
			if !errors.As(err, &ch) {
				t.Fatalf("err = %v, want a *auth.Challenge", err)
			}
			if tt.want == nil && ch.Err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if ch.Realm != testRealm || ch.Service != testService || len(ch.Scope) != len(tt.need) {
				t.Fatalf("challenge = %+v", ch)
			}
			if strings.Contains(err.Error(), tt.token) && tt.token != "" {
				t.Fatal("error text holds the token")
			}
		})
	}
}

func TestVerifierAccepts(t *testing.T) {
	clk := newClock()
	now := clk.now()
	ec := newECKey(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, clk, []crypto.PublicKey{ec.Public(), rsaKey.Public(), edKey.Public()})
	lt, err := libtrustKeyID(ec.Public())
	if err != nil {
		t.Fatal(err)
	}
	good := goodClaims(now, repo("team/app", "pull", "push"), auth.Access{Type: auth.TypeRegistry, Name: "catalog", Actions: []string{"*"}})
	es := func(c jwt.MapClaims) string {
		return craft(t, jwt.SigningMethodES256, ec, map[string]any{"kid": thumb(t, ec.Public())}, c)
	}
	tests := []struct {
		name  string
		token string
		need  []auth.Access
	}{
		{"ES256", es(good), []auth.Access{repo("team/app", "pull")}},
		{"RS256", craft(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": thumb(t, rsaKey.Public())}, good), []auth.Access{repo("team/app", "push")}},
		{"EdDSA", craft(t, jwt.SigningMethodEdDSA, edKey, map[string]any{"kid": thumb(t, edKey.Public())}, good), []auth.Access{repo("team/app", "pull", "push")}},
		{"libtrust kid", craft(t, jwt.SigningMethodES256, ec, map[string]any{"kid": lt}, good), nil},
		{"empty need", es(good), nil},
		{"wildcard action", es(good), []auth.Access{{Type: auth.TypeRegistry, Name: "catalog", Actions: []string{"*"}}}},
		{"expired within leeway", es(with(good, "exp", now.Add(-20*time.Second).Unix())), nil},
		{"not yet valid within leeway", es(with(good, "nbf", now.Add(20*time.Second).Unix())), nil},
		{"audience list", es(with(good, "aud", []string{"x", testService})), nil},
		{"anonymous, no sub", es(with(good, "sub", nil)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Authorize(t.Context(), bearerRequest(tt.token), tt.need)
			if err != nil {
				t.Fatal(err)
			}
			if !id.Can(auth.TypeRepository, "team/app", "pull") {
				t.Fatal("identity cannot pull team/app")
			}
		})
	}
}

func TestVerifierRealm(t *testing.T) {
	clk := newClock()
	key := newECKey(t)
	var ks KeySet
	if err := ks.Add("", key.Public()); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(&ks, testIssuer, testService, "")
	if err != nil {
		t.Fatal(err)
	}
	v.now = clk.now
	tests := []struct {
		name  string
		setup func(r *http.Request)
		want  string
	}{
		{"plain http", func(*http.Request) {}, "http://reg.example:5000/token"},
		{"tls", func(r *http.Request) { r.TLS = &tls.ConnectionState{} }, "https://reg.example:5000/token"},
		{"forwarded https", func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https") }, "https://reg.example:5000/token"},
		{"forwarded list", func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "https, http") }, "https://reg.example:5000/token"},
		{"forwarded http", func(r *http.Request) { r.Header.Set("X-Forwarded-Proto", "http") }, "http://reg.example:5000/token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bearerRequest("")
			r.Host = "reg.example:5000"
			tt.setup(r)
			_, err := v.Authorize(t.Context(), r, nil)
			var ch *auth.Challenge
			if !errors.As(err, &ch) || ch.Realm != tt.want || ch.Err != nil {
				t.Fatalf("err = %v, realm %q, want %q", err, ch.Realm, tt.want)
			}
		})
	}
}

func TestNewVerifierValidates(t *testing.T) {
	var ks KeySet
	if err := ks.Add("", newECKey(t).Public()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                   string
		keys                   *KeySet
		issuer, service, realm string
		opts                   []VerifierOption
	}{
		{"nil keys", nil, testIssuer, testService, "", nil},
		{"empty keys", &KeySet{}, testIssuer, testService, "", nil},
		{"no issuer", &ks, "", testService, "", nil},
		{"no service", &ks, testIssuer, "", "", nil},
		{"relative realm", &ks, testIssuer, testService, "/token", nil},
		{"ftp realm", &ks, testIssuer, testService, "ftp://x/token", nil},
		{"negative leeway", &ks, testIssuer, testService, "", []VerifierOption{WithLeeway(-time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewVerifier(tt.keys, tt.issuer, tt.service, tt.realm, tt.opts...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestVerifierKeySetCopied: keys added to a set after NewVerifier are not
// trusted by it.
func TestVerifierKeySetCopied(t *testing.T) {
	clk := newClock()
	a, b := newECKey(t), newECKey(t)
	var ks KeySet
	if err := ks.Add("", a.Public()); err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(&ks, testIssuer, testService, testRealm)
	if err != nil {
		t.Fatal(err)
	}
	v.now = clk.now
	if err := ks.Add("", b.Public()); err != nil {
		t.Fatal(err)
	}
	tok, _, _, err := newTestIssuer(t, b, clk).Issue("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Authorize(t.Context(), bearerRequest(tok), nil); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("err = %v, want invalid token", err)
	}
}
