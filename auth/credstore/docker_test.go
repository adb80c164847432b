package credstore_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/auth/credstore"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
)

// The tests in this file check compatibility against docker itself: its
// own configuration library (github.com/docker/cli, the code `docker login`
// runs) and, when it is installed, the docker binary.

// isolateDocker keeps the environment from changing what docker's library
// reads: DOCKER_AUTH_CONFIG would override config.json.
func isolateDocker(t *testing.T) {
	t.Helper()
	t.Setenv("DOCKER_AUTH_CONFIG", "")
}

// loadDockerConfig reads dir's config.json with docker's library.
func loadDockerConfig(t *testing.T, dir string) *configfile.ConfigFile {
	t.Helper()
	path := filepath.Join(dir, "config.json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cf := configfile.New(path)
	if err := cf.LoadFromReader(f); err != nil {
		t.Fatalf("docker cannot load what credstore wrote: %v", err)
	}
	return cf
}

// interop are logins as docker and credstore both save them: the host
// given to login, the key docker files it under, and the credential.
var interop = []struct {
	host, key string
	cred      credstore.Credential
}{
	{"docker.io", "https://index.docker.io/v1/", credstore.Credential{Username: "hubuser", Password: "hub:pass"}},
	{"localhost:5000", "localhost:5000", credstore.Credential{Username: "alice", Password: "pw"}},
	{"id.example", "id.example", credstore.Credential{Username: "bob", IdentityToken: "refresh-tok"}},
}

// asDocker converts c to docker's type.
func asDocker(key string, c credstore.Credential) types.AuthConfig {
	return types.AuthConfig{ServerAddress: key, Username: c.Username, Password: c.Password,
		IdentityToken: c.IdentityToken, RegistryToken: c.RegistryToken}
}

// fromDocker converts docker's type to a Credential.
func fromDocker(ac types.AuthConfig) credstore.Credential {
	return credstore.Credential{Username: ac.Username, Password: ac.Password,
		IdentityToken: ac.IdentityToken, RegistryToken: ac.RegistryToken}
}

func TestDockerLibraryReadsCredstore(t *testing.T) {
	isolateDocker(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, dockerConfig)
	s := newStore(t, dir)
	for _, l := range interop {
		if _, err := s.Store(ctx, l.host, l.cred); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Erase(ctx, "broken.example"); err != nil { // docker refuses the whole file with it
		t.Fatal(err)
	}
	cf := loadDockerConfig(t, dir)
	for _, l := range interop {
		ac, err := cf.GetAuthConfig(l.host)
		if err != nil || fromDocker(ac) != l.cred {
			t.Errorf("docker GetAuthConfig(%q) = %+v, %v; want %v", l.host, ac, err, l.cred)
		}
	}
	if cf.CurrentContext != "rootless" || cf.PsFormat != `table {{.ID}}\t{{.Image}}\t{{.Names}}` || cf.Plugins["debug"]["hooks"] != "exec" {
		t.Errorf("docker sees other settings changed: %+v", cf)
	}
}

func TestCredstoreReadsDockerLibrary(t *testing.T) {
	isolateDocker(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, `{"psFormat": "x"}`)
	cf := loadDockerConfig(t, dir)
	for _, l := range interop {
		// What `docker login` does once the registry accepted the login.
		if err := cf.GetCredentialsStore(l.key).Store(asDocker(l.key, l.cred)); err != nil {
			t.Fatal(err)
		}
	}
	s := newStore(t, dir)
	for _, l := range interop {
		if got, err := s.Get(ctx, l.host); err != nil || got != l.cred {
			t.Errorf("Get(%q) = %#v, %v; want %#v", l.host, got, err, l.cred)
		}
	}
}

func TestDockerLibraryWithHelper(t *testing.T) {
	// docker's library runs helpers from $PATH: the one reason to change it.
	isolateDocker(t)
	h := installHelper(t, "test", fakeHelperScript)
	t.Setenv("PATH", h.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, `{"credsStore": "test"}`)
	s := newStore(t, dir, credstore.WithHelperPath(h.bin))

	docker, ours := interop[:2], interop[1:] // localhost:5000 both ways
	cf := loadDockerConfig(t, dir)
	for _, l := range docker {
		if err := cf.GetCredentialsStore(l.key).Store(asDocker(l.key, l.cred)); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range docker {
		if got, err := s.Get(ctx, l.host); err != nil || got != l.cred {
			t.Errorf("Get(%q) of docker's login = %#v, %v; want %#v", l.host, got, err, l.cred)
		}
	}
	for _, l := range ours {
		if _, err := s.Store(ctx, l.host, l.cred); err != nil {
			t.Fatal(err)
		}
	}
	cf = loadDockerConfig(t, dir)
	for _, l := range ours {
		want := l.cred
		if want.IdentityToken != "" {
			want.Username = "" // a helper keeps only the token, for docker too
		}
		ac, err := cf.GetAuthConfig(l.host)
		if err != nil || fromDocker(ac) != want {
			t.Errorf("docker GetAuthConfig(%q) = %+v, %v; want %v", l.host, ac, err, want)
		}
	}
	if len(h.entries(t)) != len(interop) {
		t.Errorf("helper holds %v", h.entries(t))
	}
}

// TestDockerLogout runs the docker binary's logout, which needs no daemon,
// over what credstore saved: docker finds the file and helper entries and
// removes them, and keeps the rest.
func TestDockerLogout(t *testing.T) {
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("docker is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, `{"psFormat": "x", "credHelpers": {"helped.example": "test"}}`)
	h := installHelper(t, "test", fakeHelperScript)
	s := newStore(t, dir, credstore.WithHelperPath(h.bin))
	hosts := []string{"docker.io", "localhost:5000", "helped.example"}
	for _, host := range hosts {
		if _, err := s.Store(ctx, host, credstore.Credential{Username: "u", Password: "p"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, host := range hosts {
		args := []string{"logout", host}
		if host == "docker.io" {
			// docker logout docker.io looks for a "docker.io" key; Docker
			// Hub's logout is the one without an argument.
			args = args[:1]
		}
		cmd := exec.CommandContext(ctx, docker, args...)
		cmd.Env = []string{"DOCKER_CONFIG=" + dir, "HOME=" + t.TempDir(),
			"PATH=" + h.bin + string(os.PathListSeparator) + os.Getenv("PATH")}
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Removing login credentials") {
			t.Fatalf("docker logout %s: %v\n%s", host, err, out)
		}
		if got, err := s.Get(ctx, host); err != nil || got != (credstore.Credential{}) {
			t.Errorf("after docker logout %s, Get = %v, %v", host, got, err)
		}
	}
	if auths := readAuths(t, dir); len(auths) != 0 {
		t.Errorf("docker left auths %v", auths)
	}
	if len(h.entries(t)) != 0 {
		t.Errorf("docker left helper entries %v", h.entries(t))
	}
	if cfg := readConfig(t, dir); string(cfg["psFormat"]) != `"x"` {
		t.Errorf("config after docker logout: %v", cfg)
	}
}
