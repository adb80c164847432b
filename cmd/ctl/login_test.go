package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// authEntry is one "auths" entry of docker's config.json.
type authEntry struct {
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
}

// auths decodes config.json's "auths".
func (e *testEnv) auths() map[string]authEntry {
	e.t.Helper()
	var cfg struct {
		Auths map[string]authEntry `json:"auths"`
	}
	if s := e.dockerConfigFile(); s != "" {
		if err := json.Unmarshal([]byte(s), &cfg); err != nil {
			e.t.Fatalf("config.json: %v\n%s", err, s)
		}
	}
	return cfg.Auths
}

func TestLoginLogoutRoundTrip(t *testing.T) {
	reg := newAuthRegistry(t)
	e := newTestEnv(t)

	r := e.run("alice-secret\n", "login", "-u", "alice", "--password-stdin", reg.host)
	if r.code != 0 {
		t.Fatalf("login: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Login Succeeded") {
		t.Errorf("login stdout %q, want Login Succeeded", r.stdout)
	}
	wantWarning := "WARNING! Your credentials are stored unencrypted in '" + filepath.Join(e.dockerConfig, "config.json") + "'."
	if !strings.Contains(r.stderr, wantWarning) {
		t.Errorf("login stderr %q, want %q", r.stderr, wantWarning)
	}
	entry, ok := e.auths()[reg.host]
	if !ok {
		t.Fatalf("config.json has no entry for %s:\n%s", reg.host, e.dockerConfigFile())
	}
	// Berth's token service issues a refresh token: docker keeps it as the
	// identity token, with the user name and no password.
	user, _ := base64.StdEncoding.DecodeString(entry.Auth)
	if entry.IdentityToken == "" || string(user) != "alice:" {
		t.Errorf("entry %+v (auth %q), want alice with an identity token and no password", entry, user)
	}
	if strings.Contains(e.dockerConfigFile(), "alice-secret") {
		t.Error("config.json holds the password")
	}
	if fi, err := os.Stat(filepath.Join(e.dockerConfig, "config.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode: %v %v, want 0600", fi.Mode(), err)
	}

	// Logging in again without flags uses the saved identity token.
	if out := e.ok("", "login", reg.host); !strings.Contains(out, "Authenticating with existing credentials...") ||
		!strings.Contains(out, "Login Succeeded") {
		t.Errorf("login with saved credentials: %q", out)
	}

	if out := e.ok("", "logout", reg.host); out != "Removing login credentials for "+reg.host+"\n" {
		t.Errorf("logout: %q", out)
	}
	if _, ok := e.auths()[reg.host]; ok {
		t.Errorf("entry left after logout:\n%s", e.dockerConfigFile())
	}
	if out := e.ok("", "logout", reg.host); out != "Not logged in to "+reg.host+"\n" {
		t.Errorf("second logout: %q", out)
	}
}

func TestLoginKeepsOtherConfig(t *testing.T) {
	reg := newAuthRegistry(t)
	e := newTestEnv(t)
	if err := os.MkdirAll(e.dockerConfig, 0o700); err != nil {
		t.Fatal(err)
	}
	orig := `{"auths":{"other.example:5000":{"auth":"Ym9iOnB3"}},"psFormat":"table {{.ID}}"}`
	if err := os.WriteFile(filepath.Join(e.dockerConfig, "config.json"), []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	e.ok("bob-secret", "login", "--username", "bob", "--password-stdin", reg.host)
	s := e.dockerConfigFile()
	if !strings.Contains(s, `"psFormat"`) || !strings.Contains(s, "other.example:5000") {
		t.Errorf("config.json lost other settings:\n%s", s)
	}
	e.ok("", "logout", reg.host)
	if s := e.dockerConfigFile(); !strings.Contains(s, "other.example:5000") {
		t.Errorf("logout removed another registry:\n%s", s)
	}
}

func TestLoginPasswordFlag(t *testing.T) {
	reg := newAuthRegistry(t)
	e := newTestEnv(t)
	r := e.run("", "login", "-u", "bob", "-p", "bob-secret", "https://"+reg.host+"/v2/")
	if r.code != 0 {
		t.Fatalf("login: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.") {
		t.Errorf("stderr %q lacks docker's -p warning", r.stderr)
	}
	if _, ok := e.auths()[reg.host]; !ok {
		t.Errorf("no entry for %s:\n%s", reg.host, e.dockerConfigFile())
	}
}

func TestLoginAnonymousRegistry(t *testing.T) {
	// A registry without auth takes any credentials; they are saved as
	// given (no token service, so no identity token).
	reg := newTestRegistry(t)
	e := newTestEnv(t)
	e.ok("pw", "login", "-u", "carol", "--password-stdin", reg.host)
	entry := e.auths()[reg.host]
	if got, _ := base64.StdEncoding.DecodeString(entry.Auth); string(got) != "carol:pw" || entry.IdentityToken != "" {
		t.Errorf("entry %+v, want carol:pw", entry)
	}
}

func TestLoginErrors(t *testing.T) {
	reg := newAuthRegistry(t)
	down := newTestRegistry(t)
	down.srv.Close()
	tests := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"wrong password", "nope", []string{"login", "-u", "alice", "--password-stdin", reg.host},
			"login failed: unauthorized: incorrect username or password"},
		{"unknown user", "nope", []string{"login", "-u", "mallory", "--password-stdin", reg.host},
			"login failed: unauthorized: incorrect username or password"},
		{"server down", "pw", []string{"login", "-u", "alice", "--password-stdin", down.host},
			"connection refused"},
		{"no tty", "", []string{"login", reg.host},
			"cannot perform an interactive login from a non TTY device"},
		{"stdin without user", "pw", []string{"login", "--password-stdin", reg.host},
			"must provide --username with --password-stdin"},
		{"both password flags", "pw", []string{"login", "-u", "a", "-p", "x", "--password-stdin", reg.host},
			"--password and --password-stdin are mutually exclusive"},
		{"empty password", "", []string{"login", "-u", "alice", "--password-stdin", reg.host},
			"password required"},
		{"bad host", "pw", []string{"login", "-u", "alice", "--password-stdin", "not a host"},
			"invalid registry host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			r := e.run(tt.stdin, tt.args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "Error: ") || !strings.Contains(last, tt.want) {
				t.Errorf("stderr %q, want an \"Error: ...%s...\" line", r.stderr, tt.want)
			}
			if strings.Contains(r.stdout, "Login Succeeded") {
				t.Errorf("stdout %q", r.stdout)
			}
			if s := e.dockerConfigFile(); s != "" {
				t.Errorf("config.json written:\n%s", s)
			}
		})
	}
}

func TestLogoutDockerHub(t *testing.T) {
	e := newTestEnv(t)
	if out := e.ok("", "logout"); out != "Not logged in to https://index.docker.io/v1/\n" {
		t.Errorf("logout: %q", out)
	}
	if err := os.MkdirAll(e.dockerConfig, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := `{"auths":{"https://index.docker.io/v1/":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("u:p")) + `"}}}`
	if err := os.WriteFile(filepath.Join(e.dockerConfig, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := e.ok("", "logout", "docker.io"); out != "Removing login credentials for https://index.docker.io/v1/\n" {
		t.Errorf("logout: %q", out)
	}
	if len(e.auths()) != 0 {
		t.Errorf("left:\n%s", e.dockerConfigFile())
	}
}

func TestLoginCredentialHelper(t *testing.T) {
	reg := newAuthRegistry(t)
	reg.push(t, "private/app:v1", randomImage(t, 256, 1))
	e := newTestEnv(t)
	bin := t.TempDir()
	helper := `#!/bin/sh
store="$(dirname "$0")/secret"
case "$1" in
store) cat > "$store" ;;
get) read host; if [ -f "$store" ]; then cat "$store"; else echo "credentials not found in native keychain"; exit 1; fi ;;
erase) read host; rm -f "$store" ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker-credential-test"), []byte(helper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	if err := os.MkdirAll(e.dockerConfig, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dockerConfig, "config.json"), []byte(`{"credsStore":"test"}`), 0o600); err != nil {
		t.Fatal(err)
	}

	r := e.run("bob-secret", "login", "-u", "bob", "--password-stdin", reg.host)
	if r.code != 0 || strings.Contains(r.stderr, "unencrypted") {
		t.Fatalf("login with a helper: %+v", r)
	}
	if s := e.dockerConfigFile(); strings.Contains(s, "identitytoken") || strings.Contains(s, "bob-secret") {
		t.Errorf("secrets in config.json with a helper:\n%s", s)
	}
	if _, err := os.Stat(filepath.Join(bin, "secret")); err != nil {
		t.Fatalf("helper holds nothing: %v", err)
	}
	e.ok("", "pull", "-q", reg.ref("private/app:v1"))
	if out := e.ok("", "logout", reg.host); !strings.HasPrefix(out, "Removing login credentials") {
		t.Errorf("logout: %q", out)
	}
	if _, err := os.Stat(filepath.Join(bin, "secret")); !os.IsNotExist(err) {
		t.Errorf("helper still holds the secret: %v", err)
	}
}
