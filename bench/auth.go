package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// login gets a bearer token for scope (e.g. "repository:bench/head:pull") the way docker does:
// GET /v2/, read the realm and service of the Bearer challenge in the 401, then GET
// realm?service=&scope= with creds as Basic credentials. It returns the token; the caller sends it
// with every request through withToken.
func (c *regClient) login(ctx context.Context, creds Credentials, scope string) (string, error) {
	req, err := c.newRequest(ctx, http.MethodGet, c.base.JoinPath("v2").String()+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := c.do(req, http.StatusUnauthorized)
	if err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	drain(resp)
	params, ok := bearerChallenge(resp.Header.Get("WWW-Authenticate"))
	if !ok || params["realm"] == "" {
		return "", fmt.Errorf("login: GET /v2/: no Bearer challenge with a realm in %q", resp.Header.Get("WWW-Authenticate"))
	}
	realm, err := url.Parse(params["realm"])
	if err != nil {
		return "", fmt.Errorf("login: realm: %w", err)
	}
	q := realm.Query()
	q.Set("service", params["service"])
	q.Set("scope", scope)
	realm.RawQuery = q.Encode()

	req, err = http.NewRequestWithContext(ctx, http.MethodGet, realm.String(), nil)
	if err != nil {
		return "", err
	}
	req.SetBasicAuth(creds.User, creds.Password)
	if resp, err = c.do(req, http.StatusOK); err != nil {
		return "", fmt.Errorf("login: %w", err)
	}
	defer drain(resp)
	var body struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		return "", fmt.Errorf("login: token response: %w", err)
	}
	if body.Token == "" {
		body.Token = body.AccessToken
	}
	if body.Token == "" {
		return "", errors.New("login: token response has no token")
	}
	return body.Token, nil
}

// bearerChallenge returns the parameters of a `Bearer k="v",k2="v2"` WWW-Authenticate value, keys
// lower-cased; ok is false for another scheme or a malformed value. Quoted values may contain
// commas (scopes do) but not escaped quotes, which registries do not send in realm or service.
func bearerChallenge(h string) (params map[string]string, ok bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	params = map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimLeft(rest, ", ") {
		key, after, found := strings.Cut(rest, "=")
		if !found {
			return nil, false
		}
		var val string
		if quoted, isQuoted := strings.CutPrefix(after, `"`); isQuoted {
			end := strings.IndexByte(quoted, '"')
			if end < 0 {
				return nil, false
			}
			val, rest = quoted[:end], quoted[end+1:]
		} else {
			val, rest, _ = strings.Cut(after, ",")
		}
		params[strings.ToLower(strings.TrimSpace(key))] = strings.TrimSpace(val)
	}
	return params, true
}
