//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAuthToken drives the registry's own token endpoint: what it grants,
// refresh tokens, and users removed while the registry runs.
func TestAuthToken(t *testing.T) {
	t.Parallel()
	reg := startAuth(t)
	const pushScope = "repository:alice/app:pull,push"

	t.Run("owner gets what she asks for", func(t *testing.T) {
		tok := reg.token(t, "alice", nil, pushScope)
		c := claimsOf(t, tok.Token)
		want := []scopeClaims{{Type: "repository", Name: "alice/app", Actions: []string{"pull", "push"}}}
		if !sameAccess(c.Access, want) {
			t.Errorf("access %+v, want %+v", c.Access, want)
		}
		if c.Subject != "alice" || c.Issuer != "berth" || c.Audience != "berth" {
			t.Errorf("sub %q iss %q aud %v, want alice, berth, berth", c.Subject, c.Issuer, c.Audience)
		}
		if tok.ExpiresIn <= 0 || tok.ExpiresIn > 300 {
			t.Errorf("expires_in %d, want (0, 300]", tok.ExpiresIn)
		}
		if tok.RefreshToken != "" {
			t.Errorf("refresh_token without offline_token=true")
		}
		// The token works on the registry: alice may start an upload.
		reg.API(t).do("POST", "/v2/alice/app/blobs/uploads/", bearer(tok.Token), nil).expect(t, http.StatusAccepted)
	})

	t.Run("another account gets nothing on alice/app", func(t *testing.T) {
		tok := reg.token(t, "bob", nil, pushScope)
		if c := claimsOf(t, tok.Token); len(c.Access) != 0 || c.Subject != "bob" {
			t.Errorf("bob: sub %q access %+v, want bob and no access", c.Subject, c.Access)
		}
		reg.API(t).do("POST", "/v2/alice/app/blobs/uploads/", bearer(tok.Token), nil).
			expectError(t, http.StatusUnauthorized, "DENIED")
	})

	t.Run("grants are the asked-for subset, per scope", func(t *testing.T) {
		tok := reg.token(t, "carol", nil, "repository:library/x:pull,push,delete",
			"repository:carol/own:push", "repository:public/y:pull")
		want := []scopeClaims{
			{Type: "repository", Name: "library/x", Actions: []string{"pull"}},
			{Type: "repository", Name: "carol/own", Actions: []string{"push"}},
			{Type: "repository", Name: "public/y", Actions: []string{"pull"}},
		}
		if got := claimsOf(t, tok.Token).Access; !sameAccess(got, want) {
			t.Errorf("carol: access %+v, want %+v", got, want)
		}
		anon := reg.token(t, "", nil, "repository:public/y:pull,push", pushScope)
		want = []scopeClaims{{Type: "repository", Name: "public/y", Actions: []string{"pull"}}}
		if c := claimsOf(t, anon.Token); !sameAccess(c.Access, want) || c.Subject != "" {
			t.Errorf("anonymous: sub %q access %+v, want none and %+v", c.Subject, c.Access, want)
		}
	})

	t.Run("wrong password and wrong service", func(t *testing.T) {
		resp := reg.API(t).do("GET", "/token?service=berth&scope="+url.QueryEscape(pushScope),
			hdr{"Authorization", "Basic YWxpY2U6bm90LWhlci1wYXNzd29yZA=="}, nil) // alice:not-her-password
		resp.expectError(t, http.StatusUnauthorized, "UNAUTHORIZED")
		if !strings.Contains(string(resp.Body), "incorrect username or password") {
			t.Errorf("wrong password answer does not say so:\n%s", resp)
		}
		reg.API(t).do("GET", "/token?service=other&scope="+url.QueryEscape(pushScope),
			hdr{"Authorization", reg.basic("alice")}, nil).expectError(t, http.StatusBadRequest, "INVALID_REQUEST")
	})

	var bobRefresh string
	t.Run("offline token and refresh grant", func(t *testing.T) {
		tok := reg.token(t, "bob", url.Values{"offline_token": {"true"}, "client_id": {"e2e"}}, "repository:bob/app:pull")
		if tok.RefreshToken == "" {
			t.Fatal("offline_token=true: no refresh_token")
		}
		if c := claimsOf(t, tok.RefreshToken); c.Use != "refresh" || c.Subject != "bob" || len(c.Access) != 0 {
			t.Errorf("refresh token claims %+v, want token_use refresh, sub bob, no access", c)
		}
		// A refresh token is no access token.
		reg.API(t).do("GET", "/v2/bob/app/tags/list", bearer(tok.RefreshToken), nil).expect(t, http.StatusUnauthorized)
		bobRefresh = tok.RefreshToken

		resp := reg.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {bobRefresh},
			"service": {"berth"}, "client_id": {"e2e"}, "scope": {"repository:bob/app:pull,push " + pushScope}}).
			expect(t, http.StatusOK)
		var tr tokenReply
		if err := json.Unmarshal(resp.Body, &tr); err != nil {
			t.Fatal(err)
		}
		want := []scopeClaims{{Type: "repository", Name: "bob/app", Actions: []string{"pull", "push"}}}
		if got := claimsOf(t, tr.AccessToken); !sameAccess(got.Access, want) || got.Subject != "bob" {
			t.Errorf("refreshed: sub %q access %+v, want bob %+v", got.Subject, got.Access, want)
		}
		if tr.Scope != "repository:bob/app:pull,push" {
			t.Errorf("refreshed: scope %q, want repository:bob/app:pull,push", tr.Scope)
		}
		reg.API(t).do("POST", "/v2/bob/app/blobs/uploads/", bearer(tr.AccessToken), nil).expect(t, http.StatusAccepted)
	})

	t.Run("password grant", func(t *testing.T) {
		resp := reg.postToken(t, url.Values{"grant_type": {"password"}, "username": {"alice"},
			"password": {reg.pw["alice"]}, "service": {"berth"}, "client_id": {"e2e"},
			"access_type": {"offline"}, "scope": {pushScope}}).expect(t, http.StatusOK)
		var tr tokenReply
		if err := json.Unmarshal(resp.Body, &tr); err != nil {
			t.Fatal(err)
		}
		if tr.RefreshToken == "" || tr.Scope != pushScope {
			t.Errorf("password grant: refresh token %t, scope %q; want one and %q", tr.RefreshToken != "", tr.Scope, pushScope)
		}
	})

	t.Run("removed user loses refresh token and password", func(t *testing.T) {
		if bobRefresh == "" {
			t.Skip("needs bob's refresh token from \"offline token and refresh grant\"")
		}
		registryUser(t, "", "remove", "--htpasswd", reg.htpasswd, "bob")
		refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {bobRefresh},
			"service": {"berth"}, "client_id": {"e2e"}}
		// The registry checks the file at most once a second.
		var resp *response
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp = reg.postToken(t, refresh)
			if resp.Status != http.StatusOK || time.Now().After(deadline) {
				break
			}
		}
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if resp.Status != http.StatusBadRequest || json.Unmarshal(resp.Body, &oe) != nil || oe.Error != "invalid_grant" {
			t.Fatalf("bob's refresh token 5s after removal: want 400 invalid_grant, got:\n%s", resp)
		}
		if !strings.Contains(oe.Description, "bob") {
			t.Errorf("refusal does not say why: %q", oe.Description)
		}
		reg.getToken(t, "bob", nil, "repository:bob/app:pull").expectError(t, http.StatusUnauthorized, "UNAUTHORIZED")
		// Others are unaffected.
		reg.token(t, "alice", nil, pushScope)
	})

	t.Run("changed password", func(t *testing.T) {
		old := reg.basic("carol")
		reg.pw["carol"] = "carol-" + randomHex(t, 8)
		registryUser(t, reg.pw["carol"]+"\n", "add", "--htpasswd", reg.htpasswd, "carol")
		// Past the registry's once-a-second look at the file, without
		// polling with passwords: each failure counts towards the login
		// limit of the client address.
		time.Sleep(1200 * time.Millisecond)
		reg.API(t).do("GET", "/token?service=berth", hdr{"Authorization", old}, nil).
			expectError(t, http.StatusUnauthorized, "UNAUTHORIZED")
		reg.token(t, "carol", nil, "repository:library/x:pull")
	})
}

// sameAccess compares access claims, ignoring the order of actions.
func sameAccess(got, want []scopeClaims) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := slices.Sorted(slices.Values(got[i].Actions)), slices.Sorted(slices.Values(want[i].Actions))
		if got[i].Type != want[i].Type || got[i].Name != want[i].Name || !slices.Equal(g, w) {
			return false
		}
	}
	return true
}

// TestAuthSigningKey checks the key the registry creates under its
// storage root: private to its owner, kept across restarts, so tokens
// issued before a restart still work after it.
func TestAuthSigningKey(t *testing.T) {
	t.Parallel()
	st, u := authStorage(t), newUsers(t)
	keyPath := filepath.Join(st.Root, "berth", "token.key")
	if _, err := os.Stat(keyPath); !os.IsNotExist(err) {
		t.Fatalf("%s before the first start: %v", keyPath, err)
	}
	reg := startAuthOn(t, st, u)
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("no signing key after the first start: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", keyPath, fi.Mode().Perm())
	}
	if di, err := os.Stat(filepath.Dir(keyPath)); err == nil && di.Mode().Perm()&0o077 != 0 {
		t.Errorf("%s has mode %v: others can reach the key", filepath.Dir(keyPath), di.Mode().Perm())
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(key, []byte("PRIVATE KEY-----")) {
		t.Errorf("%s is not a PEM private key", keyPath)
	}

	img := ociImage(t, 1024, 1)
	want := reg.pushAs(t, "alice", "alice/app:v1", img)
	tok := reg.token(t, "alice", url.Values{"offline_token": {"true"}}, "repository:alice/app:pull")
	reg.Stop(t)

	again := startAuthOn(t, st, u)
	if got, err := os.ReadFile(keyPath); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("signing key changed across the restart (err %v)", err)
	}
	resp := again.API(t).do("GET", "/v2/alice/app/manifests/v1", append(bearer(tok.Token),
		"Accept", "application/vnd.oci.image.manifest.v1+json"), nil).expect(t, http.StatusOK)
	if got := resp.Header.Get("Docker-Content-Digest"); got != want.String() {
		t.Errorf("manifest digest %s with the old token, want %s", got, want)
	}
	// The refresh token from before the restart still logs alice in.
	again.postToken(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
		"service": {"berth"}, "client_id": {"e2e"}, "scope": {"repository:alice/app:pull"}}).expect(t, http.StatusOK)
	if d, err := again.pullAs(t, "alice", "alice/app:v1"); err != nil || d != want {
		t.Errorf("pull after restart: %s, %v; want %s", d, err, want)
	}
}
