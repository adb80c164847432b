package client

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestParseError(t *testing.T) {
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		wantCode    string
		wantMessage string
		wantError   string
		wantIs      []error
	}{
		{"OCI envelope", 404, "application/json",
			`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"tag":"v1"}}]}`,
			"MANIFEST_UNKNOWN", "manifest unknown", "MANIFEST_UNKNOWN: manifest unknown", []error{ErrNotFound}},
		{"several entries", 400, "application/json",
			`{"errors":[{"code":"DIGEST_INVALID","message":"bad"},{"code":"SIZE_INVALID","message":"worse"}]}`,
			"DIGEST_INVALID", "bad", "DIGEST_INVALID: bad; SIZE_INVALID: worse", []error{ErrDigestMismatch}},
		{"code without message", 401, "application/json", `{"errors":[{"code":"UNAUTHORIZED"}]}`,
			"UNAUTHORIZED", "", "UNAUTHORIZED", []error{ErrUnauthorized}},
		{"denied by scope, Berth style", 401, "application/json", `{"errors":[{"code":"DENIED","message":"insufficient_scope"}]}`,
			"DENIED", "insufficient_scope", "DENIED: insufficient_scope", []error{ErrUnauthorized, ErrDenied}},
		{"denied", 403, "application/json", `{"errors":[{"code":"DENIED","message":"no"}]}`,
			"DENIED", "no", "DENIED: no", []error{ErrDenied}},
		{"no body (HEAD)", 404, "", "", "", "", "unexpected status 404 Not Found", []error{ErrNotFound}},
		{"plain text", 502, "text/plain", "upstream broke\nsecond line", "", "upstream broke",
			"unexpected status 502 Bad Gateway: upstream broke", nil},
		{"html page", 503, "text/html; charset=utf-8", "<html><body>busy</body></html>", "", "",
			"unexpected status 503 Service Unavailable", nil},
		{"JSON without envelope", 500, "application/json", `{"oops":1}`, "", `{"oops":1}`,
			`unexpected status 500 Internal Server Error: {"oops":1}`, nil},
		{"empty envelope", 500, "application/json", `{"errors":[]}`, "", `{"errors":[]}`,
			`unexpected status 500 Internal Server Error: {"errors":[]}`, nil},
		{"control characters scrubbed", 400, "application/json",
			`{"errors":[{"code":"NAME_INVALID","message":"bad\u001b[31mname"}]}`,
			"NAME_INVALID", "bad [31mname", "NAME_INVALID: bad [31mname", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}
			if tt.contentType != "" {
				resp.Header.Set("Content-Type", tt.contentType)
			}
			e := parseError(resp)
			if e.StatusCode != tt.status || e.Code != tt.wantCode || e.Message != tt.wantMessage {
				t.Errorf("got %+v, want code %q message %q", e, tt.wantCode, tt.wantMessage)
			}
			if e.Error() != tt.wantError {
				t.Errorf("Error() = %q, want %q", e.Error(), tt.wantError)
			}
			wrapped := fmt.Errorf("get manifest a:v1: %w", e)
			var as *Error
			if !errors.As(wrapped, &as) || as != e {
				t.Error("errors.As does not find the *Error")
			}
			for _, target := range []error{ErrNotFound, ErrUnauthorized, ErrDenied, ErrDigestMismatch} {
				if got := errors.Is(wrapped, target); got != slices.Contains(tt.wantIs, target) {
					t.Errorf("errors.Is(%v) = %v", target, got)
				}
			}
		})
	}
}

func TestParseErrorBounded(t *testing.T) {
	body := `{"errors":[{"code":"X","message":"` + strings.Repeat("m", 1<<20) + `"}]}`
	resp := &http.Response{StatusCode: 500, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
	e := parseError(resp)
	if len(e.Error()) > 400 {
		t.Errorf("error of %d bytes from a huge body", len(e.Error()))
	}
}

func TestTokenErrorMessage(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"docker hub", `{"details":"incorrect username or password"}`, "incorrect username or password"},
		{"oauth2", `{"error":"invalid_grant","error_description":"refresh token expired"}`, "invalid_grant: refresh token expired"},
		{"registry:2 envelope", `{"errors":[{"code":"UNAUTHORIZED","message":"bad creds"}]}`, "UNAUTHORIZED: bad creds"},
		{"message field", `{"message":"nope"}`, "nope"},
		{"plain text", "go away\nnow", "go away"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tokenErrorMessage([]byte(tt.body)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	e := &TokenError{Realm: "https://auth.example.com/token", StatusCode: 401, Message: "bad creds"}
	if want := "token request to https://auth.example.com/token failed: 401 Unauthorized: bad creds"; e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
	if !errors.Is(fmt.Errorf("ping: %w", e), ErrUnauthorized) {
		t.Error("a 401 TokenError does not match ErrUnauthorized")
	}
}

func TestScrub(t *testing.T) {
	if got := scrub("bad password hunter22 for alice", []string{"hunter22", ""}); got != "bad password [redacted] for alice" {
		t.Errorf("scrub = %q", got)
	}
	err := scrubError(fmt.Errorf("dial: %w", io.EOF), []string{"secret"})
	if !errors.Is(err, io.EOF) {
		t.Error("scrubError broke an error chain that held no secret")
	}
	if err := scrubError(errors.New("token secret1 refused"), []string{"secret1"}); strings.Contains(err.Error(), "secret1") {
		t.Errorf("scrubError kept the secret: %v", err)
	}
}

// TestTokenErrorInvalidGrant checks an OAuth2 refusal of credentials (400
// invalid_grant) counts as unauthorized, and other 400s do not.
func TestTokenErrorInvalidGrant(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"invalid_grant: incorrect username or password", true},
		{"UNAUTHORIZED: incorrect username or password", true},
		{"invalid_request: service is required", false},
	} {
		e := &TokenError{Realm: "http://r/token", StatusCode: 400, Message: tc.msg}
		if got := errors.Is(e, ErrUnauthorized); got != tc.want {
			t.Errorf("%q: Is(ErrUnauthorized) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}
