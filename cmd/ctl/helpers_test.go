package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/berthhq/berth/auth/acl"
	"github.com/berthhq/berth/auth/htpasswd"
	"github.com/berthhq/berth/auth/token"
	"github.com/berthhq/berth/registry"
	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver/inmemory"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// testEnv is one user's machine: a home, docker's config directory, ctl's
// root and config directory, all fresh.
type testEnv struct {
	t            *testing.T
	home         string
	dockerConfig string
	root         string
	vars         map[string]string
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	home := t.TempDir()
	e := &testEnv{t: t, home: home,
		dockerConfig: filepath.Join(home, ".docker"),
		root:         filepath.Join(home, "ctl-root"),
	}
	e.vars = map[string]string{
		"DOCKER_CONFIG":   e.dockerConfig,
		"CTL_ROOT":        e.root,
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_DATA_HOME":   filepath.Join(home, ".local", "share"),
		"PATH":            "", // no credential helpers
	}
	return e
}

// result is what a command printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// run runs ctl ARGS with stdin in-process.
func (e *testEnv) run(stdin string, args ...string) result {
	e.t.Helper()
	return e.runContext(context.Background(), stdin, args...)
}

func (e *testEnv) runContext(ctx context.Context, stdin string, args ...string) result {
	e.t.Helper()
	var out, errOut bytes.Buffer
	a := &app{in: strings.NewReader(stdin), out: &out, errOut: &errOut,
		getenv: func(k string) string { return e.vars[k] }, home: e.home}
	cmd := newRootCmd(a)
	cmd.SetArgs(args)
	code := Execute(ctx, cmd)
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// ok runs ctl ARGS and fails the test unless it succeeds with nothing on
// stderr; it returns stdout.
func (e *testEnv) ok(stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("ctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs ctl ARGS, which must exit 1 with a single "Error: " line
// containing want on stderr.
func (e *testEnv) fails(want string, args ...string) result {
	e.t.Helper()
	r := e.run("", args...)
	if r.code != 1 {
		e.t.Fatalf("ctl %s: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	if os.Getenv("CTL_TEST_SHOW_ERRORS") != "" {
		e.t.Logf("ctl %s: %s", strings.Join(args, " "), r.stderr)
	}
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "Error: ") || !strings.Contains(lines[0], want) {
		e.t.Fatalf("ctl %s: stderr %q, want one \"Error: ...%s...\" line", strings.Join(args, " "), r.stderr, want)
	}
	return r
}

// dockerConfigFile returns config.json's content ("" when missing).
func (e *testEnv) dockerConfigFile() string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dockerConfig, "config.json"))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	return string(b)
}

// storeSnapshot lists every file under the content store with its size,
// to check that a failed command changed nothing.
func (e *testEnv) storeSnapshot() []string {
	e.t.Helper()
	var files []string
	dir := filepath.Join(e.root, "content")
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasSuffix(p, ".lock") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, fmt.Sprintf("%s %d %s", rel, len(b), hashOf(b)))
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func hashOf(b []byte) string {
	h, _, _ := v1.SHA256(bytes.NewReader(b))
	return h.Hex
}

// testRegistry is Berth's registry API in-process over memory.
type testRegistry struct {
	host  string // 127.0.0.1:port
	srv   *httptest.Server
	users map[string]string // account -> password, with token auth
}

// newTestRegistry starts an anonymous registry.
func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	st, err := storage.New(inmemory.New())
	if err != nil {
		t.Fatal(err)
	}
	h, err := registry.New(st, registry.WithDeleteEnabled(true))
	if err != nil {
		t.Fatal(err)
	}
	return serve(t, h, nil)
}

// newAuthRegistry starts a registry issuing its own tokens, as
// cmd/registry wires auth.token: alice may do anything, bob may pull
// only, nobody else anything.
func newAuthRegistry(t *testing.T) *testRegistry {
	t.Helper()
	users := map[string]string{"alice": "alice-secret", "bob": "bob-secret"}
	pwfile := filepath.Join(t.TempDir(), "htpasswd")
	for u, pw := range users {
		if err := htpasswd.Add(pwfile, u, []byte(pw), 4); err != nil {
			t.Fatal(err)
		}
	}
	accounts, err := htpasswd.Load(pwfile)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := acl.New([]acl.Rule{
		{Account: "alice", Name: "**", Actions: []string{"*"}},
		{Account: "bob", Name: "**", Actions: []string{"pull"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := token.NewIssuer(key, "berth-test", "berth")
	if err != nil {
		t.Fatal(err)
	}
	var keys token.KeySet
	if err := keys.Add(issuer.KeyID(), issuer.Public()); err != nil {
		t.Fatal(err)
	}
	verifier, err := token.NewVerifier(&keys, "berth-test", "berth", "", token.WithPolicy(rules))
	if err != nil {
		t.Fatal(err)
	}
	th, err := token.NewHandler(issuer, accounts, rules)
	if err != nil {
		t.Fatal(err)
	}
	st, err := storage.New(inmemory.New())
	if err != nil {
		t.Fatal(err)
	}
	h, err := registry.New(st, registry.WithDeleteEnabled(true), registry.WithAuthorizer(verifier))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/token", th)
	mux.Handle("/", h)
	return serve(t, mux, users)
}

func serve(t *testing.T, h http.Handler, users map[string]string) *testRegistry {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testRegistry{host: strings.TrimPrefix(srv.URL, "http://"), srv: srv, users: users}
}

// ref is host/repoTag.
func (r *testRegistry) ref(repoTag string) string { return r.host + "/" + repoTag }

// push writes img to repoTag with go-containerregistry (as alice when the
// registry has users).
func (r *testRegistry) push(t *testing.T, repoTag string, img v1.Image) v1.Hash {
	t.Helper()
	ref, err := name.ParseReference(r.ref(repoTag))
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{}
	if pw, ok := r.users["alice"]; ok {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: "alice", Password: pw}))
	}
	if err := remote.Write(ref, img, opts...); err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// randomImage is an image of n random layers of size bytes.
func randomImage(t *testing.T, size int64, n int) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(n))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
