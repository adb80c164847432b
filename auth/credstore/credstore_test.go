package credstore_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/auth/credstore"
)

func TestRoundTripFile(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		host     string
		cred     credstore.Credential
		key      string // expected key in auths
		insecure bool
	}{
		{"password", "localhost:5000", credstore.Credential{Username: "alice", Password: "s3cret:with:colons"}, "localhost:5000", true},
		{"identity token with user", "registry.example.com", credstore.Credential{Username: "bob", IdentityToken: "refresh-1"}, "registry.example.com", true},
		{"identity token alone", "registry.example.com", credstore.Credential{IdentityToken: "refresh-2"}, "registry.example.com", true},
		{"registry token", "registry.example.com:443", credstore.Credential{RegistryToken: "bearer-1"}, "registry.example.com:443", false},
		{"user with registry token", "r.example", credstore.Credential{Username: "u", RegistryToken: "bearer-2"}, "r.example", false},
		{"docker.io", "docker.io", credstore.Credential{Username: "hub", Password: "pw"}, "https://index.docker.io/v1/", true},
		{"url", "https://localhost:5000/v2/", credstore.Credential{Username: "u", Password: "p"}, "localhost:5000", true},
		{"ipv6", "[::1]:5000", credstore.Credential{Username: "u", Password: "p"}, "[::1]:5000", true},
		{"unicode password", "r.example", credstore.Credential{Username: "ü", Password: "pässwörd ✓"}, "r.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newStore(t, dir)
			insecure, err := s.Store(ctx, tt.host, tt.cred)
			if err != nil {
				t.Fatalf("Store: %v", err)
			}
			if insecure != tt.insecure {
				t.Errorf("insecure = %v, want %v", insecure, tt.insecure)
			}
			got, err := s.Get(ctx, tt.host)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if got != tt.cred {
				t.Errorf("Get = %#v, want %#v", got, tt.cred)
			}
			auths := readAuths(t, dir)
			if _, ok := auths[tt.key]; !ok || len(auths) != 1 {
				t.Errorf("auths keys = %v, want only %q", auths, tt.key)
			}
			// Another Store over the same directory (another process) reads it too.
			if got, err := newStore(t, dir).Get(ctx, tt.key); err != nil || got != tt.cred {
				t.Errorf("Get(%q) from a new Store = %v, %v", tt.key, got, err)
			}
		})
	}
}

func TestDockerFileFormat(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newStore(t, dir)
	if _, err := s.Store(ctx, "localhost:5000", credstore.Credential{Username: "alice", Password: "pw"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store(ctx, "id.example", credstore.Credential{Username: "bob", IdentityToken: "tok"}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	// Exactly what docker's configfile.Save writes for the same logins.
	want := "{\n\t\"auths\": {\n" +
		"\t\t\"id.example\": {\n\t\t\t\"auth\": \"Ym9iOg==\",\n\t\t\t\"identitytoken\": \"tok\"\n\t\t},\n" +
		"\t\t\"localhost:5000\": {\n\t\t\t\"auth\": \"YWxpY2U6cHc=\"\n\t\t}\n\t}\n}"
	if string(data) != want {
		t.Errorf("config.json =\n%s\nwant\n%s", data, want)
	}
}

func TestGetMissing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		config string // "" for no file
	}{
		{"no file", ""},
		{"empty file", " \n"},
		{"null", "null"},
		{"no auths", `{"psFormat": "x"}`},
		{"null auths", `{"auths": null}`},
		{"other host", `{"auths": {"other.example": {"auth": "dTpw"}}}`},
		{"empty entry", `{"auths": {"r.example": {}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.config != "" {
				writeConfig(t, dir, tt.config)
			}
			got, err := newStore(t, dir).Get(ctx, "r.example")
			if err != nil || got != (credstore.Credential{}) {
				t.Errorf("Get = %v, %v; want no credentials and no error", got, err)
			}
		})
	}
}

func TestDockerHubAliases(t *testing.T) {
	ctx := context.Background()
	aliases := []string{"docker.io", "index.docker.io", "registry-1.docker.io",
		"https://index.docker.io/v1/", "https://registry-1.docker.io", "index.docker.io/v1/"}
	for _, stored := range aliases {
		t.Run(stored, func(t *testing.T) {
			dir := t.TempDir()
			s := newStore(t, dir)
			cred := credstore.Credential{Username: "hub", Password: "pw"}
			if _, err := s.Store(ctx, stored, cred); err != nil {
				t.Fatal(err)
			}
			if auths := readAuths(t, dir); len(auths) != 1 || auths["https://index.docker.io/v1/"]["auth"] == "" {
				t.Errorf("auths = %v, want one entry under https://index.docker.io/v1/", auths)
			}
			for _, lookup := range aliases {
				if got, err := s.Get(ctx, lookup); err != nil || got != cred {
					t.Errorf("Get(%q) = %v, %v", lookup, got, err)
				}
			}
		})
	}
}

func TestLegacyKeys(t *testing.T) {
	ctx := context.Background()
	auth := base64.StdEncoding.EncodeToString([]byte("old:pw"))
	tests := []struct {
		key     string // as an older docker wrote it
		lookups []string
	}{
		{"https://legacy.example.com", []string{"legacy.example.com", "https://legacy.example.com/v2/"}},
		{"http://legacy.example.com:5000", []string{"legacy.example.com:5000", "http://legacy.example.com:5000"}},
		{"legacy.example.com/v1/", []string{"legacy.example.com", "https://legacy.example.com"}},
		{"https://legacy.example.com:8443/v1/", []string{"legacy.example.com:8443"}},
		{"https://index.docker.io/v1/", []string{"docker.io"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, fmt.Sprintf(`{"auths": {%q: {"auth": %q, "email": "old@example.com"}}}`, tt.key, auth))
			s := newStore(t, dir)
			want := credstore.Credential{Username: "old", Password: "pw"}
			for _, host := range tt.lookups {
				if got, err := s.Get(ctx, host); err != nil || got != want {
					t.Errorf("Get(%q) = %v, %v; want %v", host, got, err, want)
				}
			}
			if err := s.Erase(ctx, tt.lookups[0]); err != nil {
				t.Fatalf("Erase: %v", err)
			}
			if auths := readAuths(t, dir); len(auths) != 0 {
				t.Errorf("after Erase auths = %v", auths)
			}
		})
	}
}

func TestCanonicalKeyWins(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, `{"auths": {
		"https://r.example": {"auth": "`+base64.StdEncoding.EncodeToString([]byte("old:1"))+`"},
		"r.example/v1/": {"auth": "`+base64.StdEncoding.EncodeToString([]byte("old:2"))+`"}}}`)
	s := newStore(t, dir)
	cred := credstore.Credential{Username: "new", Password: "3"}
	if _, err := s.Store(ctx, "r.example", cred); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "https://r.example"); err != nil || got != cred {
		t.Errorf("Get = %v, %v; want %v", got, err, cred)
	}
	if err := s.Erase(ctx, "r.example"); err != nil {
		t.Fatal(err)
	}
	if auths := readAuths(t, dir); len(auths) != 0 {
		t.Errorf("Erase left %v", auths)
	}
}

func TestReadOnlyFields(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		entry string
		want  credstore.Credential
	}{
		{"clear username and password", `{"username": "u", "password": "p"}`, credstore.Credential{Username: "u", Password: "p"}},
		{"auth wins over clear fields", `{"auth": "dTpw", "username": "x", "password": "y"}`, credstore.Credential{Username: "u", Password: "p"}},
		{"unpadded base64", `{"auth": "dTpwdw"}`, credstore.Credential{Username: "u", Password: "pw"}},
		{"nul-padded password", `{"auth": "` + base64.StdEncoding.EncodeToString([]byte("u:p\x00\x00")) + `"}`, credstore.Credential{Username: "u", Password: "p"}},
		{"null fields", `{"auth": null, "identitytoken": "t", "registrytoken": null}`, credstore.Credential{IdentityToken: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, `{"auths": {"r.example": `+tt.entry+`}}`)
			if got, err := newStore(t, dir).Get(ctx, "r.example"); err != nil || got != tt.want {
				t.Errorf("Get = %#v, %v; want %#v", got, err, tt.want)
			}
		})
	}
}

func TestErase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := newStore(t, dir)
	if err := s.Erase(ctx, "r.example"); !errors.Is(err, credstore.ErrNotLoggedIn) {
		t.Errorf("Erase without a file = %v, want ErrNotLoggedIn", err)
	}
	if _, err := os.Stat(s.Path()); !os.IsNotExist(err) {
		t.Errorf("Erase created %s", s.Path())
	}
	for _, h := range []string{"r.example", "other.example"} {
		if _, err := s.Store(ctx, h, credstore.Credential{Username: "u", Password: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Erase(ctx, "https://r.example"); err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if got, err := s.Get(ctx, "r.example"); err != nil || got != (credstore.Credential{}) {
		t.Errorf("Get after Erase = %v, %v", got, err)
	}
	if got, _ := s.Get(ctx, "other.example"); got.Username != "u" {
		t.Errorf("Erase removed another registry's credentials")
	}
	err := s.Erase(ctx, "r.example")
	if !errors.Is(err, credstore.ErrNotLoggedIn) || !strings.Contains(err.Error(), "r.example") {
		t.Errorf("second Erase = %v, want ErrNotLoggedIn naming r.example", err)
	}
}

func TestStoreInvalid(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		host string
		cred credstore.Credential
	}{
		{"empty", "r.example", credstore.Credential{}},
		{"password without user", "r.example", credstore.Credential{Password: "p"}},
		{"user without secret", "r.example", credstore.Credential{Username: "u"}},
		{"colon in user", "r.example", credstore.Credential{Username: "a:b", Password: "p"}},
		{"token user name", "r.example", credstore.Credential{Username: "<token>", Password: "p"}},
		{"password and identity token", "r.example", credstore.Credential{Username: "u", Password: "p", IdentityToken: "t"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := newStore(t, dir).Store(ctx, tt.host, tt.cred); !errors.Is(err, credstore.ErrInvalidCredential) {
				t.Errorf("Store = %v, want ErrInvalidCredential", err)
			}
			if _, err := os.Stat(filepath.Join(dir, "config.json")); !os.IsNotExist(err) {
				t.Errorf("a refused Store wrote config.json")
			}
		})
	}
}

func TestInvalidHost(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, t.TempDir())
	for _, host := range []string{"", "/v1/", "https://", "bad host"} {
		if _, err := s.Get(ctx, host); err == nil {
			t.Errorf("Get(%q) succeeded", host)
		}
		if _, err := s.Store(ctx, host, credstore.Credential{Username: "u", Password: "p"}); err == nil {
			t.Errorf("Store(%q) succeeded", host)
		}
		if err := s.Erase(ctx, host); err == nil || errors.Is(err, credstore.ErrNotLoggedIn) {
			t.Errorf("Erase(%q) = %v, want an invalid host error", host, err)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := newStore(t, t.TempDir())
	if _, err := s.Get(ctx, "r.example"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get = %v", err)
	}
	if _, err := s.Store(ctx, "r.example", credstore.Credential{Username: "u", Password: "p"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Store = %v", err)
	}
	if err := s.Erase(ctx, "r.example"); !errors.Is(err, context.Canceled) {
		t.Errorf("Erase = %v", err)
	}
}

func TestNewAndDefaultDir(t *testing.T) {
	if _, err := credstore.New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
	if _, err := credstore.New(t.TempDir(), credstore.WithHelperStderr(nil)); err == nil {
		t.Error("New with a nil stderr succeeded")
	}
	s := newStore(t, "relative/dir")
	if !filepath.IsAbs(s.Path()) || filepath.Base(s.Path()) != "config.json" {
		t.Errorf("Path = %q, want an absolute path to config.json", s.Path())
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		getenv  func(string) string
		home    string
		want    string
		wantErr bool
	}{
		{"DOCKER_CONFIG", env(map[string]string{"DOCKER_CONFIG": "/etc/dc"}), "/home/u", "/etc/dc", false},
		{"home", env(nil), "/home/u", "/home/u/.docker", false},
		{"nil getenv", nil, "/home/u", "/home/u/.docker", false},
		{"nothing", env(nil), "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := credstore.DefaultDir(tt.getenv, tt.home)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("DefaultDir = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestCredentialRedacted(t *testing.T) {
	c := credstore.Credential{Username: "alice", Password: "hunter2", IdentityToken: "refresh-secret", RegistryToken: "bearer-secret"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, c)
		if strings.Contains(out, "hunter2") || strings.Contains(out, "secret") {
			t.Errorf("%s printed a secret: %s", format, out)
		}
		if !strings.Contains(out, "alice") {
			t.Errorf("%s dropped the user name: %s", format, out)
		}
	}
}
