//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// writeSigningKey writes a fresh P-256 key as PKCS#8 PEM, mode 0600.
func writeSigningKey(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "token.key")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestScaleOutTokenAuth runs three replicas with token auth, one htpasswd
// file and one signing key (auth.token.signingkey, as the registry's
// warning asks for replicas on a bucket) behind the round-robin proxy: a
// token one replica issues is honoured by the others, clients log in and
// push through the proxy, and the ACL holds on every replica.
func TestScaleOutTokenAuth(t *testing.T) {
	t.Parallel()
	st, u := TempS3(t), newUsers(t)
	cfg := map[string]any{"auth": map[string]any{"token": map[string]any{
		"htpasswd":   u.htpasswd,
		"acl":        authACL,
		"signingkey": writeSigningKey(t),
	}}}
	replicas := startReplicas(t, st, 3, startOptions{config: cfg})
	p := newRoundRobin(t, replicas)

	// The challenge through the proxy sends clients back to the proxy.
	c := newRawClient(p.URL("/"), "")
	resp, err := c.call("GET", "/v2/", nil, nil, http.StatusUnauthorized)
	if err != nil {
		t.Fatal(err)
	}
	if ch := challenge(t, resp); ch["realm"] != p.URL("/token") {
		t.Errorf("realm through the proxy is %q, want %q", ch["realm"], p.URL("/token"))
	}

	// One token, issued by whichever replica the proxy picked, works on
	// every replica.
	q := url.Values{"service": {"berth"}, "scope": {"repository:alice/app:pull,push"}}
	resp, err = c.call("GET", "/token?"+q.Encode(), hdr{"Authorization", "Basic " + basicOf(u, "alice")}, nil, http.StatusOK)
	if err != nil {
		t.Fatal(err)
	}
	var tok tokenReply
	if err := json.Unmarshal(resp.Body, &tok); err != nil || tok.Token == "" {
		t.Fatalf("token reply %q: %v", resp.Body, err)
	}
	img := ociImage(t, 6<<20, 2)
	opts := []remote.Option{remote.WithAuth(&authn.Basic{Username: "alice", Password: u.pw["alice"]})}
	if err := remote.Write(ref(t, p.Ref("alice/app:v1")), img, opts...); err != nil {
		t.Fatalf("push as alice through the proxy: %v", err)
	}
	want := digestOf(t, img)
	for _, r := range replicas {
		got := r.API(t).do("GET", "/v2/alice/app/manifests/v1", append(bearer(tok.Token),
			"Accept", "application/vnd.oci.image.manifest.v1+json"), nil).expect(t, http.StatusOK)
		if d := got.Header.Get("Docker-Content-Digest"); d != want.String() {
			t.Errorf("%s: alice/app:v1 is %s, want %s", r.Host, d, want)
		}
	}
	desc, err := remote.Get(ref(t, p.Ref("alice/app:v1")), opts...)
	if err != nil || desc.Digest != want {
		t.Fatalf("pull as alice through the proxy: %v, %v", desc, err)
	}

	// bob may not push into alice/, whichever replica he reaches.
	bob := []remote.Option{remote.WithAuth(&authn.Basic{Username: "bob", Password: u.pw["bob"]})}
	for range replicas {
		err := remote.Write(ref(t, p.Ref("alice/app:bob")), ociImage(t, 1024, 1), bob...)
		expectRefused(t, "bob pushing to alice/app through the proxy", err, "denied", "unauthorized")
	}
}

// basicOf is the Basic credential of account in u.
func basicOf(u users, account string) string {
	return base64.StdEncoding.EncodeToString([]byte(account + ":" + u.pw[account]))
}
