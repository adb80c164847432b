package container_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
)

// TestMain lets the test binary act as the container init stage, as
// ctl's main does.
func TestMain(m *testing.M) {
	if code, ok := container.Reexec(os.Args); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// requireRoot skips unprivileged runs, and fails them in CI.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("running containers needs root (namespaces, mounts); CI runs tests as root")
	}
	t.Skip("running containers needs root")
}

var (
	probeOnce sync.Once
	probeBin  string
	probeErr  error
)

// buildProbe compiles testdata/probe statically, once per test binary.
func buildProbe(t *testing.T) string {
	t.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "probe")
		if err != nil {
			probeErr = err
			return
		}
		probeBin = filepath.Join(dir, "probe")
		cmd := exec.Command("go", "build", "-o", probeBin, "./testdata/probe")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			probeErr = err
			t.Logf("%s", out)
		}
	})
	if probeErr != nil {
		t.Fatalf("building the probe: %v", probeErr)
	}
	return probeBin
}

// newRuntime returns a runtime with a one-layer image holding the probe
// at /bin/probe and a user and group "app" (1000).
func newRuntime(t *testing.T) (*container.Runtime, []digest.Digest, string) {
	t.Helper()
	probe := buildProbe(t)
	root := t.TempDir()
	snaps, err := snapshot.New(filepath.Join(root, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	chain := digest.FromString("probe layer")
	p, err := snaps.Prepare(ctx, chain, "")
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := os.ReadFile(probe)
	files := map[string]string{
		"bin/probe":  string(bin),
		"etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
		"etc/group":  "root:x:0:\napp:x:1000:\n",
	}
	for name, body := range files {
		path := filepath.Join(p.Dir(), name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "containers")
	rt, err := container.New(dir, snaps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checkNoMounts(t, dir) })
	return rt, []digest.Digest{chain}, dir
}

// checkNoMounts fails when anything under dir is still mounted.
func checkNoMounts(t *testing.T, dir string) {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), dir) {
		t.Errorf("mounts left under %s:\n%s", dir, b)
	}
}

func TestRun(t *testing.T) {
	requireRoot(t)
	rt, chain, dir := newRuntime(t)
	base := container.Spec{
		Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe"},
		Env: []string{"PATH=/bin", "FROM_IMAGE=1"}, WorkingDir: "/srv",
	}
	tests := []struct {
		name     string
		edit     func(*container.Spec)
		code     int
		want     []string
		wantNot  []string
		leftover bool
	}{
		{name: "exit 0", edit: func(s *container.Spec) { s.Cmd = []string{"0"} }, code: 0,
			want: []string{"cwd=/srv\n", "uid=0\n", "gid=0\n", "env:FROM_IMAGE=1\n", "env:HOME=/root\n", "pid=1\n"}, leftover: true},
		{name: "exit 3", edit: func(s *container.Spec) { s.Cmd = []string{"3"} }, code: 3},
		{name: "exit 42", edit: func(s *container.Spec) { s.Cmd = []string{"42"} }, code: 42},
		{name: "env", edit: func(s *container.Spec) { s.Env = append(s.Env, "FROM_IMAGE=2", "EXTRA=x y") }, want: []string{"env:FROM_IMAGE=2\n", "env:EXTRA=x y\n"}, wantNot: []string{"FROM_IMAGE=1"}},
		{name: "workdir", edit: func(s *container.Spec) { s.WorkingDir = "/tmp/new" }, want: []string{"cwd=/tmp/new\n"}},
		{name: "user by name", edit: func(s *container.Spec) { s.User = "app" }, want: []string{"uid=1000\n", "gid=1000\n", "env:HOME=/home/app\n"}},
		{name: "user and group IDs", edit: func(s *container.Spec) { s.User = "1234:5678" }, want: []string{"uid=1234\n", "gid=5678\n"}},
		{name: "user and group names", edit: func(s *container.Spec) { s.User = "root:app" }, want: []string{"uid=0\n", "gid=1000\n"}},
		{name: "hostname", edit: func(s *container.Spec) { s.Hostname = "box" }, want: []string{"hostname=box\n", "env:HOSTNAME=box\n"}},
		{name: "network none", edit: func(s *container.Spec) { s.Network = container.NetworkNone }, want: []string{"net=lo\n"}},
		{name: "rm", edit: func(s *container.Spec) { s.Remove = true; s.Cmd = []string{"7"} }, code: 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := base
			spec.Env = append([]string{}, base.Env...)
			tc.edit(&spec)
			var out, errOut bytes.Buffer
			before, _ := os.ReadDir(dir)
			code, err := rt.Run(context.Background(), spec, container.Stdio{Out: &out, Err: &errOut})
			if err != nil {
				t.Fatalf("Run: %v (stderr %q)", err, errOut.String())
			}
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stdout %q stderr %q", code, tc.code, out.String(), errOut.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(out.String(), w) {
					t.Errorf("output has %q:\n%s", w, out.String())
				}
			}
			after, _ := os.ReadDir(dir)
			if spec.Remove && len(after) != len(before) {
				t.Errorf("--rm left a container directory: %d before, %d after", len(before), len(after))
			}
			if !spec.Remove && len(after) != len(before)+1 {
				t.Errorf("%d containers before, %d after", len(before), len(after))
			}
			checkNoMounts(t, dir)
		})
	}
	t.Run("list and remove", func(t *testing.T) {
		all, err := rt.List()
		if err != nil || len(all) == 0 {
			t.Fatalf("List: %v, %d records", err, len(all))
		}
		for _, rec := range all {
			if rec.Status != "exited" {
				t.Errorf("container %s is %q after Run", rec.ID, rec.Status)
			}
			if _, err := rt.Remove(rec.ID[:16], false); err != nil {
				t.Fatal(err)
			}
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("%d container dirs left after Remove", len(left))
		}
	})
}

func TestRunBinds(t *testing.T) {
	requireRoot(t)
	rt, chain, dir := newRuntime(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "hello"), []byte("from host"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "single")
	if err := os.WriteFile(file, []byte("one file"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := container.Spec{
		Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe"}, Remove: true,
		Env: []string{"PROBE_CAT=/data/hello,/ro/deep/hello,/etc/single,/proc/self/mountinfo", "PROBE_LS=/data"},
		Binds: []container.Bind{
			{Source: host, Destination: "/data"},
			{Source: host, Destination: "/ro/deep", ReadOnly: true},
			{Source: file, Destination: "/etc/single", ReadOnly: true},
		},
	}
	var out, errOut bytes.Buffer
	code, err := rt.Run(context.Background(), spec, container.Stdio{Out: &out, Err: &errOut})
	if err != nil || code != 0 {
		t.Fatalf("Run: code %d, err %v, stderr %q", code, err, errOut.String())
	}
	for _, w := range []string{"cat:/data/hello=from host\n", "cat:/ro/deep/hello=from host\n", "cat:/etc/single=one file\n", "ls:/data=hello\n"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	// Mount options as the container sees them (mountinfo field 6).
	opts := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(line); len(f) > 6 {
			opts[f[4]] = f[5]
		}
	}
	for mp, want := range map[string]string{"/data": "rw", "/ro/deep": "ro", "/etc/single": "ro"} {
		if o := opts[mp]; o != want && !strings.HasPrefix(o, want+",") {
			t.Errorf("%s mounted with %q, want %s", mp, o, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(host, "hello")); string(b) != "from host" {
		t.Errorf("host file changed: %q", b)
	}
	checkNoMounts(t, dir)
	checkNoMounts(t, host)
}

// TestRunBindSymlinkEscape: a destination through a symlink in the
// image that points out of the rootfs stays inside the rootfs.
func TestRunBindSymlinkEscape(t *testing.T) {
	requireRoot(t)
	rt, chain, dir := newRuntime(t)
	outside := t.TempDir()
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "hello"), []byte("bound"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The first bind brings in /data/escape -> <outside> (absolute);
	// the second bind's destination goes through it.
	if err := os.Symlink(outside, filepath.Join(host, "escape")); err != nil {
		t.Fatal(err)
	}
	spec := container.Spec{
		Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe"}, Remove: true,
		Env: []string{"PROBE_LS=/data/escape/sub"},
		Binds: []container.Bind{
			{Source: host, Destination: "/data"},
			{Source: host, Destination: "/data/escape/sub"},
		},
	}
	var out, errOut bytes.Buffer
	code, err := rt.Run(context.Background(), spec, container.Stdio{Out: &out, Err: &errOut})
	if err != nil || code != 0 {
		t.Fatalf("Run: code %d, err %v, stderr %q", code, err, errOut.String())
	}
	if !strings.Contains(out.String(), "ls:/data/escape/sub=escape,hello\n") {
		t.Errorf("output lacks the bound dir through the symlink:\n%s", out.String())
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("a bind destination escaped the rootfs: %s holds %d entries", outside, len(ents))
	}
	checkNoMounts(t, dir)
	checkNoMounts(t, outside)
}

func TestRunDetached(t *testing.T) {
	requireRoot(t)
	rt, chain, dir := newRuntime(t)
	spec := container.Spec{Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe"}, Cmd: []string{"3"}, Env: []string{"DETACHED=1"}}
	id, err := rt.RunDetached(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = rt.Remove(id, true) })
	var rec container.Record
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rec, err = rt.Lookup(id); err != nil {
			t.Fatal(err)
		}
		if rec.Status == "exited" {
			break
		}
	}
	if rec.Status != "exited" || rec.ExitCode != 3 || rec.FinishedAt.IsZero() {
		t.Fatalf("record after the container ended: %+v", rec)
	}
	log, err := os.ReadFile(filepath.Join(rt.Dir(id), container.LogFile))
	if err != nil || !strings.Contains(string(log), "env:DETACHED=1\n") || !strings.Contains(string(log), "pid=1\n") {
		t.Errorf("log: %v\n%s", err, log)
	}
	if _, err := rt.Remove(id, false); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d container dirs left", len(left))
	}
}

func TestParseBind(t *testing.T) {
	good := map[string]container.Bind{
		"/a:/b":     {Source: "/a", Destination: "/b"},
		"/a/:/b/c/": {Source: "/a", Destination: "/b/c"},
		"/a:/b:ro":  {Source: "/a", Destination: "/b", ReadOnly: true},
		"/a:/b:rw":  {Source: "/a", Destination: "/b"},
	}
	for in, want := range good {
		if got, err := container.ParseBind(in); err != nil || got != want {
			t.Errorf("ParseBind(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"/a", "vol:/b", "/a:b", "/a:/b:rx", "/a:/", "/a:/b:ro:x", ""} {
		if _, err := container.ParseBind(in); err == nil {
			t.Errorf("ParseBind(%q) succeeded", in)
		}
	}
}

func TestRunKilled(t *testing.T) {
	requireRoot(t)
	rt, chain, _ := newRuntime(t)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	spec := container.Spec{Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe", "sleep"}, Remove: true}
	code, err := rt.Run(ctx, spec, container.Stdio{})
	if err != nil {
		t.Fatal(err)
	}
	if code != 128+9 {
		t.Fatalf("exit code %d, want 137", code)
	}
}

func TestRunErrors(t *testing.T) {
	requireRoot(t)
	rt, chain, dir := newRuntime(t)
	var errOut bytes.Buffer
	code, err := rt.Run(context.Background(), container.Spec{Image: "probe", ChainIDs: chain, Entrypoint: []string{"nope"}, Remove: true}, container.Stdio{Err: &errOut})
	if err != nil || code != 127 || !strings.Contains(errOut.String(), "not found") {
		t.Errorf("missing command: code %d, err %v, stderr %q", code, err, errOut.String())
	}
	code, err = rt.Run(context.Background(), container.Spec{Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe"}, User: "ghost", Remove: true}, container.Stdio{Err: &errOut})
	if err != nil || code != 127 || !strings.Contains(errOut.String(), "unable to find user ghost") {
		t.Errorf("unknown user: code %d, err %v, stderr %q", code, err, errOut.String())
	}
	if _, err := rt.Run(context.Background(), container.Spec{Image: "probe", ChainIDs: []digest.Digest{digest.FromString("missing")}, Entrypoint: []string{"/bin/probe"}}, container.Stdio{}); err == nil {
		t.Error("Run of an image that is not unpacked succeeded")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d container dirs left", len(left))
	}
}
