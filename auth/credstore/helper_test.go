package credstore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/auth/credstore"
)

func TestHelperRoundTrip(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		config string
		host   string
		key    string // server URL the helper sees, and the auths key
	}{
		{"credsStore", `{"credsStore": "test"}`, "r.example", "r.example"},
		{"credsStore docker hub", `{"credsStore": "test"}`, "docker.io", "https://index.docker.io/v1/"},
		{"credHelpers", `{"credHelpers": {"r.example:5000": "test"}}`, "https://r.example:5000", "r.example:5000"},
		{"credHelpers legacy key", `{"credHelpers": {"https://r.example": "test"}}`, "r.example", "r.example"},
		{"credHelpers docker hub", `{"credHelpers": {"docker.io": "test"}}`, "index.docker.io", "https://index.docker.io/v1/"},
		{"credHelpers over credsStore", `{"credsStore": "missing", "credHelpers": {"r.example": "test"}}`, "r.example", "r.example"},
	}
	creds := []struct {
		name   string
		in     credstore.Credential
		helper [2]string // Username, Secret the helper keeps
		out    credstore.Credential
	}{
		{"password", credstore.Credential{Username: "alice", Password: "pw"}, [2]string{"alice", "pw"}, credstore.Credential{Username: "alice", Password: "pw"}},
		{"identity token", credstore.Credential{Username: "bob", IdentityToken: "tok"}, [2]string{"<token>", "tok"}, credstore.Credential{IdentityToken: "tok"}},
		{"registry token kept in file", credstore.Credential{Username: "u", Password: "p", RegistryToken: "rt"}, [2]string{"u", "p"}, credstore.Credential{Username: "u", Password: "p", RegistryToken: "rt"}},
	}
	for _, tt := range tests {
		for _, c := range creds {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				writeConfig(t, dir, tt.config)
				h := installHelper(t, "test", fakeHelperScript)
				s := newStore(t, dir, credstore.WithHelperPath(h.bin))

				insecure, err := s.Store(ctx, tt.host, c.in)
				if err != nil || insecure {
					t.Fatalf("Store = %v, %v; want no warning", insecure, err)
				}
				kept := h.entries(t)[tt.key]
				if kept["Username"] != c.helper[0] || kept["Secret"] != c.helper[1] {
					t.Errorf("helper keeps %v, want %v", kept, c.helper)
				}
				auths := readAuths(t, dir)
				entry, ok := auths[tt.key]
				if !ok || entry["auth"] != "" || entry["identitytoken"] != "" || entry["registrytoken"] != c.in.RegistryToken {
					t.Errorf("auths = %v: want a secret-free entry under %q, as docker writes", auths, tt.key)
				}
				if got, err := s.Get(ctx, tt.host); err != nil || got != c.out {
					t.Errorf("Get = %#v, %v; want %#v", got, err, c.out)
				}
				if err := s.Erase(ctx, tt.host); err != nil {
					t.Fatalf("Erase: %v", err)
				}
				if left := h.entries(t); len(left) != 0 {
					t.Errorf("helper still holds %v", left)
				}
				if auths := readAuths(t, dir); len(auths) != 0 {
					t.Errorf("auths after Erase = %v", auths)
				}
				if got, err := s.Get(ctx, tt.host); err != nil || got != (credstore.Credential{}) {
					t.Errorf("Get after Erase = %v, %v", got, err)
				}
				if err := s.Erase(ctx, tt.host); !errors.Is(err, credstore.ErrNotLoggedIn) {
					t.Errorf("second Erase = %v, want ErrNotLoggedIn", err)
				}
				want := []string{"store " + tt.key, "get " + tt.key, "erase " + tt.key, "get " + tt.key, "erase " + tt.key}
				if got := h.calls(t); !slices.Equal(got, want) {
					t.Errorf("helper calls = %q, want %q", got, want)
				}
			})
		}
	}
}

func TestHelperOnlyForItsHost(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, `{"credsStore": "test", "credHelpers": {"r.example": "test", "plain.example": ""}}`)
	h := installHelper(t, "test", fakeHelperScript)
	s := newStore(t, dir, credstore.WithHelperPath(h.bin))
	cred := credstore.Credential{Username: "u", Password: "p"}
	// An empty credHelpers entry means the file, whatever credsStore says.
	if insecure, err := s.Store(ctx, "plain.example", cred); err != nil || !insecure {
		t.Fatalf("Store(plain.example) = %v, %v; want the file and a warning", insecure, err)
	}
	if readAuths(t, dir)["plain.example"]["auth"] == "" {
		t.Errorf("plain.example not kept in the file")
	}
	if len(h.calls(t)) != 0 {
		t.Errorf("helper called for plain.example: %v", h.calls(t))
	}
	// A registry token alone never goes to a helper (it needs a user name).
	if insecure, err := s.Store(ctx, "r.example", credstore.Credential{RegistryToken: "rt"}); err != nil || insecure {
		t.Fatalf("Store(registry token) = %v, %v", insecure, err)
	}
	if got := readAuths(t, dir)["r.example"]["registrytoken"]; got != "rt" {
		t.Errorf("registrytoken = %q", got)
	}
}

func TestHelperWrittenByDocker(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// What `docker login` leaves with credsStore set: an empty auths entry,
	// the secret in the helper under the same server URL.
	writeConfig(t, dir, `{"auths": {"https://index.docker.io/v1/": {}, "ghcr.io": {}}, "credsStore": "test"}`)
	h := installHelper(t, "test", fakeHelperScript)
	s := newStore(t, dir, credstore.WithHelperPath(h.bin))
	for _, c := range []struct{ url, user, secret string }{
		{"https://index.docker.io/v1/", "hubuser", "hubpass"},
		{"ghcr.io", "<token>", "ghp-refresh"},
	} {
		name := filepath.Join(h.store, hexOf(c.url)+".json")
		body := `{"ServerURL":"` + c.url + `","Username":"` + c.user + `","Secret":"` + c.secret + `"}`
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Get(ctx, "docker.io"); err != nil || got != (credstore.Credential{Username: "hubuser", Password: "hubpass"}) {
		t.Errorf("Get(docker.io) = %v, %v", got, err)
	}
	if got, err := s.Get(ctx, "ghcr.io"); err != nil || got != (credstore.Credential{IdentityToken: "ghp-refresh"}) {
		t.Errorf("Get(ghcr.io) = %v, %v", got, err)
	}
	if got, err := s.Get(ctx, "quay.io"); err != nil || got != (credstore.Credential{}) {
		t.Errorf("Get(quay.io), which the helper does not know = %v, %v", got, err)
	}
}

// hexOf is the fake helper's file name for a server URL.
func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for _, c := range []byte(s) {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

// brokenHelperScript fails every action the way a locked keychain does.
const brokenHelperScript = `#!/bin/sh
cat >/dev/null
echo "diagnostic from the helper" >&2
echo "keychain is locked"
exit 1
`

func TestHelperFailures(t *testing.T) {
	ctx := context.Background()
	const config = `{"auths": {"r.example": {}}, "credsStore": "broken"}`
	h := installHelper(t, "broken", brokenHelperScript)
	var stderr bytes.Buffer
	dir := t.TempDir()
	writeConfig(t, dir, config)
	s := newStore(t, dir, credstore.WithHelperPath(h.bin), credstore.WithHelperStderr(&stderr))
	check := func(op string, err error) {
		t.Helper()
		if err == nil || errors.Is(err, credstore.ErrHelperNotFound) ||
			!strings.Contains(err.Error(), "docker-credential-broken") || !strings.Contains(err.Error(), "keychain is locked") {
			t.Errorf("%s = %v, want the helper's failure", op, err)
		}
	}
	_, err := s.Get(ctx, "r.example")
	check("Get", err)
	_, err = s.Store(ctx, "r.example", credstore.Credential{Username: "u", Password: "p"})
	check("Store", err)
	check("Erase", s.Erase(ctx, "r.example"))
	if data, _ := os.ReadFile(s.Path()); string(data) != config {
		t.Errorf("a failed helper changed config.json to %s", data)
	}
	if !strings.Contains(stderr.String(), "diagnostic from the helper") {
		t.Errorf("WithHelperStderr got %q", stderr.String())
	}
}

func TestHelperNotFound(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, `{"credsStore": "test"}`)
	h := installHelper(t, "test", fakeHelperScript)
	paths := map[string]string{
		"empty path":     "",
		"other dir":      t.TempDir(),
		"relative entry": "relative" + string(os.PathListSeparator) + ".",
	}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			// A relative entry naming the helper's directory is still ignored.
			t.Chdir(filepath.Dir(h.bin))
			s := newStore(t, dir, credstore.WithHelperPath(strings.ReplaceAll(path, "relative", filepath.Base(h.bin))))
			_, err := s.Get(ctx, "r.example")
			if !errors.Is(err, credstore.ErrHelperNotFound) || !strings.Contains(err.Error(), "docker-credential-test") {
				t.Errorf("Get = %v, want ErrHelperNotFound naming docker-credential-test", err)
			}
		})
	}
}

func TestHelperFromProcessPath(t *testing.T) {
	// The one test of the default search path: it needs $PATH changed.
	h := installHelper(t, "test", fakeHelperScript)
	t.Setenv("PATH", h.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, `{"credsStore": "test"}`)
	s := newStore(t, dir)
	cred := credstore.Credential{Username: "u", Password: "p"}
	if _, err := s.Store(ctx, "r.example", cred); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "r.example"); err != nil || got != cred {
		t.Errorf("Get = %v, %v", got, err)
	}
	if len(h.entries(t)) != 1 {
		t.Errorf("helper holds %v", h.entries(t))
	}
}

func TestHelperContext(t *testing.T) {
	h := installHelper(t, "slow", "#!/bin/sh\nexec sleep 30\n")
	dir := t.TempDir()
	writeConfig(t, dir, `{"credsStore": "slow"}`)
	s := newStore(t, dir, credstore.WithHelperPath(h.bin))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Get(ctx, "r.example")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Get took %v after its context ended", d)
	}
}
