package token

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/berthhq/berth/auth"
)

// maxFormBytes bounds a POST body.
const maxFormBytes = 64 << 10

// postResponse is the body of a POST answer.
type postResponse struct {
	AccessToken  string `json:"access_token"`
	Token        string `json:"token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// servePost is the OAuth2 token request of the spec's oauth.md: form
// fields grant_type (password with username and password, or refresh_token
// with refresh_token), service, scope, client_id and access_type.
func (h *Handler) servePost(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			"the body must be application/x-www-form-urlencoded")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "unreadable form: "+err.Error())
		return
	}
	f := r.PostForm
	if svc := f.Get("service"); svc != h.issuer.Service() {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request",
			fmt.Sprintf("service %q is not served here: ask for service %q", svc, h.issuer.Service()))
		return
	}
	want, err := parseScopes(f["scope"])
	if err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_scope", err.Error())
		return
	}
	var account string
	addr := h.clientAddr(r)
	switch grant := f.Get("grant_type"); grant {
	case "password":
		user := f.Get("username")
		if user == "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "username is required")
			return
		}
		if err := h.authenticate(r.Context(), addr, user, f.Get("password")); err != nil {
			h.writeLoginError(w, err, true)
			return
		}
		account = user
	case "refresh_token":
		if account, err = h.refresh(r, addr, f.Get("refresh_token")); err != nil {
			h.writeLoginError(w, err, true)
			return
		}
	default:
		writeOAuthError(w, http.StatusBadRequest, "unsupported_grant_type",
			fmt.Sprintf("grant_type %q is not supported: use password or refresh_token", grant))
		return
	}
	granted := h.grant(account, want)
	tok, expiresIn, issuedAt, err := h.issuer.Issue(account, granted)
	if err != nil {
		h.internalError(w, "issue token", err, true)
		return
	}
	resp := postResponse{AccessToken: tok, Token: tok, ExpiresIn: int(expiresIn / time.Second),
		IssuedAt: issuedAt.UTC().Format(time.RFC3339), Scope: scopeString(granted)}
	if f.Get("access_type") == "offline" {
		if resp.RefreshToken, err = h.issuer.IssueRefresh(account); err != nil {
			h.internalError(w, "issue refresh token", err, true)
			return
		}
	}
	h.logIssued(r, account, granted, resp.RefreshToken != "")
	writeJSON(w, http.StatusOK, resp)
}

// refresh checks a refresh token under the login limiter and returns its
// account, provided the account still exists. Errors are as authenticate's.
func (h *Handler) refresh(r *http.Request, addr, token string) (string, error) {
	key := "addr " + addr
	if wait, blocked := h.limit.blocked(h.now(), key); blocked {
		return "", &limitedError{wait: wait}
	}
	account, err := h.issuer.VerifyRefresh(token)
	if err != nil {
		h.limit.fail(h.now(), key)
		h.log.Warn("token refresh refused", "client", addr, "reason", err.Error())
		return "", &refusedError{msg: "invalid or expired refresh token: log in again"}
	}
	ok, err := h.authn.Exists(r.Context(), account)
	if err != nil {
		return "", fmt.Errorf("look up %q: %w", account, err)
	}
	if !ok {
		h.log.Warn("token refresh refused: account no longer exists", "account", account, "client", addr)
		return "", &refusedError{msg: fmt.Sprintf("account %q no longer exists", account)}
	}
	return account, nil
}

// refusedError is a refused refresh token; msg is safe to show the client.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return auth.ErrBadCredentials }

// writeLoginError answers a failed authenticate or refresh: 429 when
// limited, 401 (GET, with a Basic challenge) or 400 invalid_grant (POST)
// for bad credentials, 500 otherwise.
func (h *Handler) writeLoginError(w http.ResponseWriter, err error, oauth bool) {
	var lim *limitedError
	switch {
	case errors.As(err, &lim):
		secs := int((lim.wait + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		msg := fmt.Sprintf("too many failed logins: retry in %d seconds", secs)
		if oauth {
			writeJSON(w, http.StatusTooManyRequests, oauthError{
				Error: "slow_down", Description: msg, Errors: []dockerError{{"TOOMANYREQUESTS", msg}}})
			return
		}
		writeDockerError(w, http.StatusTooManyRequests, "TOOMANYREQUESTS", msg)
	case errors.Is(err, auth.ErrBadCredentials):
		if oauth {
			// Password failures all read the same, so that nobody learns
			// which user names exist.
			msg := auth.ErrBadCredentials.Error()
			var ref *refusedError
			if errors.As(err, &ref) {
				msg = ref.msg
			}
			writeOAuthError(w, http.StatusBadRequest, "invalid_grant", msg)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="berth"`)
		writeDockerError(w, http.StatusUnauthorized, "UNAUTHORIZED", auth.ErrBadCredentials.Error())
	default:
		h.internalError(w, "check credentials", err, oauth)
	}
}

// internalError logs err and answers 500.
func (h *Handler) internalError(w http.ResponseWriter, what string, err error, oauth bool) {
	h.log.Error("token endpoint: "+what, "err", err)
	if oauth {
		writeOAuthError(w, http.StatusInternalServerError, "server_error", what+" failed")
		return
	}
	writeDockerError(w, http.StatusInternalServerError, "UNKNOWN", what+" failed")
}
