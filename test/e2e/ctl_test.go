//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// The ctl tests drive bin/ctl, the workstation tool, against bin/registry
// and check what it does with the real docker, skopeo and crane: each of
// them runs once with auth off and once with token auth (ctlModes).

// ctlEnv is one workstation: a ctl store and a docker config directory of
// its own. ctl login writes to that config.json, and the docker, crane and
// skopeo runs of a test read it too.
type ctlEnv struct {
	root   string // --root: the local store
	config string // DOCKER_CONFIG
	xdg    string // XDG_CONFIG_HOME, so no ctl config of the user's is read
}

// newCtl is a fresh workstation: empty store, no logins.
func newCtl(t testing.TB) *ctlEnv {
	t.Helper()
	ctlBin(t)
	base := t.TempDir()
	c := &ctlEnv{root: filepath.Join(base, "store"), config: filepath.Join(base, "docker"), xdg: filepath.Join(base, "xdg")}
	for _, d := range []string{c.config, c.xdg} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// ctlResult is how one ctl run ended.
type ctlResult struct {
	args           []string
	stdout, stderr string
	code           int
}

func (r ctlResult) String() string {
	return fmt.Sprintf("ctl %s: exit %d\nstdout:\n%s\nstderr:\n%s",
		strings.Join(r.args, " "), r.code, tail(r.stdout, 30), tail(r.stderr, 30))
}

// env is the environment of ctl and of the other clients of this
// workstation (later entries win over ours).
func (c *ctlEnv) env() []string {
	return []string{"DOCKER_CONFIG=" + c.config, "XDG_CONFIG_HOME=" + c.xdg, "CTL_ROOT=" + c.root}
}

// command is `ctl --root ROOT ARGS` ready to run.
func (c *ctlEnv) command(t testing.TB, stdin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(ctlBin(t), append([]string{"--root", c.root}, args...)...)
	cmd.Env = append(os.Environ(), c.env()...)
	cmd.Stdin = strings.NewReader(stdin)
	return cmd
}

// try runs ctl and returns how it ended, whatever that was.
func (c *ctlEnv) try(t testing.TB, stdin string, args ...string) ctlResult {
	t.Helper()
	cmd := c.command(t, stdin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := ctlResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("ctl %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// run runs ctl, which must succeed, and returns its stdout.
func (c *ctlEnv) run(t testing.TB, args ...string) string {
	t.Helper()
	r := c.try(t, "", args...)
	if r.code != 0 {
		t.Fatalf("%s", r)
	}
	return r.stdout
}

// login runs `ctl login --password-stdin` as account.
func (c *ctlEnv) login(t testing.TB, reg *authRegistry, host, account string) {
	t.Helper()
	r := c.try(t, reg.pw[account]+"\n", "login", "-u", account, "--password-stdin", host)
	if r.code != 0 || !strings.Contains(r.stdout, "Login Succeeded") {
		t.Fatalf("login as %s: %s", account, r)
	}
}

var (
	ctlPushDigest = regexp.MustCompile(`(?m)^\S+: digest: (sha256:[0-9a-f]{64}) size: \d+$`)
	ctlPullDigest = regexp.MustCompile(`(?m)^Digest: (sha256:[0-9a-f]{64})$`)
)

// push runs ctl push and returns the digest it prints.
func (c *ctlEnv) push(t testing.TB, name string) string {
	t.Helper()
	out := c.run(t, "push", name)
	m := ctlPushDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ctl push %s printed no \"TAG: digest: ... size: N\" line:\n%s", name, out)
	}
	return m[1]
}

// pull runs ctl pull and returns the digest it prints.
func (c *ctlEnv) pull(t testing.TB, name string) string {
	t.Helper()
	out := c.run(t, "pull", name)
	m := ctlPullDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ctl pull %s printed no \"Digest: ...\" line:\n%s", name, out)
	}
	return m[1]
}

// ctlImage is a row of `ctl images`.
type ctlImage struct{ Repository, Tag, ID string }

// images parses the table `ctl images` prints: REPOSITORY, TAG and IMAGE
// ID columns, as docker's, separated by two or more spaces.
func (c *ctlEnv) images(t testing.TB) []ctlImage {
	t.Helper()
	out := c.run(t, "images")
	rows := strings.Split(strings.TrimRight(out, "\n"), "\n")
	cols := regexp.MustCompile(`\s{2,}`)
	head := cols.Split(strings.TrimSpace(rows[0]), -1)
	if len(head) < 3 || head[0] != "REPOSITORY" || head[1] != "TAG" || head[2] != "IMAGE ID" {
		t.Fatalf("ctl images header %q, want REPOSITORY TAG IMAGE ID ...:\n%s", head, out)
	}
	var list []ctlImage
	for _, row := range rows[1:] {
		f := cols.Split(strings.TrimSpace(row), -1)
		if len(f) != len(head) {
			t.Fatalf("ctl images row %q has %d columns, header %d:\n%s", row, len(f), len(head), out)
		}
		list = append(list, ctlImage{Repository: f[0], Tag: f[1], ID: f[2]})
	}
	return list
}

// expectImage fails unless `ctl images` lists repo:tag with the ID docker
// shows for config digest cfg (its first 12 hex digits).
func (c *ctlEnv) expectImage(t testing.TB, name, cfg string) {
	t.Helper()
	repo, tag := name[:strings.LastIndex(name, ":")], name[strings.LastIndex(name, ":")+1:]
	want := strings.TrimPrefix(cfg, "sha256:")[:12]
	list := c.images(t)
	for _, im := range list {
		if im.Repository == repo && im.Tag == tag {
			if im.ID != want {
				t.Errorf("ctl images: %s has IMAGE ID %s, want %s (config %s)", name, im.ID, want, cfg)
			}
			return
		}
	}
	t.Errorf("ctl images does not list %s: %+v", name, list)
}

// state is what must not change when a command fails: the image list
// with digests and IDs, and index.json as stored.
func (c *ctlEnv) state(t testing.TB) string {
	t.Helper()
	idx, err := os.ReadFile(filepath.Join(c.root, "content", "index.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return c.run(t, "images", "--digests", "--no-trunc") + "\n" + string(idx)
}

// ctlMode is the registry one run of a ctl test works against.
type ctlMode struct {
	reg  *Registry
	auth *authRegistry // nil: auth off
}

// ctlModes runs fn twice in parallel: against a registry without auth and
// against one with token auth. Either way the tests use repositories under
// alice/, which alice may pull from and push to.
func ctlModes(t *testing.T, fn func(t *testing.T, m ctlMode)) {
	t.Helper()
	t.Run("auth off", func(t *testing.T) {
		t.Parallel()
		fn(t, ctlMode{reg: startTarget(t)})
	})
	t.Run("auth on", func(t *testing.T) {
		t.Parallel()
		a := startAuth(t)
		fn(t, ctlMode{reg: a.Registry, auth: a})
	})
}

// workstation is a fresh ctl, logged in as alice when auth is on.
func (m ctlMode) workstation(t testing.TB) *ctlEnv {
	t.Helper()
	c := newCtl(t)
	if m.auth != nil {
		c.login(t, m.auth, m.reg.Host, "alice")
	}
	return c
}

// put pushes an image or index with go-containerregistry (as alice when
// auth is on) and returns its digest.
func (m ctlMode) put(t testing.TB, repoTag string, content any) string {
	t.Helper()
	opts := ropts(t)
	if m.auth != nil {
		opts = m.auth.as(t, "alice")
	}
	// A transport of its own, closed after the push: connections left
	// idle in the default one would hold up the registry's shutdown.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	opts = append(opts, remote.WithTransport(tr))
	r := ref(t, m.reg.Ref(repoTag))
	var err error
	switch c := content.(type) {
	case v1.Image:
		err = remote.Write(r, c, opts...)
	case v1.ImageIndex:
		err = remote.WriteIndex(r, c, opts...)
	default:
		t.Fatalf("put: %T is not an image or index", content)
	}
	if err != nil {
		t.Fatalf("push %s: %v", repoTag, err)
	}
	return digestOf(t, content).String()
}

// crane runs the crane binary with this workstation's docker config.
func (c *ctlEnv) crane(t testing.TB, args ...string) string {
	t.Helper()
	out, err := runWith(c.env(), "", craneBin(t), append([]string{"--insecure"}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}

// skopeo runs the skopeo binary with this workstation's docker config as
// its auth file.
func (c *ctlEnv) skopeo(t testing.TB, args ...string) string {
	t.Helper()
	env := append(c.env(), "REGISTRY_AUTH_FILE="+filepath.Join(c.config, "config.json"))
	out, err := runWith(env, "", skopeoBin(t), args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// docker is the docker CLI with this workstation's docker config.
func (c *ctlEnv) docker() dockerClient { return dockerClient{cfg: c.config} }
