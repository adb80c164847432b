package registry_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/registry"
)

// fakeAuthorizer grants each bearer token a fixed list of access entries.
// The real token verifier has its own suite in auth/token; this one checks
// what the registry asks for and does with the answer.
type fakeAuthorizer struct{ tokens map[string][]auth.Access }

type fakeIdentity struct {
	account string
	grants  []auth.Access
}

func (f fakeIdentity) Account() string { return f.account }
func (f fakeIdentity) Can(typ, name, action string) bool {
	for _, g := range f.grants {
		if g.Allows(typ, name, action) {
			return true
		}
	}
	return false
}

func (f *fakeAuthorizer) Authorize(_ context.Context, r *http.Request, need []auth.Access) (auth.Identity, error) {
	ch := &auth.Challenge{Realm: "http://auth.test/token", Service: "test", Scope: need}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, ch
	}
	grants, ok := f.tokens[tok]
	if !ok {
		ch.Err = auth.ErrInvalidToken
		return nil, ch
	}
	id := fakeIdentity{tok, grants}
	for _, n := range need {
		for _, act := range n.Actions {
			if !id.Can(n.Type, n.Name, act) {
				ch.Err = fmt.Errorf("%w: %s", auth.ErrInsufficientScope, n)
				return nil, ch
			}
		}
	}
	return id, nil
}

func repoGrant(name string, actions ...string) auth.Access {
	return auth.Access{Type: "repository", Name: name, Actions: actions}
}

// TestAuthChallenges checks every route asks for exactly its scope, and
// that tokens are honoured action by action.
func TestAuthChallenges(t *testing.T) {
	z := &fakeAuthorizer{tokens: map[string][]auth.Access{
		"admin":  {repoGrant("team/app", "*"), repoGrant("other/app", "pull"), {Type: "registry", Name: "catalog", Actions: []string{"*"}}},
		"reader": {repoGrant("team/app", "pull"), {Type: "registry", Name: "catalog", Actions: []string{"*"}}},
	}}
	base, _ := newServer(t, fsDriver(t), registry.WithDeleteEnabled(true), registry.WithAuthorizer(z))
	admin := map[string]string{"Authorization": "Bearer admin"}
	// Seed content with the admin token.
	d := pushBlobAs(t, base, "team/app", []byte("layer"), admin).String()
	const challenge = `Bearer realm="http://auth.test/token",service="test"`
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		wantHeader                string
	}{
		{"base without token", "GET", "/v2/", "", 401, challenge},
		{"base with any token", "GET", "/v2/", "reader", 200, ""},
		{"pull without token", "GET", "/v2/team/app/tags/list", "", 401, challenge + `,scope="repository:team/app:pull"`},
		{"pull with reader", "HEAD", "/v2/team/app/blobs/" + d, "reader", 200, ""},
		{"push with reader", "POST", "/v2/team/app/blobs/uploads/", "reader", 401, challenge + `,scope="repository:team/app:pull,push",error="insufficient_scope"`},
		{"delete with reader", "DELETE", "/v2/team/app/blobs/" + d, "reader", 401, challenge + `,scope="repository:team/app:delete",error="insufficient_scope"`},
		{"catalog without token", "GET", "/v2/_catalog", "", 401, challenge + `,scope="registry:catalog:*"`},
		{"bad token", "GET", "/v2/team/app/tags/list", "forged", 401, challenge + `,scope="repository:team/app:pull",error="invalid_token"`},
		{"other repository", "GET", "/v2/secret/app/tags/list", "reader", 401, challenge + `,scope="repository:secret/app:pull",error="insufficient_scope"`},
		{"health needs nothing", "GET", "/healthz", "", 200, ""},
		{"bad name is NAME_INVALID", "GET", "/v2/BAD/tags/list", "", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.token != "" {
				h["Authorization"] = "Bearer " + tc.token
			}
			r := call{method: tc.method, path: tc.path, header: h}.do(t, base)
			if r.status != tc.status || r.header.Get("WWW-Authenticate") != tc.wantHeader {
				t.Fatalf("got %d %q %s, want %d %q", r.status, r.header.Get("WWW-Authenticate"), r.body, tc.status, tc.wantHeader)
			}
		})
	}

	t.Run("mount needs pull on the source", func(t *testing.T) {
		// admin may pull other/app but team/app is the source here: allowed.
		r := call{method: "POST", path: "/v2/other2/app/blobs/uploads/?mount=" + d + "&from=team/app", header: map[string]string{"Authorization": "Bearer mounter"}}.do(t, base)
		if r.status != 401 {
			t.Fatalf("unknown token mounted: %d", r.status)
		}
		z.tokens["mounter"] = []auth.Access{repoGrant("dst/app", "pull", "push")}
		r = call{method: "POST", path: "/v2/dst/app/blobs/uploads/?mount=" + d + "&from=team/app", header: map[string]string{"Authorization": "Bearer mounter"}}.do(t, base)
		if r.status != 202 {
			t.Fatalf("mount without pull on source: %d, want a fresh upload (202)", r.status)
		}
		z.tokens["mounter"] = append(z.tokens["mounter"], repoGrant("team/app", "pull"))
		r = call{method: "POST", path: "/v2/dst/app/blobs/uploads/?mount=" + d + "&from=team/app", header: map[string]string{"Authorization": "Bearer mounter"}}.do(t, base)
		if r.status != 201 {
			t.Fatalf("mount with pull on source: %d", r.status)
		}
	})

	t.Run("catalog lists only pullable repositories", func(t *testing.T) {
		pushImageAs(t, base, "team/app", "v1", admin)
		z.tokens["admin"] = append(z.tokens["admin"], repoGrant("secret/app", "*"))
		pushImageAs(t, base, "secret/app", "v1", admin)
		r := call{method: "GET", path: "/v2/_catalog", header: map[string]string{"Authorization": "Bearer reader"}}.do(t, base)
		if r.status != 200 || string(r.body) != `{"repositories":["team/app"]}` {
			t.Fatalf("catalog for reader: %d %s", r.status, r.body)
		}
	})
}
