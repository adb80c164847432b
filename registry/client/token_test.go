package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRealmRules(t *testing.T) {
	tests := []struct {
		name    string
		realm   func(f *fake, tlsURL string) string
		creds   bool
		wantErr error
	}{
		{"same host over http", func(f *fake, _ string) string { return f.srv.URL + "/token" }, true, nil},
		{"other host over http, anonymous", func(f *fake, _ string) string {
			return strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1) + "/token"
		}, false, nil},
		{"other host over http, with credentials", func(f *fake, _ string) string {
			return strings.Replace(f.srv.URL, "127.0.0.1", "localhost", 1) + "/token"
		}, true, ErrInsecureRealm},
		{"other host over https", func(_ *fake, u string) string { return u + "/token" }, true, nil},
		{"not http", func(*fake, string) string { return "ftp://127.0.0.1/token" }, false, ErrInsecureRealm},
		{"relative", func(*fake, string) string { return "/token" }, false, ErrInsecureRealm},
		{"userinfo", func(f *fake, _ string) string {
			return strings.Replace(f.srv.URL, "://", "://u:p@", 1) + "/token"
		}, false, ErrInsecureRealm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.auth = "bearer"
			f.users["alice"] = fakeUser{password: "wonderland"}
			f.putManifest("a", "v1", manifestBody)
			tls := httptest.NewTLSServer(f) // serves the same token service over https
			t.Cleanup(tls.Close)
			f.realm = tt.realm(f, tls.URL)
			var creds Credentials = Anonymous{}
			if tt.creds {
				creds = StaticCredentials{f.host(): {Username: "alice", Password: "wonderland"}}
			}
			c, err := New(f.host(), WithCredentials(creds), WithTransport(tls.Client().Transport))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.HeadManifest(context.Background(), "a", "v1")
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("HeadManifest = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && len(f.tokenRequests()) != 0 {
				t.Errorf("a refused realm was asked for a token")
			}
		})
	}
}

func TestTokenErrors(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.users["alice"] = fakeUser{password: "wonderland"}
	c := newTestClient(t, f, StaticCredentials{f.host(): {Username: "alice", Password: "not-her-password"}})
	err := c.Ping(context.Background())
	var te *TokenError
	if !errors.As(err, &te) || !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("Ping = %v, want a *TokenError matching ErrUnauthorized", err)
	}
	msg := err.Error()
	if want := "ping " + f.host() + ": token request to "; !strings.HasPrefix(msg, want) {
		t.Errorf("error %q, want it to start %q", msg, want)
	}
	for _, want := range []string{f.srv.URL + "/token", "401", "incorrect username or password"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	// the fake echoes the password back; it must not reach the message
	if strings.Contains(msg, "not-her-password") {
		t.Errorf("error %q holds the password", msg)
	}
}

func TestTokenAnswers(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  string
		body    string
		wantErr string // in the error text; "" for success
	}{
		{"token", 200, "", `{"token":"t1"}`, ""},
		{"float expires_in", 200, "", `{"access_token":"t1","expires_in":299.5}`, ""},
		{"redirect", 302, "https://elsewhere.example/token", "", "not redirected"},
		{"not JSON", 200, "", "<html>", "decoding answer"},
		{"no token", 200, "", `{"expires_in":60}`, "holds no token"},
		{"huge", 200, "", `{"token":"` + strings.Repeat("a", 1<<20) + `"}`, "larger than"},
		{"server error", 500, "", "database down", "500 Internal Server Error: database down"},
		{"echoes password", 401, "", `{"details":"wrong password s3cret-pw"}`, "wrong password [redacted]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("Location", tt.header)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(tokens.Close)
			f := newFake(t)
			f.auth = "bearer"
			f.realm = tokens.URL + "/token"
			f.tokens["t1"] = nil
			c := newTestClient(t, f, StaticCredentials{f.host(): {Username: "alice", Password: "s3cret-pw"}})
			err := c.Ping(context.Background())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Ping = %v, want an error with %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("error %q holds the password", err)
			}
		})
	}
}
