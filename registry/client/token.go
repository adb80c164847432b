package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	maxTokenBody     = 1 << 20 // a token answer larger than this is refused
	defaultTokenLife = 60 * time.Second
)

// errPostUnsupported says a token service has no OAuth2 POST endpoint.
var errPostUnsupported = errors.New("token service does not take POST")

// tokenResponse is a token service's answer (docker token spec and its
// OAuth2 variant).
type tokenResponse struct {
	Token        string  `json:"token"`
	AccessToken  string  `json:"access_token"`
	ExpiresIn    float64 `json:"expires_in"`
	RefreshToken string  `json:"refresh_token"`
}

// fetch asks key's realm for a token, as the Transport doc describes.
func (t *Transport) fetch(ctx context.Context, u *url.URL, key tokenKey) (string, error) {
	cred, err := t.credential(ctx, key.host)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	refresh := t.state(key.host).refresh
	t.mu.Unlock()
	if refresh == "" {
		refresh = cred.IdentityToken
	}
	withCreds := refresh != "" || cred.basic()
	realm, err := checkRealm(key.realm, u, withCreds)
	if err != nil {
		return "", err
	}
	secrets := []string{cred.Password, refresh, cred.IdentityToken}

	var tr tokenResponse
	err = errPostUnsupported
	if refresh != "" || (cred.basic() && t.opts.offline) {
		tr, err = t.post(ctx, realm, key, cred, refresh, secrets)
	}
	if errors.Is(err, errPostUnsupported) {
		tr, err = t.get(ctx, realm, key, cred, secrets)
	}
	if err != nil {
		return "", err
	}

	tok := tr.Token
	if tok == "" {
		tok = tr.AccessToken
	}
	life := defaultTokenLife
	if tr.ExpiresIn > 0 && tr.ExpiresIn < 1<<31 {
		life = time.Duration(tr.ExpiresIn * float64(time.Second))
	}
	t.store(key, tok, life)
	if tr.RefreshToken != "" && tr.RefreshToken != refresh {
		t.mu.Lock()
		t.state(key.host).refresh = tr.RefreshToken
		t.mu.Unlock()
		if t.opts.onRefresh != nil {
			t.opts.onRefresh(key.host, tr.RefreshToken)
		}
	}
	return tok, nil
}

// checkRealm parses a challenge's realm and applies the rule of the
// Transport doc: http or https only, no userinfo, and credentials go over
// plain http only to the hostname of a plain-http registry.
func checkRealm(realm string, registry *url.URL, withCreds bool) (*url.URL, error) {
	r, err := url.Parse(realm)
	if err != nil {
		return nil, fmt.Errorf("%w %q: %v", ErrInsecureRealm, realm, err)
	}
	if r.Scheme != "http" && r.Scheme != "https" || r.Host == "" {
		return nil, fmt.Errorf("%w %q: not an http(s) URL", ErrInsecureRealm, realm)
	}
	if r.User != nil {
		return nil, fmt.Errorf("%w %q: URL carries userinfo", ErrInsecureRealm, redactRealm(r))
	}
	if r.Scheme == "http" && withCreds &&
		(registry.Scheme != "http" || !strings.EqualFold(r.Hostname(), registry.Hostname())) {
		return nil, fmt.Errorf("%w %s: credentials for %s go over plain http only to the registry's own host",
			ErrInsecureRealm, redactRealm(r), registry.Host)
	}
	return r, nil
}

// post runs the OAuth2 flow: grant_type=refresh_token when refresh is set,
// else grant_type=password. It returns errPostUnsupported on 404 or 405.
func (t *Transport) post(ctx context.Context, realm *url.URL, key tokenKey, cred Credential, refresh string, secrets []string) (tokenResponse, error) {
	form := url.Values{}
	form.Set("client_id", t.opts.clientID)
	if key.service != "" {
		form.Set("service", key.service)
	}
	if key.scopes != "" {
		form.Set("scope", key.scopes)
	}
	if refresh != "" {
		form.Set("grant_type", "refresh_token")
		form.Set("refresh_token", refresh)
	} else {
		form.Set("grant_type", "password")
		form.Set("username", cred.Username)
		form.Set("password", cred.Password)
		form.Set("access_type", "offline")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, realm.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return t.exchange(req, realm, secrets, true)
}

// get runs the token spec's GET flow, with Basic credentials when there
// is a username and password.
func (t *Transport) get(ctx context.Context, realm *url.URL, key tokenKey, cred Credential, secrets []string) (tokenResponse, error) {
	u := *realm
	q := u.Query()
	if key.service != "" {
		q.Set("service", key.service)
	}
	for _, s := range strings.Fields(key.scopes) {
		q.Add("scope", s)
	}
	if t.opts.offline && cred.basic() {
		q.Set("offline_token", "true")
		q.Set("client_id", t.opts.clientID)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return tokenResponse{}, err
	}
	if cred.basic() {
		req.SetBasicAuth(cred.Username, cred.Password)
	}
	return t.exchange(req, realm, secrets, false)
}

// exchange sends a token request (never following redirects) and decodes
// the answer. Error messages are scrubbed of secrets.
func (t *Transport) exchange(req *http.Request, realm *url.URL, secrets []string, isPost bool) (tokenResponse, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return tokenResponse{}, fmt.Errorf("token request to %s: %w", redactRealm(realm), scrubError(err, secrets))
	}
	defer discard(resp)
	if isPost && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
		return tokenResponse{}, errPostUnsupported
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenBody+1))
	if err != nil {
		return tokenResponse{}, fmt.Errorf("token request to %s: reading answer: %w", redactRealm(realm), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		msg := tokenErrorMessage(body)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg = joinNonEmpty(msg, "token requests are not redirected")
		}
		return tokenResponse{}, &TokenError{Realm: redactRealm(realm), StatusCode: resp.StatusCode, Message: scrub(msg, secrets)}
	}
	if len(body) > maxTokenBody {
		return tokenResponse{}, fmt.Errorf("token request to %s: answer larger than %d bytes", redactRealm(realm), maxTokenBody)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return tokenResponse{}, fmt.Errorf("token request to %s: decoding answer: %v", redactRealm(realm), err)
	}
	if tr.Token == "" && tr.AccessToken == "" {
		return tokenResponse{}, fmt.Errorf("token request to %s: answer holds no token", redactRealm(realm))
	}
	return tr, nil
}

// redactRealm returns realm without query, fragment or userinfo.
func redactRealm(realm *url.URL) string {
	u := *realm
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}

// scrub replaces every non-empty secret in s.
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// scrubError keeps err's chain (for errors.Is) when its text holds no
// secret, and flattens it to scrubbed text otherwise.
func scrubError(err error, secrets []string) error {
	if s := scrub(err.Error(), secrets); s != err.Error() {
		return errors.New(s)
	}
	return err
}
