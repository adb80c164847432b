package token

import (
	"crypto"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthhq/berth/auth"
)

func TestVerifierCache(t *testing.T) {
	tests := []struct {
		name  string
		size  int
		check func(t *testing.T, v *Verifier, iss *Issuer, clk *clock)
	}{
		{"cached token still expires", 16, func(t *testing.T, v *Verifier, iss *Issuer, clk *clock) {
			tok := issue(t, iss, repo("a", "pull"))
			mustAuthorize(t, v, tok, repo("a", "pull"))
			if v.cache.len() != 1 {
				t.Fatalf("cache holds %d", v.cache.len())
			}
			clk.advance(DefaultLifetime + DefaultLeeway)
			if _, err := v.Authorize(t.Context(), bearerRequest(tok), nil); !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("expired cached token: err = %v", err)
			}
			if v.cache.len() != 0 {
				t.Fatal("expired token left in the cache")
			}
		}},
		{"cached token still checked for scope", 16, func(t *testing.T, v *Verifier, iss *Issuer, _ *clock) {
			tok := issue(t, iss, repo("a", "pull"))
			mustAuthorize(t, v, tok, repo("a", "pull"))
			if _, err := v.Authorize(t.Context(), bearerRequest(tok), []auth.Access{repo("a", "push")}); !errors.Is(err, auth.ErrInsufficientScope) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"failures are not cached", 16, func(t *testing.T, v *Verifier, _ *Issuer, _ *clock) {
			_, _ = v.Authorize(t.Context(), bearerRequest("x.y.z"), nil)
			if v.cache.len() != 0 {
				t.Fatal("a failed token was cached")
			}
		}},
		{"bounded", 4, func(t *testing.T, v *Verifier, iss *Issuer, _ *clock) {
			for i := range 20 {
				mustAuthorize(t, v, issue(t, iss, repo(fmt.Sprint(i), "pull")), repo(fmt.Sprint(i), "pull"))
				if v.cache.len() > 4 {
					t.Fatalf("cache holds %d", v.cache.len())
				}
			}
		}},
		{"expired entries make room first", 4, func(t *testing.T, v *Verifier, iss *Issuer, clk *clock) {
			for i := range 4 {
				mustAuthorize(t, v, issue(t, iss, repo(fmt.Sprint(i), "pull")))
			}
			clk.advance(time.Hour)
			mustAuthorize(t, v, issue(t, iss))
			if v.cache.len() != 1 {
				t.Fatalf("cache holds %d", v.cache.len())
			}
		}},
		{"off", 0, func(t *testing.T, v *Verifier, iss *Issuer, _ *clock) {
			tok := issue(t, iss, repo("a", "pull"))
			mustAuthorize(t, v, tok, repo("a", "pull"))
			mustAuthorize(t, v, tok, repo("a", "pull"))
			if v.cache != nil {
				t.Fatal("cache built")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			iss := newTestIssuer(t, newECKey(t), clk)
			v := newTestVerifier(t, clk, []crypto.PublicKey{iss.Public()}, WithCacheSize(tt.size))
			tt.check(t, v, iss, clk)
		})
	}
}

// TestKeyForRefusesMismatchedAlg checks the key lookup on its own, beneath
// the parser's allowlist: an HMAC or other-family alg never gets a key.
func TestKeyForRefusesMismatchedAlg(t *testing.T) {
	clk := newClock()
	key := newECKey(t)
	v := newTestVerifier(t, clk, []crypto.PublicKey{key.Public()})
	kid := thumb(t, key.Public())
	for _, m := range []jwt.SigningMethod{jwt.SigningMethodHS256, jwt.SigningMethodRS256, jwt.SigningMethodES384, jwt.SigningMethodEdDSA, jwt.SigningMethodNone} {
		t.Run(m.Alg(), func(t *testing.T) {
			tok := &jwt.Token{Method: m, Header: map[string]any{"alg": m.Alg(), "kid": kid}}
			if k, err := v.keyFor(tok); err == nil {
				t.Fatalf("got key %T", k)
			}
		})
	}
	tok := &jwt.Token{Method: jwt.SigningMethodES256, Header: map[string]any{"alg": "ES256", "kid": kid}}
	if _, err := v.keyFor(tok); err != nil {
		t.Fatal(err)
	}
}

func issue(t *testing.T, iss *Issuer, access ...auth.Access) string {
	t.Helper()
	tok, _, _, err := iss.Issue("alice", access)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func mustAuthorize(t *testing.T, v *Verifier, tok string, need ...auth.Access) {
	t.Helper()
	if _, err := v.Authorize(t.Context(), bearerRequest(tok), need); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAuthorize measures a HEAD storm's token check: one client's
// token presented again and again.
func BenchmarkAuthorize(b *testing.B) {
	for _, size := range []int{4096, 0} {
		b.Run(fmt.Sprintf("cache=%d", size), func(b *testing.B) {
			key, err := benchKey(b)
			if err != nil {
				b.Fatal(err)
			}
			iss, err := NewIssuer(key, testIssuer, testService)
			if err != nil {
				b.Fatal(err)
			}
			var ks KeySet
			if err := ks.Add("", iss.Public()); err != nil {
				b.Fatal(err)
			}
			v, err := NewVerifier(&ks, testIssuer, testService, testRealm, WithCacheSize(size))
			if err != nil {
				b.Fatal(err)
			}
			need := []auth.Access{repo("bench/head", "pull")}
			tok, _, _, err := iss.Issue("alice", need)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				r := bearerRequest(tok)
				for pb.Next() {
					if _, err := v.Authorize(r.Context(), r, need); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchKey makes a signing key in a temporary directory.
func benchKey(b *testing.B) (crypto.Signer, error) {
	key, _, err := LoadOrCreateKey(b.TempDir() + "/key.pem")
	return key, err
}
