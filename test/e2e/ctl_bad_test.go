//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// badCase is one command that must fail cleanly: exit status 1, one line
// on stderr that says what was wrong, and the store as it was.
type badCase struct {
	name     string
	authOnly bool // needs token auth (a login to refuse)
	authOff  bool // mode-independent: run once, in the auth-off run
	// setup prepares the case on a workstation that holds one image and
	// returns the ctl command line and its stdin.
	setup func(t *testing.T, c *ctlEnv) (args []string, stdin string)
	want  []string // the error line contains one of these (lower case)
	// after checks more, once the command failed.
	after func(t *testing.T, c *ctlEnv)
}

// TestCtlBadInput: unknown images, a wrong password, a registry that
// sends a corrupted blob, a manifest that is not JSON and a registry that
// is down each fail with one clear line and leave the store unchanged.
func TestCtlBadInput(t *testing.T) {
	t.Parallel()
	ctlModes(t, func(t *testing.T, m ctlMode) {
		base := m.put(t, "alice/base:v1", dockerImage(t, 2<<10, 1))
		for _, tc := range badCases(t, m) {
			if (tc.authOnly && m.auth == nil) || (tc.authOff && m.auth != nil) {
				continue
			}
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := m.workstation(t)
				if got := c.pull(t, m.reg.Ref("alice/base:v1")); got != base {
					t.Fatalf("pulled base %s, want %s", got, base)
				}
				args, stdin := tc.setup(t, c)
				before := c.state(t)
				r := c.try(t, stdin, args...)
				expectOneLineError(t, r, tc.want...)
				if after := c.state(t); after != before {
					t.Errorf("the store changed:\nbefore %s\nafter  %s", before, after)
				}
				if tc.after != nil {
					tc.after(t, c)
				}
			})
		}
	})
}

// expectOneLineError fails unless r exited 1 with exactly one line on
// stderr, "Error: ...", containing one of words.
func expectOneLineError(t testing.TB, r ctlResult, words ...string) {
	t.Helper()
	msg := strings.TrimSuffix(r.stderr, "\n")
	if r.code != 1 || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "Error: ") {
		t.Errorf("want exit status 1 and one \"Error: \" line on stderr; got %s", r)
		return
	}
	lower := strings.ToLower(msg)
	for _, w := range words {
		if strings.Contains(lower, w) {
			t.Logf("ctl %s: %s", strings.Join(r.args, " "), msg)
			return
		}
	}
	t.Errorf("the error line mentions none of %q: %s", words, msg)
}

func badCases(t *testing.T, m ctlMode) []badCase {
	reg := m.reg
	return []badCase{
		{
			name: "pull of an unknown image",
			setup: func(t *testing.T, c *ctlEnv) ([]string, string) {
				return []string{"pull", reg.Ref("alice/nothing-here:v1")}, ""
			},
			want: []string{"manifest unknown", "not found"},
		},
		{
			name: "push of an image not in the store",
			setup: func(t *testing.T, c *ctlEnv) ([]string, string) {
				return []string{"push", reg.Ref("alice/not-local:v1")}, ""
			},
			want: []string{"does not exist locally", "no such image"},
		},
		{
			name: "save of an unknown image",
			setup: func(t *testing.T, c *ctlEnv) ([]string, string) {
				return []string{"save", "-o", filepath.Join(c.root, "..", "x.tar"), "nothere:v1"}, ""
			},
			want: []string{"no such image"},
			after: func(t *testing.T, c *ctlEnv) {
				if _, err := os.Stat(filepath.Join(c.root, "..", "x.tar")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a failed save left its output file: %v", err)
				}
			},
		},
		corruptBlobCase(t, m),
		{
			name:     "login with a wrong password",
			authOnly: true,
			setup: func(t *testing.T, c *ctlEnv) ([]string, string) {
				return []string{"login", "-u", "alice", "--password-stdin", reg.Host}, "not-alices-password\n"
			},
			want: []string{"incorrect username or password", "unauthorized"},
			after: func(t *testing.T, c *ctlEnv) {
				// Still logged in with the right password, as docker keeps it.
				c.pull(t, reg.Ref("alice/base:v1"))
			},
		},
		{
			name:    "manifest that is not JSON",
			authOff: true,
			setup: func(t *testing.T, c *ctlEnv) ([]string, string) {
				return []string{"pull", notJSONRegistry(t) + "/bad/app:v1"}, ""
			},
			want: []string{"is not valid json"},
		},
		{
			name:    "registry down",
			authOff: true,
			setup: func(t *testing.T, c *ctlEnv) ([]string, string) {
				port, err := freePort() // nothing listens there
				if err != nil {
					t.Fatal(err)
				}
				return []string{"pull", fmt.Sprintf("127.0.0.1:%d/alice/app:v1", port)}, ""
			},
			want: []string{"connection refused"},
		},
	}
}

// corruptBlobCase pulls through a proxy that flips one byte of a layer:
// the pull fails on the digest, keeps neither the layer nor a partial of
// it, and a second pull (the proxy corrupts only once) succeeds.
func corruptBlobCase(t *testing.T, m ctlMode) badCase {
	var (
		p     *faultProxy
		layer v1.Hash
		want  string
	)
	return badCase{
		name: "blob that does not match its digest",
		setup: func(t *testing.T, c *ctlEnv) ([]string, string) {
			img := dockerImage(t, 256<<10, 1)
			want = m.put(t, "alice/corrupt:v1", img)
			layers, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			if layer, err = layers[0].Digest(); err != nil {
				t.Fatal(err)
			}
			p = newFaultProxy(t, m.reg)
			p.inject(layer.String(), flipAt, 100<<10)
			if m.auth != nil {
				c.login(t, m.auth, p.Host, "alice")
			}
			return []string{"pull", p.Ref("alice/corrupt:v1")}, ""
		},
		want: []string{"digest"},
		after: func(t *testing.T, c *ctlEnv) {
			if gets := p.blobGets(layer.String()); len(gets) != 1 || !gets[0].Faulted {
				t.Errorf("GETs of the corrupted layer: %+v; want one, corrupted (no retry of bad content)", gets)
			}
			for _, path := range []string{
				filepath.Join(c.root, "content", "blobs", layer.Algorithm, layer.Hex),
				partialPath(c, layer),
			} {
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("corrupted layer kept in the store as %s (%v)", path, err)
				}
			}
			if got := c.pull(t, p.Ref("alice/corrupt:v1")); got != want {
				t.Errorf("pull after the corruption: digest %s, want %s", got, want)
			}
			expectBlob(t, c, layer)
		},
	}
}

// notJSONRegistry serves one manifest, bad/app:v1, whose body is not JSON
// (with its true digest and an image manifest media type), and returns
// its host.
func notJSONRegistry(t testing.TB) string {
	t.Helper()
	body := []byte("this is not a manifest, nor JSON at all\n")
	d := digest.FromBytes(body)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v2/":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, "{}")
		case r.URL.Path == "/v2/bad/app/manifests/v1" || r.URL.Path == "/v2/bad/app/manifests/"+d.String():
			w.Header().Set("Content-Type", ocispec.MediaTypeImageManifest)
			w.Header().Set("Docker-Content-Digest", d.String())
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if r.Method != http.MethodHead {
				w.Write(body)
			}
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
