package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

var manifestBody = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}`)

func TestTokenFlows(t *testing.T) {
	tests := []struct {
		name    string
		creds   Credential
		opts    []TransportOption
		setup   func(f *fake)
		want    []tokenReq // method, grant, user, refresh, offline of each token request
		refresh []string   // refresh tokens the handler saw
	}{
		{
			name: "anonymous GET",
			want: []tokenReq{{method: "GET"}},
		},
		{
			name:  "basic GET",
			creds: Credential{Username: "alice", Password: "wonderland"},
			want:  []tokenReq{{method: "GET", user: "alice"}},
		},
		{
			name:  "refresh token POST",
			creds: Credential{IdentityToken: "refresh-alice"},
			want:  []tokenReq{{method: "POST", grant: "refresh_token", refresh: "refresh-alice"}},
		},
		{
			name:    "offline password POST hands back a refresh token",
			creds:   Credential{Username: "alice", Password: "wonderland"},
			opts:    []TransportOption{WithOfflineTokens()},
			want:    []tokenReq{{method: "POST", grant: "password", user: "alice", offline: true}},
			refresh: []string{"refresh-alice"},
		},
		{
			name:  "POST 404 falls back to GET with basic",
			creds: Credential{Username: "alice", Password: "wonderland", IdentityToken: "refresh-alice"},
			setup: func(f *fake) { f.postCode = http.StatusNotFound },
			want:  []tokenReq{{method: "POST"}, {method: "GET", user: "alice"}},
		},
		{
			name:  "POST 405 falls back to anonymous GET",
			creds: Credential{IdentityToken: "refresh-alice"},
			setup: func(f *fake) { f.postCode = http.StatusMethodNotAllowed },
			want:  []tokenReq{{method: "POST"}, {method: "GET"}},
		},
		{
			name:  "offline GET fallback asks for offline_token",
			creds: Credential{Username: "alice", Password: "wonderland"},
			opts:  []TransportOption{WithOfflineTokens()},
			setup: func(f *fake) { f.postCode = http.StatusNotFound },
			want:  []tokenReq{{method: "POST"}, {method: "GET", user: "alice", offline: true}},
			// the fake issues refresh tokens on offline GETs too
			refresh: []string{"refresh-alice"},
		},
		{
			name:  "access_token answer",
			creds: Credential{Username: "alice", Password: "wonderland"},
			setup: func(f *fake) { f.tokenName = "access_token" },
			want:  []tokenReq{{method: "GET", user: "alice"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.auth = "bearer"
			f.users["alice"] = fakeUser{password: "wonderland"}
			f.refresh["refresh-alice"] = "alice"
			if tt.setup != nil {
				tt.setup(f)
			}
			f.putManifest("team/app", "v1", manifestBody)
			var mu sync.Mutex
			var got []string
			opts := append(tt.opts, WithRefreshTokenHandler(func(host, tok string) {
				mu.Lock()
				defer mu.Unlock()
				if host != f.host() {
					t.Errorf("refresh handler host = %q, want %q", host, f.host())
				}
				got = append(got, tok)
			}))
			c := newTestClient(t, f, StaticCredentials{f.host(): tt.creds}, opts...)
			for range 3 {
				if _, _, _, err := c.GetManifest(context.Background(), "team/app", "v1"); err != nil {
					t.Fatal(err)
				}
			}
			reqs := f.tokenRequests()
			if len(reqs) != len(tt.want) {
				t.Fatalf("token requests = %+v, want %d", reqs, len(tt.want))
			}
			for i, w := range tt.want {
				r := reqs[i]
				if r.method != w.method || r.grant != w.grant || r.user != w.user || r.refresh != w.refresh || r.offline != w.offline {
					t.Errorf("token request %d = %+v, want %+v", i, r, w)
				}
				if r.method == "POST" && f.postCode == 0 && r.clientID != "berth" {
					t.Errorf("client_id = %q, want berth", r.clientID)
				}
				if f.postCode == 0 && !slices.Equal(r.scopes, []string{"repository:team/app:pull"}) {
					t.Errorf("scopes = %q", r.scopes)
				}
			}
			if !slices.Equal(got, tt.refresh) {
				t.Errorf("refresh tokens handed back = %q, want %q", got, tt.refresh)
			}
		})
	}
}

// A refresh token the service sends replaces the password for later
// token requests.
func TestRefreshTokenReplacesPassword(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.users["alice"] = fakeUser{password: "wonderland"}
	f.putManifest("a", "v1", manifestBody)
	f.putManifest("b", "v1", manifestBody)
	c := newTestClient(t, f, StaticCredentials{f.host(): {Username: "alice", Password: "wonderland"}}, WithOfflineTokens())
	for _, repo := range []string{"a", "b"} {
		if _, _, _, err := c.GetManifest(context.Background(), repo, "v1"); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.tokenRequests()
	if len(reqs) != 2 || reqs[0].grant != "password" || reqs[1].grant != "refresh_token" || reqs[1].refresh != "refresh-alice" {
		t.Fatalf("token requests = %+v, want password then refresh_token", reqs)
	}
}

// One token per scope, however many requests need it; and no 401 per
// request once a kind of request was challenged.
func TestTokenCaching(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.users["alice"] = fakeUser{password: "wonderland"}
	d := f.putBlob("a", []byte("layer"))
	f.putBlob("b", []byte("layer"))
	f.putManifest("a", "v1", manifestBody)
	c := newTestClient(t, f, StaticCredentials{f.host(): {Username: "alice", Password: "wonderland"}})
	ctx := context.Background()
	for range 10 {
		for _, repo := range []string{"a", "b"} {
			if _, err := c.HeadBlob(ctx, repo, d); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.HeadManifest(ctx, "a", "v1"); err != nil {
			t.Fatal(err)
		}
	}
	var scopes []string
	for _, r := range f.tokenRequests() {
		scopes = append(scopes, strings.Join(r.scopes, " "))
	}
	want := []string{"repository:a:pull", "repository:b:pull"}
	if !slices.Equal(scopes, want) {
		t.Errorf("token requests for %q, want %q", scopes, want)
	}
	if n := f.challengeCount(); n > 2 {
		t.Errorf("%d challenges, want at most one per scope", n)
	}
}

// Concurrent requests needing the same token share one fetch.
func TestTokenFetchShared(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.putManifest("a", "v1", manifestBody)
	c := newTestClient(t, f, nil)
	if err := c.Ping(context.Background()); err != nil { // learn the realm
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := c.HeadManifest(context.Background(), "a", "v1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := len(f.tokenRequests()); n != 2 { // one for the ping, one for the scope
		t.Errorf("%d token requests, want 2", n)
	}
}

func TestTokenExpiry(t *testing.T) {
	tests := []struct {
		name      string
		expiresIn int
		stillGood time.Duration // no refetch this long after the fetch
		expired   time.Duration // refetch by then
	}{
		{"default 60s", 0, 49 * time.Second, 60 * time.Second},
		{"expires_in 300", 300, 280 * time.Second, 300 * time.Second},
		{"expires_in 3600", 3600, 3580 * time.Second, 3591 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.auth = "bearer"
			f.expiresIn = tt.expiresIn
			f.putManifest("a", "v1", manifestBody)
			c := newTestClient(t, f, nil)
			now := time.Unix(1_000_000, 0)
			var mu sync.Mutex
			tr := transportOf(c)
			tr.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = time.Unix(1_000_000, 0).Add(d) }
			head := func() {
				t.Helper()
				if _, err := c.HeadManifest(context.Background(), "a", "v1"); err != nil {
					t.Fatal(err)
				}
			}
			head()
			advance(tt.stillGood)
			head()
			if n := len(f.tokenRequests()); n != 1 {
				t.Fatalf("%d token requests before expiry, want 1", n)
			}
			advance(tt.expired)
			head()
			if n := len(f.tokenRequests()); n != 2 {
				t.Fatalf("%d token requests after expiry, want 2", n)
			}
			if n := f.challengeCount(); n != 1 {
				t.Errorf("%d challenges, want 1: an expired token is refetched before sending", n)
			}
		})
	}
}

// A challenge for a scope the token lacks gets a token for that scope.
func TestInsufficientScope(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.users["alice"] = fakeUser{password: "wonderland"}
	d := f.putBlob("src", []byte("shared layer"))
	c := newTestClient(t, f, StaticCredentials{f.host(): {Username: "alice", Password: "wonderland"}})
	ctx := context.Background()
	other := []byte("own layer")
	if err := c.PutBlob(ctx, "dst", digest.FromBytes(other), int64(len(other)), bytes.NewReader(other)); err != nil {
		t.Fatal(err)
	}
	// The mount is sent with the dst push token, which lacks src pull.
	mounted, err := c.MountBlob(ctx, "dst", d, "src")
	if err != nil || !mounted {
		t.Fatalf("MountBlob = %v, %v; want mounted", mounted, err)
	}
	var scopes []string
	for _, r := range f.tokenRequests() {
		scopes = append(scopes, strings.Join(r.scopes, " "))
	}
	want := []string{"repository:dst:pull,push", "repository:dst:pull,push repository:src:pull"}
	if !slices.Equal(scopes, want) {
		t.Errorf("token requests for %q, want %q", scopes, want)
	}
	if n := f.count(http.MethodPost, "/v2/dst/blobs/uploads/"); n != 4 {
		t.Errorf("%d upload POSTs, want 4 (challenged upload, upload, refused mount, mount)", n)
	}
}

// A user who may not push gets a clean refusal after one fresh token, not
// a loop.
func TestInsufficientScopeRefused(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.users["reader"] = fakeUser{password: "pw12", actions: []string{"pull"}}
	c := newTestClient(t, f, StaticCredentials{f.host(): {Username: "reader", Password: "pw12"}})
	_, err := c.PutManifest(context.Background(), "app", "v1", "application/vnd.oci.image.manifest.v1+json", manifestBody)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("PutManifest = %v, want ErrUnauthorized", err)
	}
	if n := len(f.tokenRequests()); n > 2 {
		t.Errorf("%d token requests, want at most 2", n)
	}
	if n := f.count(http.MethodPut, "/v2/app/manifests/v1"); n > 2 {
		t.Errorf("%d PUTs, want at most 2", n)
	}
}

func TestBasicChallenge(t *testing.T) {
	f := newFake(t)
	f.auth = "basic"
	f.users["alice"] = fakeUser{password: "wonderland"}
	f.putManifest("a", "v1", manifestBody)
	c := newTestClient(t, f, StaticCredentials{f.host(): {Username: "alice", Password: "wonderland"}})
	for range 5 {
		if _, err := c.HeadManifest(context.Background(), "a", "v1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.challengeCount(); n != 1 {
		t.Errorf("%d challenges, want 1: Basic credentials are then sent up front", n)
	}
	if n := len(f.tokenRequests()); n != 0 {
		t.Errorf("%d token requests on a Basic registry", n)
	}

	anon := newTestClient(t, f, nil)
	if _, err := anon.HeadManifest(context.Background(), "a", "v1"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("anonymous HeadManifest = %v, want ErrUnauthorized", err)
	}
}

// A Credential's RegistryToken goes to the registry as is.
func TestRegistryToken(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.tokens["preissued"] = []string{"repository:a:pull"}
	f.putManifest("a", "v1", manifestBody)
	c := newTestClient(t, f, StaticCredentials{f.host(): {RegistryToken: "preissued"}})
	if _, err := c.HeadManifest(context.Background(), "a", "v1"); err != nil {
		t.Fatal(err)
	}
	if n := len(f.tokenRequests()); n != 0 {
		t.Errorf("%d token requests, want none", n)
	}
}

func TestPing(t *testing.T) {
	tests := []struct {
		name    string
		auth    string
		creds   Credential
		wantErr error
	}{
		{"open registry", "", Credential{}, nil},
		{"token auth, good credentials", "bearer", Credential{Username: "alice", Password: "wonderland"}, nil},
		{"token auth, bad credentials", "bearer", Credential{Username: "alice", Password: "nope"}, ErrUnauthorized},
		{"basic auth, good credentials", "basic", Credential{Username: "alice", Password: "wonderland"}, nil},
		{"basic auth, bad credentials", "basic", Credential{Username: "alice", Password: "nope"}, ErrUnauthorized},
		{"basic auth, anonymous", "basic", Credential{}, ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.auth = tt.auth
			f.users["alice"] = fakeUser{password: "wonderland"}
			c := newTestClient(t, f, StaticCredentials{f.host(): tt.creds})
			err := c.Ping(context.Background())
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Ping = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestNewTransportValidates(t *testing.T) {
	if _, err := NewTransport(nil, nil, WithScopes("repository:a:pull b")); err == nil {
		t.Error("scope with a space accepted")
	}
	if _, err := NewTransport(nil, nil, WithClientID("")); err == nil {
		t.Error("empty client ID accepted")
	}
}

// A caller's own Authorization header is left alone.
func TestOwnAuthorizationPassesThrough(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	tr, _ := NewTransport(nil, nil)
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+"/v2/", nil)
	req.Header.Set("Authorization", "Bearer mine")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(f.tokenRequests()) != 0 {
		t.Errorf("status %d with %d token requests, want the 401 untouched", resp.StatusCode, len(f.tokenRequests()))
	}
}

func TestCanonicalHost(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://Registry.Example.com:443/v2/", "registry.example.com"},
		{"http://localhost:80/v2/", "localhost"},
		{"https://localhost:80/v2/", "localhost:80"},
		{"http://localhost:5000/v2/", "localhost:5000"},
		{"https://[::1]:443/v2/", "[::1]"},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		if got := canonicalHost(u); got != tt.want {
			t.Errorf("canonicalHost(%s) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
