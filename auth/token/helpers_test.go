package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/berthhq/berth/auth"
)

const (
	testIssuer  = "berth-test-issuer"
	testService = "registry.test"
	testRealm   = "https://auth.test/token"
)

// clock is a settable time source shared by an Issuer, Verifier or Handler
// under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_800_000_000, 0)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newECKey returns a fresh P-256 key.
func newECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newTestIssuer returns an Issuer over key on clk.
func newTestIssuer(t *testing.T, key crypto.Signer, clk *clock, opts ...IssuerOption) *Issuer {
	t.Helper()
	iss, err := NewIssuer(key, testIssuer, testService, opts...)
	if err != nil {
		t.Fatal(err)
	}
	iss.now = clk.now
	return iss
}

// newTestVerifier returns a Verifier trusting pubs (named by thumbprint)
// on clk.
func newTestVerifier(t *testing.T, clk *clock, pubs []crypto.PublicKey, opts ...VerifierOption) *Verifier {
	t.Helper()
	var ks KeySet
	for _, p := range pubs {
		if err := ks.Add("", p); err != nil {
			t.Fatal(err)
		}
	}
	v, err := NewVerifier(&ks, testIssuer, testService, testRealm, opts...)
	if err != nil {
		t.Fatal(err)
	}
	v.now = clk.now
	return v
}

// thumb returns pub's thumbprint.
func thumb(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	tp, err := Thumbprint(pub)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// craft signs a token with arbitrary header fields and claims, for the
// verifier's rejection cases.
func craft(t *testing.T, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	maps.Copy(tok.Header, header)
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// goodClaims returns claims the test Verifier accepts at now.
func goodClaims(now time.Time, access ...auth.Access) jwt.MapClaims {
	acc := make([]any, 0, len(access))
	for _, a := range access {
		acts := make([]any, len(a.Actions))
		for i, s := range a.Actions {
			acts[i] = s
		}
		acc = append(acc, map[string]any{"type": a.Type, "name": a.Name, "actions": acts})
	}
	return jwt.MapClaims{
		"iss": testIssuer, "sub": "alice", "aud": testService,
		"exp": now.Add(time.Minute).Unix(), "nbf": now.Unix(), "iat": now.Unix(),
		"jti": "id", "access": acc,
	}
}

// with returns a copy of c with the given members set (nil deletes).
func with(c jwt.MapClaims, kv ...any) jwt.MapClaims {
	out := maps.Clone(c)
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

// repo is a repository access entry.
func repo(name string, actions ...string) auth.Access {
	return auth.Access{Type: auth.TypeRepository, Name: name, Actions: actions}
}

// bearerRequest returns a GET with the token as bearer credentials ("" for
// none).
func bearerRequest(tok string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://registry.test/v2/", nil)
	if tok != "" {
		r.Header.Set("Authorization", "Bearer "+tok)
	}
	return r
}

// fakeAuthn is an in-memory Authenticator.
type fakeAuthn struct {
	mu    sync.Mutex
	users map[string]string
	calls int
}

func (f *fakeAuthn) Authenticate(_ context.Context, user, password string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if p, ok := f.users[user]; ok && p == password {
		return nil
	}
	return fmt.Errorf("fake: %w", auth.ErrBadCredentials)
}

func (f *fakeAuthn) Exists(_ context.Context, user string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.users[user]
	return ok, nil
}

func (f *fakeAuthn) remove(user string) {
	f.mu.Lock()
	delete(f.users, user)
	f.mu.Unlock()
}

// fakePolicy allows, per account, fixed actions on named resources
// ("type:name").
type fakePolicy map[string]map[string][]string

func (p fakePolicy) Allowed(account string, a auth.Access) []string {
	allowed := p[account][a.Type+":"+a.Name]
	var out []string
	for _, act := range a.Actions {
		if slices.Contains(allowed, act) {
			out = append(out, act)
		}
	}
	return out
}
