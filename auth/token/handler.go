package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/berthhq/berth/auth"
)

// Authenticator checks account passwords for the token endpoint.
// auth/htpasswd implements it.
type Authenticator interface {
	// Authenticate returns nil when password is user's, an error matching
	// auth.ErrBadCredentials when it is not or the user is unknown, and
	// another error when the check itself failed.
	Authenticate(ctx context.Context, user, password string) error
	// Exists reports whether user is (still) an account; refresh tokens of
	// removed accounts are refused.
	Exists(ctx context.Context, user string) (bool, error)
}

// Handler serves the docker token endpoint (the caller mounts it, at
// /token by convention): GET with Basic credentials or none, as in the
// token spec, and POST with OAuth2 password and refresh_token grants, as in
// the spec's oauth.md. What it grants is, for each requested scope, the
// actions the Policy allows of those asked for; scopes with nothing allowed
// are left out. Failed logins are counted per client address and per user:
// after too many within a window the endpoint answers 429 until the window
// has passed. Passwords, tokens and Authorization headers are never logged.
type Handler struct {
	issuer    *Issuer
	authn     Authenticator
	policy    Policy
	log       *slog.Logger
	limit     *limiter
	trustXFF  bool
	failures  int
	window    time.Duration
	limitKeys int
	now       func() time.Time
}

var _ http.Handler = (*Handler)(nil)

// HandlerOption configures a Handler.
type HandlerOption func(*Handler)

// WithLogger sets the logger for issued tokens and failed logins (default:
// discard).
func WithLogger(l *slog.Logger) HandlerOption {
	return func(h *Handler) { h.log = l }
}

// WithLoginLimit blocks a client address or user for the rest of window
// after failures failed logins inside it (default 5 per minute).
func WithLoginLimit(failures int, window time.Duration) HandlerOption {
	return func(h *Handler) { h.failures, h.window = failures, window }
}

// WithTrustForwardedFor makes the login limiter take the client address
// from the last X-Forwarded-For entry (the address the nearest proxy saw)
// instead of the connection's. Only use it behind a proxy that sets it.
func WithTrustForwardedFor() HandlerOption {
	return func(h *Handler) { h.trustXFF = true }
}

// NewHandler returns the token endpoint handler issuing tokens with issuer
// for the accounts authn knows and the access policy allows. The service
// clients must ask for is issuer.Service(). Fails for a nil dependency or
// a login limit that is not positive.
func NewHandler(issuer *Issuer, authn Authenticator, policy Policy, opts ...HandlerOption) (*Handler, error) {
	if issuer == nil || authn == nil || policy == nil {
		return nil, errors.New("token handler: issuer, authenticator and policy are required")
	}
	h := &Handler{
		issuer: issuer, authn: authn, policy: policy,
		log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		failures: 5, window: time.Minute, limitKeys: 10000,
		now: time.Now,
	}
	for _, o := range opts {
		o(h)
	}
	if h.log == nil {
		return nil, errors.New("token handler: nil logger")
	}
	if h.failures <= 0 || h.window <= 0 {
		return nil, errors.New("token handler: login limit needs positive failures and window")
	}
	h.limit = newLimiter(h.failures, h.window, h.limitKeys)
	return h, nil
}

// ServeHTTP answers GET and POST token requests; other methods get 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	switch r.Method {
	case http.MethodGet:
		h.serveGet(w, r)
	case http.MethodPost:
		h.servePost(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeDockerError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the token endpoint answers GET and POST")
	}
}

// getResponse is the body of a GET answer.
type getResponse struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	RefreshToken string `json:"refresh_token,omitempty"`
}

// serveGet is the token spec's GET /token?service=...&scope=...
func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if svc := q.Get("service"); svc != h.issuer.Service() {
		writeDockerError(w, http.StatusBadRequest, "INVALID_REQUEST",
			fmt.Sprintf("service %q is not served here: ask for service %q", svc, h.issuer.Service()))
		return
	}
	want, err := parseScopes(q["scope"])
	if err != nil {
		writeDockerError(w, http.StatusBadRequest, "INVALID_REQUEST", err.Error())
		return
	}
	var account string
	if r.Header.Get("Authorization") != "" {
		user, pass, ok := r.BasicAuth()
		if acct := q.Get("account"); ok && acct != "" && acct != user {
			writeDockerError(w, http.StatusBadRequest, "INVALID_REQUEST",
				fmt.Sprintf("account %q does not match the credentials' user %q", acct, user))
			return
		}
		if !ok || user == "" {
			user, pass = "", "" // unreadable credentials fail like wrong ones
		}
		if err := h.authenticate(r.Context(), h.clientAddr(r), user, pass); err != nil {
			h.writeLoginError(w, err, false)
			return
		}
		account = user
	}
	granted := h.grant(account, want)
	tok, expiresIn, issuedAt, err := h.issuer.Issue(account, granted)
	if err != nil {
		h.internalError(w, "issue token", err, false)
		return
	}
	resp := getResponse{Token: tok, AccessToken: tok, ExpiresIn: int(expiresIn / time.Second),
		IssuedAt: issuedAt.UTC().Format(time.RFC3339)}
	if account != "" && q.Get("offline_token") == "true" {
		if resp.RefreshToken, err = h.issuer.IssueRefresh(account); err != nil {
			h.internalError(w, "issue refresh token", err, false)
			return
		}
	}
	h.logIssued(r, account, granted, resp.RefreshToken != "")
	writeJSON(w, http.StatusOK, resp)
}

// limitedError is the refusal of a blocked login.
type limitedError struct{ wait time.Duration }

func (e *limitedError) Error() string { return "too many failed logins" }

// authenticate checks user's password under the login limiter. It returns
// nil, a *limitedError, an error matching auth.ErrBadCredentials, or another
// error when the check itself failed.
func (h *Handler) authenticate(ctx context.Context, addr, user, password string) error {
	keys := []string{"addr " + addr}
	if user != "" {
		keys = append(keys, "user "+user)
	}
	if wait, blocked := h.limit.blocked(h.now(), keys...); blocked {
		h.log.Warn("token login refused: too many failures", "user", user, "client", addr)
		return &limitedError{wait: wait}
	}
	err := auth.ErrBadCredentials
	if user != "" {
		err = h.authn.Authenticate(ctx, user, password)
	}
	switch {
	case err == nil:
		h.limit.reset("user " + user)
		return nil
	case errors.Is(err, auth.ErrBadCredentials):
		h.limit.fail(h.now(), keys...)
		h.log.Warn("token login failed", "user", user, "client", addr)
		return err
	}
	return fmt.Errorf("authenticate %q: %w", user, err)
}

// grant returns, for each wanted scope, the actions policy allows account
// of those asked for, leaving out scopes with none.
func (h *Handler) grant(account string, want []auth.Access) []auth.Access {
	granted := make([]auth.Access, 0, len(want))
	for _, a := range want {
		allowed := h.policy.Allowed(account, a)
		var acts []string
		for _, act := range a.Actions {
			if slices.Contains(allowed, act) {
				acts = append(acts, act)
			}
		}
		if len(acts) > 0 {
			granted = append(granted, auth.Access{Type: a.Type, Name: a.Name, Actions: acts})
		}
	}
	return granted
}

// parseScopes parses scope parameters, each one or more space-separated
// scopes, merging the actions of scopes naming the same resource.
func parseScopes(params []string) ([]auth.Access, error) {
	var out []auth.Access
	for _, p := range params {
		for _, s := range strings.Fields(p) {
			a, err := auth.ParseScope(s)
			if err != nil {
				return nil, err
			}
			i := slices.IndexFunc(out, func(o auth.Access) bool { return o.Type == a.Type && o.Name == a.Name })
			if i < 0 {
				out = append(out, a)
				continue
			}
			for _, act := range a.Actions {
				if !slices.Contains(out[i].Actions, act) {
					out[i].Actions = append(out[i].Actions, act)
				}
			}
		}
	}
	return out, nil
}

// clientAddr returns the address failed logins are counted against.
func (h *Handler) clientAddr(r *http.Request) string {
	if h.trustXFF {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			parts := strings.Split(xff[len(xff)-1], ",")
			if last := strings.TrimSpace(parts[len(parts)-1]); last != "" {
				return last
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// logIssued records an issued token: who, what, from where; never the
// token.
func (h *Handler) logIssued(r *http.Request, account string, granted []auth.Access, refresh bool) {
	h.log.Info("token issued", "account", account, "scope", scopeString(granted),
		"refresh_token", refresh, "client", h.clientAddr(r))
}

// scopeString joins scopes as the OAuth2 scope parameter does.
func scopeString(as []auth.Access) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}
