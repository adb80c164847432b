package token

import (
	"bytes"
	"crypto"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// handlerFixture is a Handler over fakes, with a Verifier for its tokens
// and the log it writes.
type handlerFixture struct {
	h      *Handler
	iss    *Issuer
	v      *Verifier
	authn  *fakeAuthn
	clk    *clock
	logBuf *bytes.Buffer
}

func newHandlerFixture(t *testing.T, opts ...HandlerOption) *handlerFixture {
	t.Helper()
	f := &handlerFixture{clk: newClock(), logBuf: &bytes.Buffer{}}
	f.iss = newTestIssuer(t, newECKey(t), f.clk)
	f.v = newTestVerifier(t, f.clk, []crypto.PublicKey{f.iss.Public()})
	f.authn = &fakeAuthn{users: map[string]string{"alice": "alice-secret-pw", "bob": "bob-secret-pw"}}
	policy := fakePolicy{
		"":      {"repository:public/app": {"pull"}},
		"alice": {"repository:team/app": {"pull", "push"}, "repository:team/ro": {"pull"}, "registry:catalog": {"*"}},
		"bob":   {"repository:team/ro": {"pull"}},
	}
	logger := slog.New(slog.NewTextHandler(f.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := NewHandler(f.iss, f.authn, policy, append([]HandlerOption{WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	h.now = f.clk.now
	f.h = h
	return f
}

// get sends GET /token?query with optional Basic credentials from addr.
func (f *handlerFixture) get(query, user, password, addr string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/token?"+query, nil)
	if user != "" || password != "" {
		r.SetBasicAuth(user, password)
	}
	if addr != "" {
		r.RemoteAddr = addr + ":40000"
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// post sends POST /token with form.
func (f *handlerFixture) post(form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// tokenBody is the union of both answers' fields.
type tokenBody struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

func decodeBody[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	return v
}

// granted verifies tok and returns the access it holds, as scope strings.
func (f *handlerFixture) granted(t *testing.T, tok string) (account string, scopes []string) {
	t.Helper()
	vt, err := f.v.verify(tok)
	if err != nil {
		t.Fatalf("issued token does not verify: %v", err)
	}
	for _, a := range vt.access {
		scopes = append(scopes, a.String())
	}
	return vt.account, scopes
}

const service = "service=" + testService

func TestHandlerGet(t *testing.T) {
	tests := []struct {
		name           string
		query          string
		user, password string
		wantAccount    string
		wantScopes     []string
		wantRefresh    bool
	}{
		{"anonymous", service + "&scope=repository:public/app:pull", "", "", "", []string{"repository:public/app:pull"}, false},
		{"anonymous asks push", service + "&scope=repository:public/app:pull,push", "", "", "", []string{"repository:public/app:pull"}, false},
		{"anonymous, nothing allowed", service + "&scope=repository:team/app:pull", "", "", "", nil, false},
		{"no scope (docker login)", service, "alice", "alice-secret-pw", "alice", nil, false},
		{"basic", service + "&scope=repository:team/app:pull,push", "alice", "alice-secret-pw", "alice", []string{"repository:team/app:pull,push"}, false},
		{"intersection", service + "&scope=repository:team/ro:push,pull", "alice", "alice-secret-pw", "alice", []string{"repository:team/ro:pull"}, false},
		{"scope with nothing allowed dropped", service + "&scope=repository:team/app:pull&scope=repository:secret/x:pull", "bob", "bob-secret-pw", "bob", nil, false},
		{"multiple scope params", service + "&scope=repository:team/app:push&scope=repository:team/ro:pull", "alice", "alice-secret-pw", "alice",
			[]string{"repository:team/app:push", "repository:team/ro:pull"}, false},
		{"space-separated scopes", service + "&scope=" + url.QueryEscape("repository:team/app:pull repository:team/ro:pull"), "alice", "alice-secret-pw", "alice",
			[]string{"repository:team/app:pull", "repository:team/ro:pull"}, false},
		{"same repository twice", service + "&scope=repository:team/app:pull&scope=repository:team/app:push", "alice", "alice-secret-pw", "alice",
			[]string{"repository:team/app:pull,push"}, false},
		{"catalog", service + "&scope=registry:catalog:*", "alice", "alice-secret-pw", "alice", []string{"registry:catalog:*"}, false},
		{"catalog refused", service + "&scope=registry:catalog:*", "bob", "bob-secret-pw", "bob", nil, false},
		{"matching account", service + "&account=alice", "alice", "alice-secret-pw", "alice", nil, false},
		{"offline_token", service + "&offline_token=true&client_id=docker", "alice", "alice-secret-pw", "alice", nil, true},
		{"offline_token anonymous", service + "&offline_token=true", "", "", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHandlerFixture(t)
			w := f.get(tt.query, tt.user, tt.password, "")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			body := decodeBody[tokenBody](t, w)
			if body.Token == "" || body.AccessToken != body.Token || body.ExpiresIn != 300 {
				t.Fatalf("body = %+v", body)
			}
			if at, err := time.Parse(time.RFC3339, body.IssuedAt); err != nil || !at.Equal(f.clk.now()) {
				t.Errorf("issued_at %q", body.IssuedAt)
			}
			account, scopes := f.granted(t, body.Token)
			if account != tt.wantAccount || !slices.Equal(scopes, tt.wantScopes) {
				t.Fatalf("granted %q %v, want %q %v", account, scopes, tt.wantAccount, tt.wantScopes)
			}
			if (body.RefreshToken != "") != tt.wantRefresh {
				t.Fatalf("refresh_token %q, want one: %v", body.RefreshToken, tt.wantRefresh)
			}
			if tt.wantRefresh {
				if acct, err := f.iss.VerifyRefresh(body.RefreshToken); err != nil || acct != tt.wantAccount {
					t.Fatalf("refresh token: %q, %v", acct, err)
				}
			}
		})
	}
}

func TestHandlerGetRefused(t *testing.T) {
	tests := []struct {
		name           string
		query          string
		user, password string
		status         int
		code           string
	}{
		{"wrong service", "service=other&scope=repository:team/app:pull", "", "", http.StatusBadRequest, "INVALID_REQUEST"},
		{"no service", "scope=repository:team/app:pull", "alice", "alice-secret-pw", http.StatusBadRequest, "INVALID_REQUEST"},
		{"unparsable scope", service + "&scope=repository:team/app", "", "", http.StatusBadRequest, "INVALID_REQUEST"},
		{"empty action", service + "&scope=repository:team/app:pull,", "", "", http.StatusBadRequest, "INVALID_REQUEST"},
		{"account mismatch", service + "&account=bob", "alice", "alice-secret-pw", http.StatusBadRequest, "INVALID_REQUEST"},
		{"bad password", service + "&scope=repository:team/app:pull", "alice", "wrong", http.StatusUnauthorized, "UNAUTHORIZED"},
		{"unknown user", service, "mallory", "alice-secret-pw", http.StatusUnauthorized, "UNAUTHORIZED"},
		{"empty user", service, "", "pw", http.StatusUnauthorized, "UNAUTHORIZED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHandlerFixture(t)
			w := f.get(tt.query, tt.user, tt.password, "")
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			body := decodeBody[struct{ Errors []dockerError }](t, w)
			if len(body.Errors) != 1 || body.Errors[0].Code != tt.code || body.Errors[0].Message == "" {
				t.Fatalf("body %s", w.Body)
			}
			if tt.status == http.StatusUnauthorized {
				if got := w.Header().Get("WWW-Authenticate"); got != `Basic realm="berth"` {
					t.Errorf("WWW-Authenticate %q", got)
				}
				want := `{"errors":[{"code":"UNAUTHORIZED","message":"incorrect username or password"}]}`
				if got := strings.TrimSpace(w.Body.String()); got != want {
					t.Errorf("body %s, want %s", got, want)
				}
			}
		})
	}
}

func TestHandlerLoginLimit(t *testing.T) {
	type attempt struct {
		user, password, addr string
		status               int
	}
	fail := func(user, addr string) attempt { return attempt{user, "wrong", addr, http.StatusUnauthorized} }
	tests := []struct {
		name     string
		attempts []attempt
		advance  time.Duration // then one more attempt
		last     attempt
	}{
		{"per address: 6th attempt refused, even with the right password", []attempt{
			fail("alice", "10.0.0.1"), fail("bob", "10.0.0.1"), fail("carol", "10.0.0.1"), fail("dave", "10.0.0.1"), fail("erin", "10.0.0.1"),
			{"bob", "bob-secret-pw", "10.0.0.1", http.StatusTooManyRequests},
			{"bob", "bob-secret-pw", "10.0.0.2", http.StatusOK},
		}, 0, attempt{"alice", "alice-secret-pw", "10.0.0.3", http.StatusOK}},
		{"per user: across addresses", []attempt{
			fail("alice", "10.0.0.1"), fail("alice", "10.0.0.2"), fail("alice", "10.0.0.3"), fail("alice", "10.0.0.4"), fail("alice", "10.0.0.5"),
			{"alice", "alice-secret-pw", "10.0.0.6", http.StatusTooManyRequests},
			{"bob", "bob-secret-pw", "10.0.0.6", http.StatusOK},
		}, 0, attempt{"alice", "alice-secret-pw", "10.0.0.7", http.StatusTooManyRequests}},
		{"window passes", []attempt{
			fail("alice", "10.0.0.1"), fail("alice", "10.0.0.1"), fail("alice", "10.0.0.1"), fail("alice", "10.0.0.1"), fail("alice", "10.0.0.1"),
			{"alice", "alice-secret-pw", "10.0.0.1", http.StatusTooManyRequests},
		}, time.Minute, attempt{"alice", "alice-secret-pw", "10.0.0.1", http.StatusOK}},
		{"success resets the user", []attempt{
			fail("alice", "10.0.0.1"), fail("alice", "10.0.0.2"), fail("alice", "10.0.0.3"), fail("alice", "10.0.0.4"),
			{"alice", "alice-secret-pw", "10.0.0.5", http.StatusOK},
			fail("alice", "10.0.0.6"),
		}, 0, attempt{"alice", "alice-secret-pw", "10.0.0.7", http.StatusOK}},
		{"anonymous requests are not limited", []attempt{
			fail("alice", "10.0.0.1"), fail("alice", "10.0.0.1"), fail("alice", "10.0.0.1"), fail("alice", "10.0.0.1"), fail("alice", "10.0.0.1"),
		}, 0, attempt{"", "", "10.0.0.1", http.StatusOK}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHandlerFixture(t)
			for i, a := range append(tt.attempts, attempt{}) {
				if i == len(tt.attempts) {
					f.clk.advance(tt.advance)
					a = tt.last
				}
				w := f.get(service, a.user, a.password, a.addr)
				if w.Code != a.status {
					t.Fatalf("attempt %d (%s from %s): status %d, want %d: %s", i+1, a.user, a.addr, w.Code, a.status, w.Body)
				}
				if w.Code == http.StatusTooManyRequests {
					body := decodeBody[struct{ Errors []dockerError }](t, w)
					if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" || body.Errors[0].Code != "TOOMANYREQUESTS" {
						t.Fatalf("Retry-After %q, body %s", ra, w.Body)
					}
				}
			}
		})
	}
}

func TestHandlerLimitCallsNoAuthenticator(t *testing.T) {
	f := newHandlerFixture(t, WithLoginLimit(2, time.Minute))
	f.get(service, "alice", "x", "10.0.0.1")
	f.get(service, "alice", "y", "10.0.0.1")
	calls := f.authn.calls
	if w := f.get(service, "alice", "alice-secret-pw", "10.0.0.1"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d", w.Code)
	}
	if f.authn.calls != calls {
		t.Fatal("a blocked login still reached the authenticator")
	}
}

func TestHandlerForwardedFor(t *testing.T) {
	tests := []struct {
		name      string
		opts      []HandlerOption
		wantBlock bool // after 5 failures from different X-Forwarded-For, same proxy
	}{
		{"ignored by default", nil, true},
		{"trusted with the option", []HandlerOption{WithTrustForwardedFor()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHandlerFixture(t, tt.opts...)
			for i := range 6 {
				r := httptest.NewRequest(http.MethodGet, "/token?"+service, nil)
				r.SetBasicAuth("user"+string(rune('a'+i)), "wrong")
				r.RemoteAddr = "192.0.2.1:1234"
				r.Header.Set("X-Forwarded-For", "198.51.100.7, 203.0.113."+string(rune('1'+i)))
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, r)
				if i == 5 && (w.Code == http.StatusTooManyRequests) != tt.wantBlock {
					t.Fatalf("6th attempt status %d", w.Code)
				}
			}
		})
	}
}
