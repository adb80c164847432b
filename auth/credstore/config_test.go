package credstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/berthhq/berth/auth/credstore"
)

// dockerConfig is a config.json as a docker user has it: logins written by
// several docker versions and settings ctl knows nothing about.
const dockerConfig = `{
	"auths": {
		"https://index.docker.io/v1/": {
			"auth": "aHVidXNlcjpodWJwYXNz"
		},
		"registry.example.com:5000": {
			"auth": "Ym9iOg==",
			"identitytoken": "refresh-abc"
		},
		"https://legacy.example.com": {
			"auth": "b2xkOnB3",
			"email": "old@example.com"
		},
		"old.example.org/v1/": {
			"auth": "b3JnOnB3"
		},
		"broken.example": {
			"auth": "%%%"
		}
	},
	"credsStore": "",
	"HttpHeaders": {
		"User-Agent": "Docker-Client/28.2.2 (linux)",
		"X-Meta-Source": "workstation"
	},
	"psFormat": "table {{.ID}}\\t{{.Image}}\\t{{.Names}}",
	"currentContext": "rootless",
	"plugins": {
		"-x-cli-hints": {
			"enabled": "true"
		},
		"debug": {
			"hooks": "exec"
		}
	},
	"aliases": {
		"builder": "buildx"
	},
	"features": {
		"hooks": "true"
	},
	"proxies": {
		"default": {
			"httpProxy": "http://proxy.example:3128",
			"noProxy": "localhost,127.0.0.1"
		}
	},
	"x-unknown": {"nested": [1, 2.50, {"deep": null}], "big": 12345678901234567890, "esc": "\u003c\u00e9\u003e"}
}`

// topLevelOrder returns the top-level keys of a JSON object in file order.
func topLevelOrder(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(data)))
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestDockerConfigPreserved(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, dockerConfig)
	s := newStore(t, dir)

	reads := []struct {
		host string
		want credstore.Credential
	}{
		{"docker.io", credstore.Credential{Username: "hubuser", Password: "hubpass"}},
		{"registry.example.com:5000", credstore.Credential{Username: "bob", IdentityToken: "refresh-abc"}},
		{"legacy.example.com", credstore.Credential{Username: "old", Password: "pw"}},
		{"old.example.org", credstore.Credential{Username: "org", Password: "pw"}},
		{"nobody.example", credstore.Credential{}},
	}
	for _, r := range reads {
		if got, err := s.Get(ctx, r.host); err != nil || got != r.want {
			t.Errorf("Get(%q) = %#v, %v; want %#v", r.host, got, err, r.want)
		}
	}
	if _, err := s.Get(ctx, "broken.example"); !errors.Is(err, credstore.ErrInvalidConfig) ||
		!strings.Contains(err.Error(), s.Path()) || !strings.Contains(err.Error(), "broken.example") {
		t.Errorf("Get(broken.example) = %v, want ErrInvalidConfig naming the file and the entry", err)
	}

	before := readConfig(t, dir)
	if _, err := s.Store(ctx, "new.example:443", credstore.Credential{Username: "n", Password: "p"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Erase(ctx, "old.example.org"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	after := readConfig(t, dir)
	for _, verbatim := range []string{"12345678901234567890", "2.50", `\u003c\u00e9\u003e`, `"credsStore": ""`} {
		if !strings.Contains(string(data), verbatim) {
			t.Errorf("rewritten file lost %s:\n%s", verbatim, data)
		}
	}
	if got, want := topLevelOrder(t, data), topLevelOrder(t, []byte(dockerConfig)); !slices.Equal(got, want) {
		t.Errorf("top-level order = %v, want %v", got, want)
	}
	for k, v := range before {
		if k == "auths" {
			continue
		}
		if compact(t, after[k]) != compact(t, v) {
			t.Errorf("%s changed:\n got %s\nwant %s", k, after[k], v)
		}
	}
	var authsBefore, authsAfter map[string]json.RawMessage
	json.Unmarshal(before["auths"], &authsBefore)
	json.Unmarshal(after["auths"], &authsAfter)
	delete(authsBefore, "old.example.org/v1/")
	for k, v := range authsBefore {
		if compact(t, authsAfter[k]) != compact(t, v) {
			t.Errorf("auths[%q] changed: got %s, want %s", k, authsAfter[k], v)
		}
	}
	if len(authsAfter) != len(authsBefore)+1 || authsAfter["new.example:443"] == nil {
		t.Errorf("auths = %s", after["auths"])
	}
}

func TestCorruptConfig(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ name, content string }{
		{"truncated", `{"auths": {"r.example": {"auth": "dTpw"}`},
		{"not json", "auths = yes"},
		{"array", `[]`},
		{"string", `"config"`},
		{"trailing data", `{"auths": {}} {"auths": {}}`},
		{"auths array", `{"auths": []}`},
		{"auths entry string", `{"auths": {"r.example": "dTpw"}}`},
		{"credsStore number", `{"credsStore": 5}`},
		{"credHelpers list", `{"credHelpers": ["pass"]}`},
		{"helper with a path", `{"credsStore": "../../bin/sh"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, tt.content)
			s := newStore(t, dir)
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, credstore.ErrInvalidConfig) || !strings.Contains(err.Error(), s.Path()) {
					t.Errorf("%s = %v, want ErrInvalidConfig naming %s", op, err, s.Path())
				}
			}
			_, err := s.Get(ctx, "r.example")
			check("Get", err)
			_, err = s.Store(ctx, "r.example", credstore.Credential{Username: "u", Password: "p"})
			check("Store", err)
			check("Erase", s.Erase(ctx, "r.example"))
			if data, _ := os.ReadFile(s.Path()); string(data) != tt.content {
				t.Errorf("config.json was changed to %s", data)
			}
		})
	}
}

func TestFileModes(t *testing.T) {
	ctx := context.Background()
	cred := credstore.Credential{Username: "u", Password: "p"}
	t.Run("new", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "home", ".docker")
		s := newStore(t, dir)
		if _, err := s.Store(ctx, "r.example", cred); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]os.FileMode{dir: 0o700, s.Path(): 0o600} {
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&0o077 != 0 || fi.Mode().Perm()&want != want {
				t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode().Perm(), err, want)
			}
		}
	})
	for _, mode := range []os.FileMode{0o644, 0o640, 0o600} {
		t.Run(fmt.Sprintf("existing %v", mode), func(t *testing.T) {
			dir := t.TempDir()
			writeConfig(t, dir, `{}`)
			path := filepath.Join(dir, "config.json")
			if err := os.Chmod(path, mode); err != nil {
				t.Fatal(err)
			}
			if _, err := newStore(t, dir).Store(ctx, "r.example", cred); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
				t.Errorf("mode after Store = %v, %v; want %v", fi.Mode().Perm(), err, mode)
			}
			assertOnlyConfig(t, dir)
		})
	}
}

// assertOnlyConfig fails when dir holds anything but config.json (such as
// a temporary file left behind).
func assertOnlyConfig(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "config.json" {
			t.Errorf("%s left in %s", e.Name(), dir)
		}
	}
}

func TestSymlinkedConfig(t *testing.T) {
	ctx := context.Background()
	for _, dangling := range []bool{false, true} {
		t.Run(fmt.Sprintf("dangling=%v", dangling), func(t *testing.T) {
			dir, realDir := t.TempDir(), t.TempDir()
			target := filepath.Join(realDir, "docker.json")
			if !dangling {
				if err := os.WriteFile(target, []byte(`{"psFormat": "x"}`), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			link := filepath.Join(dir, "config.json")
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			s := newStore(t, dir)
			if _, err := s.Store(ctx, "r.example", credstore.Credential{Username: "u", Password: "p"}); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("config.json is no longer a symbolic link")
			}
			if got, err := s.Get(ctx, "r.example"); err != nil || got.Username != "u" {
				t.Errorf("Get through the link = %v, %v", got, err)
			}
			if data, _ := os.ReadFile(target); !strings.Contains(string(data), "r.example") {
				t.Errorf("target not updated: %s", data)
			}
		})
	}
}

func TestConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeConfig(t, dir, dockerConfig)
	const writers, rounds = 8, 10
	shared := newStore(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds*2+1)
	stop := make(chan struct{})
	// A reader must always see a whole file, old or new.
	wg.Go(func() {
		reader := newStore(t, dir)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if got, err := reader.Get(ctx, "docker.io"); err != nil || got.Username != "hubuser" {
				errs <- fmt.Errorf("reader: %v, %v", got, err)
				return
			}
		}
	})
	var writersWG sync.WaitGroup
	for w := range writers {
		writersWG.Go(func() {
			own := newStore(t, dir) // as another process would
			for r := range rounds {
				s := own
				if r%2 == 1 {
					s = shared
				}
				host := fmt.Sprintf("w%d-r%d.example", w, r)
				if _, err := s.Store(ctx, host, credstore.Credential{Username: host, Password: "p"}); err != nil {
					errs <- err
				}
			}
		})
	}
	writersWG.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := newStore(t, dir)
	for w := range writers {
		for r := range rounds {
			host := fmt.Sprintf("w%d-r%d.example", w, r)
			if got, err := s.Get(ctx, host); err != nil || got.Username != host {
				t.Errorf("Get(%s) = %v, %v: an update was lost", host, got, err)
			}
		}
	}
	if got := readConfig(t, dir)["currentContext"]; string(got) != `"rootless"` {
		t.Errorf("currentContext = %s", got)
	}
	assertOnlyConfig(t, dir)
}
