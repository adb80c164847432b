//go:build e2e

package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// authACL is the access the auth tests run under: alice owns alice/*,
// every account pulls library/**, everyone (logged in or not) pulls
// public/**, each account pulls and pushes its own namespace, admin does
// everything. carol is the pull-only user: she has nothing of her own.
var authACL = []map[string]any{
	{"account": "alice", "name": "alice/*", "actions": []string{"pull", "push", "delete"}},
	{"account": "*", "name": "library/**", "actions": []string{"pull"}},
	{"account": "anonymous", "name": "public/**", "actions": []string{"pull"}},
	{"account": "${account}", "name": "${account}/**", "actions": []string{"pull", "push"}},
	{"account": "admin", "name": "**", "actions": []string{"*"}},
}

// authUsers are the accounts every auth registry starts with.
var authUsers = []string{"alice", "bob", "carol", "admin"}

// authRegistry is a Berth registry issuing its own tokens: users in an
// htpasswd file managed with `registry user`, access as authACL.
type authRegistry struct {
	*Registry
	htpasswd string
	pw       map[string]string // account -> password
}

// startAuth starts Berth with token auth over fresh storage.
func startAuth(t testing.TB) *authRegistry {
	t.Helper()
	return startAuthOn(t, authStorage(t), newUsers(t))
}

// authStorage is fresh filesystem storage whose root may also hold the
// token signing key (berth/token.key).
func authStorage(t testing.TB) Storage {
	t.Helper()
	return jailedFilesystem(t, "docker", "berth")
}

// users is an htpasswd file and the passwords in it.
type users struct {
	htpasswd string
	pw       map[string]string
}

// newUsers writes authUsers, each with a random password, to a new
// htpasswd file with `registry user add`.
func newUsers(t testing.TB) users {
	t.Helper()
	u := users{htpasswd: filepath.Join(t.TempDir(), "htpasswd"), pw: map[string]string{}}
	for _, name := range authUsers {
		u.pw[name] = name + "-" + randomHex(t, 8)
		registryUser(t, u.pw[name]+"\n", "add", "--htpasswd", u.htpasswd, name)
	}
	return u
}

// startAuthOn starts Berth with token auth over st, trusting u.
func startAuthOn(t testing.TB, st Storage, u users) *authRegistry {
	t.Helper()
	if target(t) != Berth {
		t.Skip("token auth with Berth's own issuer is Berth's; Distribution has no /token endpoint")
	}
	cfg := map[string]any{"auth": map[string]any{"token": map[string]any{
		"htpasswd": u.htpasswd,
		"acl":      authACL,
	}}}
	reg := startRegistry(t, Berth, st, startOptions{config: cfg})
	return &authRegistry{Registry: reg, htpasswd: u.htpasswd, pw: u.pw}
}

// registryUser runs `bin/registry user ARGS` with stdin.
func registryUser(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := runWith(nil, stdin, berthBin(t), append([]string{"user"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// runWith runs bin with extra environment (later entries win) and stdin;
// the error carries the command's output.
func runWith(env []string, stdin, bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\nstdout:\n%s\nstderr:\n%s",
			filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// basic is the Authorization header value of account's password.
func (a *authRegistry) basic(account string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(account+":"+a.pw[account]))
}

// creds is "account:password", as skopeo takes it.
func (a *authRegistry) creds(account string) string { return account + ":" + a.pw[account] }

// as are go-containerregistry options that log in as account ("" for
// anonymous).
func (a *authRegistry) as(t testing.TB, account string) []remote.Option {
	opts := ropts(t)
	if account != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: account, Password: a.pw[account]}))
	}
	return opts
}

// pushAs pushes img to repoTag as account and returns its digest.
func (a *authRegistry) pushAs(t testing.TB, account, repoTag string, img v1.Image) v1.Hash {
	t.Helper()
	if err := remote.Write(ref(t, a.Ref(repoTag)), img, a.as(t, account)...); err != nil {
		t.Fatalf("push %s as %s: %v", repoTag, account, err)
	}
	return digestOf(t, img)
}

// pullAs fetches repoTag as account, checks every blob and returns its
// digest; err when the registry refuses.
func (a *authRegistry) pullAs(t testing.TB, account, repoTag string) (v1.Hash, error) {
	t.Helper()
	img, err := remote.Image(ref(t, a.Ref(repoTag)), a.as(t, account)...)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("pull %s as %s: image does not validate: %v", repoTag, account, err)
	}
	return img.Digest()
}

// tokenReply is the token endpoint's JSON answer.
type tokenReply struct {
	Token        string `json:"token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	IssuedAt     string `json:"issued_at"`
	Scope        string `json:"scope"`
}

// getToken asks GET /token for scopes with account's password ("" for
// none) and extra query parameters, and returns the raw answer.
func (a *authRegistry) getToken(t testing.TB, account string, query url.Values, scopes ...string) *response {
	t.Helper()
	q := url.Values{"service": {"berth"}}
	for k, v := range query {
		q[k] = v
	}
	for _, s := range scopes {
		q.Add("scope", s)
	}
	var h hdr
	if account != "" {
		h = hdr{"Authorization", a.basic(account)}
	}
	return a.API(t).do("GET", "/token?"+q.Encode(), h, nil)
}

// token is getToken that must succeed: the decoded answer.
func (a *authRegistry) token(t testing.TB, account string, query url.Values, scopes ...string) tokenReply {
	t.Helper()
	resp := a.getToken(t, account, query, scopes...).expect(t, http.StatusOK)
	var tr tokenReply
	if err := json.Unmarshal(resp.Body, &tr); err != nil {
		t.Fatalf("token answer: %v\n%s", err, resp)
	}
	if tr.Token == "" || tr.AccessToken != tr.Token {
		t.Fatalf("token answer lacks token or access_token differs from it:\n%s", resp)
	}
	return tr
}

// postToken is an OAuth2 POST /token with form fields.
func (a *authRegistry) postToken(t testing.TB, form url.Values) *response {
	t.Helper()
	return a.API(t).do("POST", "/token", hdr{"Content-Type", "application/x-www-form-urlencoded"},
		[]byte(form.Encode()))
}

// jwtClaims are the claims of a token the tests look at.
type jwtClaims struct {
	Issuer   string        `json:"iss"`
	Subject  string        `json:"sub"`
	Audience any           `json:"aud"`
	Use      string        `json:"token_use"`
	Access   []scopeClaims `json:"access"`
}

type scopeClaims struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// claimsOf decodes a JWT's claims without checking its signature: what
// the registry accepts is tested by using the token.
func claimsOf(t testing.TB, jwt string) jwtClaims {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("token %.20q... is not a JWT (%d parts)", jwt, len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT claims: %v", err)
	}
	var c jwtClaims
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("JWT claims: %v\n%s", err, raw)
	}
	return c
}

// bearer is the header of a request carrying tok.
func bearer(tok string) hdr { return hdr{"Authorization", "Bearer " + tok} }

// catalogAs lists every repository account's token may see, via a token
// for registry:catalog:* from /token.
func (a *authRegistry) catalogAs(t testing.TB, account string) []string {
	t.Helper()
	tok := a.token(t, account, nil, "registry:catalog:*")
	got := claimsOf(t, tok.Token).Access
	if len(got) != 1 || got[0].Type != "registry" || got[0].Name != "catalog" || !slices.Equal(got[0].Actions, []string{"*"}) {
		t.Fatalf("catalog token of %s grants %+v, want registry:catalog:*", account, got)
	}
	resp := a.API(t).do("GET", "/v2/_catalog", bearer(tok.Token), nil).expect(t, http.StatusOK)
	var page struct{ Repositories []string }
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		t.Fatalf("catalog: %v\n%s", err, resp)
	}
	return page.Repositories
}

// challenge parses a Bearer WWW-Authenticate header's parameters.
func challenge(t testing.TB, resp *response) map[string]string {
	t.Helper()
	h := resp.Header.Get("WWW-Authenticate")
	rest, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		t.Fatalf("WWW-Authenticate %q is not a Bearer challenge:\n%s", h, resp)
	}
	params := map[string]string{}
	for rest != "" {
		k, v, ok := strings.Cut(rest, `="`)
		end := strings.Index(v, `"`)
		if !ok || end < 0 {
			t.Fatalf("WWW-Authenticate %q: cannot parse %q", h, rest)
		}
		params[strings.TrimSpace(k)] = v[:end]
		rest = strings.TrimPrefix(v[end+1:], ",")
	}
	return params
}

// TestAuthHTTP checks the challenges and the filtered catalog by hand.
func TestAuthHTTP(t *testing.T) {
	t.Parallel()
	reg := startAuth(t)
	img := ociImage(t, 1024, 1)
	for _, p := range []struct{ account, repo string }{
		{"alice", "alice/app"}, {"bob", "bob/app"}, {"admin", "library/x"},
		{"admin", "public/x"}, {"admin", "private/secret"},
	} {
		reg.pushAs(t, p.account, p.repo+":v1", img)
	}

	t.Run("anonymous push is challenged with the exact scope", func(t *testing.T) {
		resp := reg.API(t).do("POST", "/v2/alice/app/blobs/uploads/", nil, nil).expect(t, http.StatusUnauthorized)
		want := map[string]string{
			"realm":   reg.URL("/token"),
			"service": "berth",
			"scope":   "repository:alice/app:pull,push",
		}
		if got := challenge(t, resp); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("challenge %v, want %v", got, want)
		}
		if codes := resp.codes(); !slices.Equal(codes, []string{"UNAUTHORIZED"}) {
			t.Errorf("error codes %v, want [UNAUTHORIZED]", codes)
		}
	})

	t.Run("anonymous ping and pull are challenged", func(t *testing.T) {
		resp := reg.API(t).do("GET", "/v2/", nil, nil).expect(t, http.StatusUnauthorized)
		if got := challenge(t, resp); got["realm"] != reg.URL("/token") || got["service"] != "berth" {
			t.Errorf("GET /v2/ challenge %v", got)
		}
		resp = reg.API(t).do("GET", "/v2/alice/app/manifests/v1", nil, nil).expect(t, http.StatusUnauthorized)
		if got := challenge(t, resp)["scope"]; got != "repository:alice/app:pull" {
			t.Errorf("manifest GET challenge scope %q, want repository:alice/app:pull", got)
		}
	})

	t.Run("token without the scope is refused as insufficient", func(t *testing.T) {
		tok := reg.token(t, "alice", nil, "repository:bob/app:pull")
		resp := reg.API(t).do("GET", "/v2/bob/app/manifests/v1", bearer(tok.Token), nil).expect(t, http.StatusUnauthorized)
		if got := challenge(t, resp); got["error"] != "insufficient_scope" || got["scope"] != "repository:bob/app:pull" {
			t.Errorf("challenge %v, want error insufficient_scope for repository:bob/app:pull", got)
		}
		if codes := resp.codes(); !slices.Equal(codes, []string{"DENIED"}) {
			t.Errorf("error codes %v, want [DENIED]", codes)
		}
	})

	t.Run("catalog lists what each account may pull", func(t *testing.T) {
		for account, want := range map[string][]string{
			"alice": {"alice/app", "library/x", "public/x"},
			"bob":   {"bob/app", "library/x", "public/x"},
			"carol": {"library/x", "public/x"},
			"admin": {"alice/app", "bob/app", "library/x", "private/secret", "public/x"},
		} {
			if got := reg.catalogAs(t, account); !slices.Equal(got, want) {
				t.Errorf("catalog as %s: %v, want %v", account, got, want)
			}
		}
	})

	t.Run("anonymous catalog is refused", func(t *testing.T) {
		reg.API(t).do("GET", "/v2/_catalog", nil, nil).expect(t, http.StatusUnauthorized)
		tok := reg.token(t, "", nil, "registry:catalog:*")
		if got := claimsOf(t, tok.Token).Access; len(got) != 0 {
			t.Errorf("anonymous catalog token grants %+v", got)
		}
		reg.API(t).do("GET", "/v2/_catalog", bearer(tok.Token), nil).expect(t, http.StatusUnauthorized)
	})
}
