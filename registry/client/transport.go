package client

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Transport is an http.RoundTripper that answers registry auth challenges
// (the docker token spec) on behalf of the requests it carries.
//
// On a 401 with a Bearer challenge it gets a token from the challenge's
// realm for the challenge's service and scopes (plus those of WithScopes),
// and sends the request once more with it. Tokens are cached per registry
// host, realm, service and scope set until shortly before they expire
// (expires_in, 60 s when absent), and the scope each kind of request was
// challenged for is remembered, so later requests carry the right token
// from the start instead of collecting a 401 each. On a Basic challenge it
// sends the username and password, and keeps sending them to that host.
//
// Once a host is known to use Bearer, a kind of request not challenged yet
// goes out with a token for the scope the transport infers from its method
// and path, as registry:2 and Berth name them (reads pull; writes and
// uploads pull,push; deletes delete; the catalog registry:catalog:*).
//
// A request is retried only when its body can be replayed (no body, or
// req.GetBody set); otherwise the 401 is returned. To spare such requests
// the 401, before the first one to a host the transport asks GET /v2/ for
// the host's challenge. Requests that already carry an Authorization header
// pass through untouched.
//
// Token requests go only to the realm the challenge named, are never
// redirected, and are refused unless the realm is http or https.
// Credentials (password, refresh token) are sent to an https realm, or to
// an http realm only when the registry request itself was plain http to the
// same hostname (a registry and its token service on localhost during
// development); any other http realm gets an anonymous token request, or,
// if there are credentials to send, an error wrapping ErrInsecureRealm.
//
// Token fetches follow docker's choice: with an IdentityToken, or with a
// username and password under WithOfflineTokens, the OAuth2 POST flow
// (grant_type refresh_token or password), falling back to GET when the
// service answers 404 or 405; otherwise GET with Basic credentials. Both
// "token" and "access_token" answers are accepted. A Credential's
// RegistryToken is sent to the registry as is.
//
// Credentials are looked up once per host and kept for the Transport's
// life. A Transport is safe for concurrent use, and concurrent requests
// needing the same token share one fetch.
type Transport struct {
	base  http.RoundTripper
	creds Credentials
	opts  transportOptions
	now   func() time.Time

	mu      sync.Mutex
	hosts   map[string]*hostState
	tokens  map[tokenKey]cachedToken
	flights map[tokenKey]*flight
}

// hostState is what the transport learned about one registry host.
type hostState struct {
	scheme         string // "", "none", "basic" or "bearer"
	realm, service string // of the last Bearer challenge
	// classes maps a request class (see requestScopes) to the token the
	// last challenge for that class asked for.
	classes map[string]tokenKey
	cred    *Credential // looked up once
	refresh string      // a refresh token the token service sent
}

// authz is the Authorization a request was sent with.
type authz struct {
	header string
	key    tokenKey // set when header carries a fetched token
	token  string
}

// TransportOption configures NewTransport.
type TransportOption func(*transportOptions)

type transportOptions struct {
	scopes    []string
	offline   bool
	onRefresh func(host, token string)
	clientID  string
}

// WithScopes adds scopes (e.g. RepositoryScope("app", "pull", "push")) to
// every token request, so one token covers what the caller is about to do.
func WithScopes(scopes ...string) TransportOption {
	return func(o *transportOptions) { o.scopes = append(o.scopes, scopes...) }
}

// WithOfflineTokens asks the token service for a refresh token: a
// username and password are then exchanged with the OAuth2 POST
// grant_type=password flow (access_type=offline), or with offline_token=true
// on GET. Whatever refresh token comes back reaches the handler of
// WithRefreshTokenHandler and is used instead of the password from then on.
func WithOfflineTokens() TransportOption { return func(o *transportOptions) { o.offline = true } }

// WithRefreshTokenHandler calls fn with the registry host and each new
// refresh token a token service sends, so that it can be stored (as
// config.json's identitytoken) in place of the password. fn must not block
// for long; it runs on the request's goroutine.
func WithRefreshTokenHandler(fn func(host, token string)) TransportOption {
	return func(o *transportOptions) { o.onRefresh = fn }
}

// WithClientID sets the client_id sent to token services ("berth" unless
// set).
func WithClientID(id string) TransportOption { return func(o *transportOptions) { o.clientID = id } }

// NewTransport returns a Transport that sends requests through base
// (http.DefaultTransport when nil) and finds credentials in creds
// (Anonymous when nil). It fails for a scope containing whitespace or a
// client ID outside RFC 6749's VSCHAR.
func NewTransport(base http.RoundTripper, creds Credentials, opts ...TransportOption) (*Transport, error) {
	o := transportOptions{clientID: "berth"}
	for _, opt := range opts {
		opt(&o)
	}
	for _, s := range o.scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return nil, fmt.Errorf("client transport: invalid scope %q", s)
		}
	}
	if o.clientID == "" || strings.IndexFunc(o.clientID, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		return nil, fmt.Errorf("client transport: invalid client ID %q", o.clientID)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	if creds == nil {
		creds = Anonymous{}
	}
	return &Transport{
		base: base, creds: creds, opts: o, now: time.Now,
		hosts:   map[string]*hostState{},
		tokens:  map[tokenKey]cachedToken{},
		flights: map[tokenKey]*flight{},
	}, nil
}

var _ http.RoundTripper = (*Transport)(nil)

// RoundTrip sends req with what the transport knows of its host's auth,
// answers a 401 challenge once when it can, and returns the final response.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	host := canonicalHost(req.URL)
	class, inferred := requestScopes(req.Method, req.URL.Path)
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable && strings.HasPrefix(req.URL.Path, "/v2/") {
		if err := t.discover(ctx, req.URL, host); err != nil {
			closeBody(req)
			return nil, err
		}
	}
	sent, err := t.authorize(ctx, req.URL, host, class, inferred)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.base.RoundTrip(withAuthorization(req, sent.header))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	ch, ok := pickChallenge(resp.Header)
	if !ok {
		return resp, nil
	}
	t.learn(host, ch)
	if !replayable {
		return resp, nil
	}
	next, err := t.answer(ctx, req.URL, host, class, ch, sent)
	if err != nil {
		discard(resp)
		return nil, err
	}
	if next.header == "" || next.header == sent.header {
		return resp, nil
	}
	retry := withAuthorization(req, next.header)
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		if retry.Body, err = req.GetBody(); err != nil {
			discard(resp)
			return nil, fmt.Errorf("replaying request body: %w", err)
		}
	}
	discard(resp)
	return t.base.RoundTrip(retry)
}

// pickChallenge returns the Bearer challenge of h, else its Basic one.
func pickChallenge(h http.Header) (Challenge, bool) {
	cs, _ := ResponseChallenges(h)
	var basic *Challenge
	for i, c := range cs {
		switch c.Scheme {
		case "bearer":
			return c, true
		case "basic":
			if basic == nil {
				basic = &cs[i]
			}
		}
	}
	if basic != nil {
		return *basic, true
	}
	return Challenge{}, false
}

// state returns host's state, creating it; t.mu must be held.
func (t *Transport) state(host string) *hostState {
	h := t.hosts[host]
	if h == nil {
		h = &hostState{classes: map[string]tokenKey{}}
		t.hosts[host] = h
	}
	return h
}

// learn records the scheme a host challenged with.
func (t *Transport) learn(host string, ch Challenge) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.state(host)
	h.scheme = ch.Scheme
	if ch.Scheme == "bearer" {
		h.realm, h.service = ch.Realm(), ch.Service()
	}
}

// discover asks GET /v2/ for the challenge of a host the transport knows
// nothing of yet, so a request it cannot replay goes out authorized.
func (t *Transport) discover(ctx context.Context, u *url.URL, host string) error {
	t.mu.Lock()
	known := t.state(host).scheme != ""
	t.mu.Unlock()
	if known {
		return nil
	}
	ping := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/v2/"}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ping.String(), nil)
	if err != nil {
		return err
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("asking %s for its auth challenge: %w", host, err)
	}
	defer discard(resp)
	if ch, ok := pickChallenge(resp.Header); ok && resp.StatusCode == http.StatusUnauthorized {
		t.learn(host, ch)
		return nil
	}
	t.mu.Lock()
	if h := t.state(host); h.scheme == "" {
		h.scheme = "none"
	}
	t.mu.Unlock()
	return nil
}

// authorize returns the Authorization to send up front: Basic credentials
// to a Basic host; for a Bearer host, the token this class of request was
// last challenged for, or else one for the inferred scopes.
func (t *Transport) authorize(ctx context.Context, u *url.URL, host, class string, inferred []string) (authz, error) {
	t.mu.Lock()
	h := t.state(host)
	scheme := h.scheme
	key, known := h.classes[class]
	if !known && scheme == "bearer" {
		key = tokenKey{host: host, realm: h.realm, service: h.service,
			scopes: strings.Join(normalizeScopes(inferred, t.opts.scopes), " ")}
	}
	tok, cached := t.cached(key)
	t.mu.Unlock()

	switch scheme {
	case "basic":
		cred, err := t.credential(ctx, host)
		if err != nil || !cred.basic() {
			return authz{}, err
		}
		return authz{header: basicAuth(cred)}, nil
	case "bearer":
		if cached {
			return authz{header: "Bearer " + tok, key: key, token: tok}, nil
		}
		if !known && len(inferred) == 0 {
			return authz{}, nil // nothing to go on: let the server say
		}
		return t.bearer(ctx, u, key, "")
	}
	return authz{}, nil
}

// answer returns the Authorization that meets ch, after sent was refused.
func (t *Transport) answer(ctx context.Context, u *url.URL, host, class string, ch Challenge, sent authz) (authz, error) {
	if ch.Scheme == "basic" {
		cred, err := t.credential(ctx, host)
		if err != nil || !cred.basic() {
			return authz{}, err
		}
		return authz{header: basicAuth(cred)}, nil
	}
	if ch.Realm() == "" {
		return authz{}, fmt.Errorf("bearer challenge from %s names no realm", host)
	}
	key := tokenKey{host: host, realm: ch.Realm(), service: ch.Service(),
		scopes: strings.Join(normalizeScopes(ch.Scopes(), t.opts.scopes), " ")}
	t.mu.Lock()
	h := t.state(host)
	if len(h.classes) >= 1024 {
		clear(h.classes)
	}
	h.classes[class] = key
	t.mu.Unlock()
	reject := ""
	if sent.key == key {
		reject = sent.token // refused for exactly this scope: do not reuse it
	}
	return t.bearer(ctx, u, key, reject)
}

// bearer returns a Bearer Authorization for key: the credential's
// RegistryToken, a cached token other than reject, or a fresh one.
func (t *Transport) bearer(ctx context.Context, u *url.URL, key tokenKey, reject string) (authz, error) {
	cred, err := t.credential(ctx, key.host)
	if err != nil {
		return authz{}, err
	}
	if cred.RegistryToken != "" {
		return authz{header: "Bearer " + cred.RegistryToken}, nil
	}
	tok, err := t.token(ctx, u, key, reject)
	if err != nil {
		return authz{}, err
	}
	return authz{header: "Bearer " + tok, key: key, token: tok}, nil
}

func basicAuth(c Credential) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.Username+":"+c.Password))
}

// withAuthorization returns a copy of req carrying header (if any).
func withAuthorization(req *http.Request, header string) *http.Request {
	if header == "" {
		return req
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", header)
	return r
}

// canonicalHost returns u's host, lower-cased, without a default port.
func canonicalHost(u *url.URL) string {
	h := strings.ToLower(u.Host)
	switch {
	case u.Scheme == "https" && strings.HasSuffix(h, ":443"):
		return strings.TrimSuffix(h, ":443")
	case u.Scheme == "http" && strings.HasSuffix(h, ":80"):
		return strings.TrimSuffix(h, ":80")
	}
	return h
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// discard drains a little of resp's body, so the connection can be
// reused, and closes it.
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
