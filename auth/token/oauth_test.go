package token

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// form builds a POST form from key, value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestHandlerPost(t *testing.T) {
	tests := []struct {
		name        string
		form        url.Values
		wantAccount string
		wantScopes  []string
		wantRefresh bool
	}{
		{"password", form("grant_type", "password", "username", "alice", "password", "alice-secret-pw", "service", testService,
			"client_id", "docker", "scope", "repository:team/app:pull,push repository:team/ro:pull,push"),
			"alice", []string{"repository:team/app:pull,push", "repository:team/ro:pull"}, false},
		{"password, offline", form("grant_type", "password", "username", "bob", "password", "bob-secret-pw", "service", testService,
			"access_type", "offline", "scope", "repository:team/ro:pull"),
			"bob", []string{"repository:team/ro:pull"}, true},
		{"password, no scope", form("grant_type", "password", "username", "bob", "password", "bob-secret-pw", "service", testService),
			"bob", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHandlerFixture(t)
			w := f.post(tt.form)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			body := decodeBody[tokenBody](t, w)
			if body.AccessToken == "" || body.Token != body.AccessToken || body.ExpiresIn != 300 || body.IssuedAt == "" {
				t.Fatalf("body %s", w.Body)
			}
			account, scopes := f.granted(t, body.AccessToken)
			if account != tt.wantAccount || !slices.Equal(scopes, tt.wantScopes) {
				t.Fatalf("granted %q %v, want %q %v", account, scopes, tt.wantAccount, tt.wantScopes)
			}
			if body.Scope != strings.Join(tt.wantScopes, " ") {
				t.Errorf("scope %q", body.Scope)
			}
			if (body.RefreshToken != "") != tt.wantRefresh {
				t.Fatalf("refresh_token %q", body.RefreshToken)
			}
		})
	}
}

func TestHandlerPostRefresh(t *testing.T) {
	f := newHandlerFixture(t)
	login := func(user, password string) string {
		w := f.post(form("grant_type", "password", "username", user, "password", password, "service", testService, "access_type", "offline"))
		if w.Code != http.StatusOK {
			t.Fatalf("login: %d %s", w.Code, w.Body)
		}
		return decodeBody[tokenBody](t, w).RefreshToken
	}
	aliceRT, bobRT := login("alice", "alice-secret-pw"), login("bob", "bob-secret-pw")
	access := decodeBody[tokenBody](t, f.get(service, "alice", "alice-secret-pw", "")).Token

	refresh := func(rt string, extra ...string) *httptest.ResponseRecorder {
		return f.post(form(append([]string{"grant_type", "refresh_token", "refresh_token", rt, "service", testService,
			"client_id", "docker", "scope", "repository:team/app:pull"}, extra...)...))
	}
	w := refresh(aliceRT)
	if w.Code != http.StatusOK {
		t.Fatalf("refresh: %d %s", w.Code, w.Body)
	}
	body := decodeBody[tokenBody](t, w)
	if account, scopes := f.granted(t, body.AccessToken); account != "alice" || !slices.Equal(scopes, []string{"repository:team/app:pull"}) {
		t.Fatalf("granted %q %v", account, scopes)
	}
	if body.RefreshToken != "" || body.Scope != "repository:team/app:pull" {
		t.Fatalf("body %s", w.Body)
	}
	if w := refresh(aliceRT, "access_type", "offline"); decodeBody[tokenBody](t, w).RefreshToken == "" {
		t.Fatalf("offline refresh gave no refresh token: %s", w.Body)
	}

	tests := []struct {
		name  string
		token string
		setup func()
		want  string // OAuth error
	}{
		{"access token as refresh token", access, nil, "invalid_grant"},
		{"garbage", "abc", nil, "invalid_grant"},
		{"empty", "", nil, "invalid_grant"},
		{"user removed", bobRT, func() { f.authn.remove("bob") }, "invalid_grant"},
		{"expired", aliceRT, func() { f.clk.advance(DefaultRefreshLifetime + time.Hour) }, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup()
			}
			w := refresh(tt.token)
			if w.Code != http.StatusBadRequest {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if b := decodeBody[oauthError](t, w); b.Error != tt.want || b.Description == "" {
				t.Fatalf("body %s", w.Body)
			}
		})
	}
}

func TestHandlerPostRefused(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		form        url.Values
		status      int
		oauthCode   string
	}{
		{"bad password", "", form("grant_type", "password", "username", "alice", "password", "nope", "service", testService), http.StatusBadRequest, "invalid_grant"},
		{"unknown user", "", form("grant_type", "password", "username", "mallory", "password", "nope", "service", testService), http.StatusBadRequest, "invalid_grant"},
		{"no username", "", form("grant_type", "password", "password", "nope", "service", testService), http.StatusBadRequest, "invalid_request"},
		{"wrong service", "", form("grant_type", "password", "username", "alice", "password", "alice-secret-pw", "service", "other"), http.StatusBadRequest, "invalid_request"},
		{"bad scope", "", form("grant_type", "password", "username", "alice", "password", "alice-secret-pw", "service", testService, "scope", "nonsense"), http.StatusBadRequest, "invalid_scope"},
		{"unsupported grant", "", form("grant_type", "client_credentials", "service", testService), http.StatusBadRequest, "unsupported_grant_type"},
		{"no grant", "", form("service", testService), http.StatusBadRequest, "unsupported_grant_type"},
		{"JSON body", "application/json", form("grant_type", "password"), http.StatusBadRequest, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHandlerFixture(t)
			r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			b := decodeBody[oauthError](t, w)
			if b.Error != tt.oauthCode || b.Description == "" || len(b.Errors) != 1 {
				t.Fatalf("body %s", w.Body)
			}
			if tt.oauthCode == "invalid_grant" && b.Description != "incorrect username or password" {
				t.Fatalf("description %q", b.Description)
			}
		})
	}
}

func TestHandlerPostLimit(t *testing.T) {
	f := newHandlerFixture(t, WithLoginLimit(3, time.Minute))
	bad := form("grant_type", "password", "username", "alice", "password", "nope", "service", testService)
	for range 3 {
		if w := f.post(bad); w.Code != http.StatusBadRequest {
			t.Fatalf("status %d", w.Code)
		}
	}
	w := f.post(form("grant_type", "password", "username", "alice", "password", "alice-secret-pw", "service", testService))
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "60" {
		t.Fatalf("status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if b := decodeBody[oauthError](t, w); b.Error == "" || len(b.Errors) != 1 || b.Errors[0].Code != "TOOMANYREQUESTS" {
		t.Fatalf("body %s", w.Body)
	}

	// Refresh tokens are limited by address too.
	f = newHandlerFixture(t, WithLoginLimit(3, time.Minute))
	rt, err := f.iss.IssueRefresh("alice")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		f.post(form("grant_type", "refresh_token", "refresh_token", "forged", "service", testService))
	}
	if w := f.post(form("grant_type", "refresh_token", "refresh_token", rt, "service", testService)); w.Code != http.StatusTooManyRequests {
		t.Fatalf("refresh after forged ones: status %d", w.Code)
	}
}

func TestHandlerMethods(t *testing.T) {
	f := newHandlerFixture(t)
	r := httptest.NewRequest(http.MethodPut, "/token", nil)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, POST" {
		t.Fatalf("status %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestHandlerLogsNoSecrets: passwords and tokens never reach the log.
func TestHandlerLogsNoSecrets(t *testing.T) {
	f := newHandlerFixture(t)
	var secrets []string
	w := f.get(service+"&offline_token=true&scope=repository:team/app:pull", "alice", "alice-secret-pw", "")
	b := decodeBody[tokenBody](t, w)
	secrets = append(secrets, "alice-secret-pw", b.Token, b.RefreshToken)
	f.get(service, "alice", "wrong-password-123", "")
	secrets = append(secrets, "wrong-password-123")
	w = f.post(form("grant_type", "refresh_token", "refresh_token", b.RefreshToken, "service", testService))
	secrets = append(secrets, decodeBody[tokenBody](t, w).AccessToken)
	f.post(form("grant_type", "refresh_token", "refresh_token", "forged.refresh.token-xyz", "service", testService))
	secrets = append(secrets, "forged.refresh.token-xyz")
	f.post(form("grant_type", "password", "username", "bob", "password", "bob-wrong-pw", "service", testService))
	secrets = append(secrets, "bob-wrong-pw")

	log := f.logBuf.String()
	if !strings.Contains(log, "token issued") || !strings.Contains(log, "token login failed") {
		t.Fatalf("log lacks the expected records:\n%s", log)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(log, s) {
			t.Errorf("log holds a secret %q:\n%s", s, log)
		}
	}
}

func TestNewHandlerValidates(t *testing.T) {
	clk := newClock()
	iss := newTestIssuer(t, newECKey(t), clk)
	authn := &fakeAuthn{}
	policy := fakePolicy{}
	tests := []struct {
		name   string
		iss    *Issuer
		authn  Authenticator
		policy Policy
		opts   []HandlerOption
	}{
		{"nil issuer", nil, authn, policy, nil},
		{"nil authenticator", iss, nil, policy, nil},
		{"nil policy", iss, authn, nil, nil},
		{"nil logger", iss, authn, policy, []HandlerOption{WithLogger(nil)}},
		{"zero limit", iss, authn, policy, []HandlerOption{WithLoginLimit(0, time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewHandler(tt.iss, tt.authn, tt.policy, tt.opts...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
