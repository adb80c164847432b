package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// notJSONRegistry is a registry whose repository "bad" serves a manifest
// that is not JSON (with the right digest), and otherwise Berth's API.
func notJSONRegistry(t *testing.T) *testRegistry {
	t.Helper()
	inner := newTestRegistry(t)
	body := []byte("this is not json at all")
	d := digest.FromBytes(body)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v2/bad/manifests/") {
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			w.Header().Set("Docker-Content-Digest", d.String())
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(body)
			}
			return
		}
		inner.srv.Config.Handler.ServeHTTP(w, r)
	})
	return serve(t, h, nil)
}

func TestBadInput(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "team/app:v1", randomImage(t, 512, 1))
	auth := newAuthRegistry(t)
	auth.push(t, "private/app:v1", randomImage(t, 512, 1))
	down := newTestRegistry(t)
	down.srv.Close()
	bad := notJSONRegistry(t)

	tests := []struct {
		name  string
		login string // a user to log in as first, with a wrong password saved
		args  []string
		want  string
	}{
		{"unknown tag", "", []string{"pull", reg.ref("team/app:nope")}, "manifest unknown"},
		{"unknown repository", "", []string{"pull", reg.ref("nobody/here")}, "manifest unknown"},
		{"anonymous on a private registry", "", []string{"pull", auth.ref("private/app:v1")},
			"pull access denied for " + auth.ref("private/app") + ", repository does not exist or may require 'ctl login'"},
		{"wrong saved password", "alice", []string{"pull", auth.ref("private/app:v1")}, "incorrect username or password"},
		{"server down", "", []string{"pull", down.ref("team/app:v1")}, "connection refused"},
		{"manifest not JSON", "", []string{"pull", bad.ref("bad:latest")}, "is not valid JSON"},
		{"invalid reference", "", []string{"pull", "team/App"}, "invalid reference format"},
		{"bad platform", "", []string{"pull", "--platform", "nonsense", reg.ref("team/app:v1")}, "platform"},
		{"push of an unknown image", "", []string{"push", reg.ref("team/none:v1")}, "an image does not exist locally"},
		{"inspect unknown", "", []string{"inspect", "nothere"}, "no such image: nothere"},
		{"inspect --remote unknown", "", []string{"inspect", "--remote", reg.ref("team/app:nope")}, "manifest unknown"},
		{"inspect --remote not JSON", "", []string{"inspect", "--remote", bad.ref("bad:latest")}, "not JSON"},
		{"search down", "", []string{"search", "--registry", down.host, "x"}, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			e.ok("", "pull", "-q", reg.ref("team/app:v1")) // something in the store
			if tt.login != "" {
				if err := os.MkdirAll(e.dockerConfig, 0o700); err != nil {
					t.Fatal(err)
				}
				writeDockerConfig(t, e, auth.host, tt.login, "wrong")
			}
			before := e.storeSnapshot()
			e.fails(tt.want, tt.args...)
			if after := e.storeSnapshot(); strings.Join(before, "\n") != strings.Join(after, "\n") {
				t.Errorf("store changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

// writeDockerConfig replaces config.json with a password entry for host.
func writeDockerConfig(t *testing.T, e *testEnv, host, user, password string) {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	cfg := `{"auths":{"` + host + `":{"auth":"` + auth + `"}}}`
	if err := os.WriteFile(filepath.Join(e.dockerConfig, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestPullWithLogin(t *testing.T) {
	auth := newAuthRegistry(t)
	auth.push(t, "private/app:v1", randomImage(t, 512, 2))
	e := newTestEnv(t)
	e.ok("bob-secret", "login", "-u", "bob", "--password-stdin", auth.host)
	if out := e.ok("", "pull", "-q", auth.ref("private/app:v1")); out != auth.ref("private/app:v1")+"\n" {
		t.Errorf("pull as bob: %q", out)
	}
	e.ok("", "tag", auth.ref("private/app:v1"), auth.ref("bob/app:v1"))
	// bob may only pull.
	r := e.run("", "push", auth.ref("bob/app:v1"))
	if r.code != 1 || !strings.HasPrefix(r.stderr, "Error: push access denied for "+auth.ref("bob/app")+", may require 'ctl login") {
		t.Errorf("push as bob: %+v", r)
	}
	e.ok("", "logout", auth.host)
	e.ok("alice-secret", "login", "-u", "alice", "--password-stdin", auth.host)
	e.ok("", "push", "-q", auth.ref("bob/app:v1"))
}

func TestMirrors(t *testing.T) {
	mirror := newTestRegistry(t)
	dgst := mirror.push(t, "team/app:v1", randomImage(t, 512, 1))
	origin := newTestRegistry(t)
	origin.srv.Close() // only the mirror answers
	e := newTestEnv(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	yaml := "mirrors:\n  " + origin.host + ": [" + mirror.host + "]\nregistries:\n  " + mirror.host + ":\n    insecure: true\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := e.ok("", "--config", cfg, "pull", origin.ref("team/app:v1"))
	if !strings.Contains(out, "Digest: "+dgst.String()) || !strings.HasSuffix(out, origin.ref("team/app:v1")+"\n") {
		t.Errorf("pull through the mirror:\n%s", out)
	}
	// Without the config the origin is down.
	e.fails("connection refused", "pull", origin.ref("team/app:v2"))

	// The config in the default places is read too, and checked.
	if err := os.MkdirAll(filepath.Join(e.vars["XDG_CONFIG_HOME"], "ctl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.vars["XDG_CONFIG_HOME"], "ctl", "config.yaml"), []byte("mirrorz: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.fails("field mirrorz not found", "pull", origin.ref("team/app:v1"))
	e.fails("no such file", "--config", filepath.Join(t.TempDir(), "missing.yaml"), "pull", origin.ref("team/app:v1"))
}

func TestCancelled(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "team/app:v1", randomImage(t, 512, 1))
	e := newTestEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := e.runContext(ctx, "", "pull", reg.ref("team/app:v1"))
	if r.code != exitCanceled {
		t.Errorf("pull with a cancelled context: %+v", r)
	}
	if got := e.ok("", "images", "-q"); got != "" {
		t.Errorf("cancelled pull tagged an image: %q", got)
	}
}

func TestUsageErrors(t *testing.T) {
	e := newTestEnv(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"pull", "--nope", "x"}, exitUsage, "Error: unknown flag: --nope\nSee 'ctl pull --help'.\n"},
		{"missing argument", []string{"pull"}, exitError, "Error: \"ctl pull\" requires exactly 1 argument\nSee 'ctl pull --help'.\n"},
		{"too many", []string{"tag", "a"}, exitError, "Error: \"ctl tag\" requires exactly 2 arguments\nSee 'ctl tag --help'.\n"},
		{"unknown command", []string{"frobnicate"}, exitError, "Error: unknown command \"frobnicate\" for \"ctl\"\nSee 'ctl --help'.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.run("", tt.args...)
			if r.code != tt.code || r.stderr != tt.want {
				t.Errorf("exit %d, stderr %q; want %d, %q", r.code, r.stderr, tt.code, tt.want)
			}
		})
	}
}
