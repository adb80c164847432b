package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestMain lets the test binary be a container's init stage, as main
// does for ctl.
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
		t.Fatal("ctl run needs root (namespaces, mounts); CI runs tests as root")
	}
	t.Skip("ctl run needs root")
}

// probeImage is an image whose entrypoint is runtime/container's probe
// (prints cwd, IDs, hostname, interfaces and env, exits with its
// argument), with a user and group "app" (1000).
func probeImage(t *testing.T) v1.Image {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "probe")
	cmd := exec.Command("go", "build", "-o", bin, "../../runtime/container/testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	probe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		body []byte
		mode int64
	}{
		{"bin/probe", probe, 0o755},
		{"etc/passwd", []byte("root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"), 0o644},
		{"etc/group", []byte("root:x:0:\napp:x:1000:\n"), 0o644},
	} {
		dir := filepath.Dir(f.name) + "/"
		_ = tw.WriteHeader(&tar.Header{Name: dir, Typeflag: tar.TypeDir, Mode: 0o755})
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: f.mode, Size: int64(len(f.body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(buf.Bytes())), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config.Entrypoint = []string{"/bin/probe"}
	cf.Config.Cmd = []string{"0"}
	cf.Config.Env = []string{"PATH=/bin", "FROM_IMAGE=1"}
	cf.Config.WorkingDir = "/srv"
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestRunCommand(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	reg.push(t, "team/probe:v1", probeImage(t))
	e := newTestEnv(t)
	ref := reg.ref("team/probe:v1")

	// Not pulled yet.
	e.fails("ctl pull", "run", "--rm", ref)
	e.ok("", "pull", "-q", ref)

	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "f"), []byte("shared"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.fails("must be absolute", "run", "--rm", "-v", "rel:/x", ref)
	e.fails("mode", "run", "--rm", "-v", vol+":/x:bad", ref)
	e.fails("invalid volume", "run", "--rm", "-v", filepath.Join(vol, "missing")+":/x", ref)
	e.fails("minimum memory limit allowed is 6MB", "run", "--rm", "--memory", "5m", ref)
	e.fails("invalid --memory", "run", "--rm", "--memory", "lots", ref)
	e.fails("the input device is not a TTY", "run", "--rm", "-i", "-t", ref)

	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"volume", []string{"--rm", "-v", vol + ":/data", "-v", vol + ":/new/ro:ro", "-e", "PROBE_CAT=/data/f,/new/ro/f", ref}, 0, []string{"cat:/data/f=shared\n", "cat:/new/ro/f=shared\n"}},
		{"defaults", []string{"--rm", ref}, 0, []string{"cwd=/srv\n", "uid=0\n", "env:FROM_IMAGE=1\n", "env:HOME=/root\n"}},
		{"exit 3", []string{"--rm", ref, "3"}, 3, nil},
		{"exit 42", []string{"--rm", ref, "42"}, 42, nil},
		{"env", []string{"--rm", "-e", "FROM_IMAGE=2", "-e", "EXTRA=1", ref}, 0, []string{"env:FROM_IMAGE=2\n", "env:EXTRA=1\n"}},
		{"workdir", []string{"--rm", "-w", "/work", ref}, 0, []string{"cwd=/work\n"}},
		{"user name", []string{"--rm", "-u", "app", ref}, 0, []string{"uid=1000\n", "gid=1000\n"}},
		{"user ids", []string{"--rm", "-u", "1234:5678", ref}, 0, []string{"uid=1234\n", "gid=5678\n"}},
		{"hostname", []string{"--rm", "--hostname", "box", ref}, 0, []string{"hostname=box\n"}},
		{"network none", []string{"--rm", "--network", "none", ref}, 0, []string{"net=lo\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run("", append([]string{"run"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
	// -i attaches stdin; without it the container reads /dev/null.
	if r := e.run("typed", "run", "--rm", "-i", "-e", "PROBE_CAT=/dev/stdin", ref); r.code != 0 || !strings.Contains(r.stdout, "cat:/dev/stdin=typed\n") {
		t.Errorf("run -i: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := e.run("typed", "run", "--rm", "-e", "PROBE_CAT=/dev/stdin", ref); r.code != 0 || !strings.Contains(r.stdout, "cat:/dev/stdin=\n") {
		t.Errorf("run without -i: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	containers := filepath.Join(e.root, "containers")
	if left, _ := os.ReadDir(containers); len(left) != 0 {
		t.Fatalf("--rm left %d container dirs", len(left))
	}

	// Without --rm the container stays, for ps -a and rm.
	if r := e.run("", "run", "--name", "kept", ref, "5"); r.code != 5 {
		t.Fatalf("run --name kept: exit %d, stderr %s", r.code, r.stderr)
	}
	if out := e.ok("", "ps"); strings.Contains(out, "kept") {
		t.Errorf("ps lists an exited container:\n%s", out)
	}
	if out := e.ok("", "ps", "-a"); !strings.Contains(out, "kept") || !strings.Contains(out, "Exited (5)") {
		t.Errorf("ps -a:\n%s", out)
	}
	e.fails("already in use", "run", "--name", "kept", ref)
	if out := e.ok("", "rm", "kept"); out != "kept\n" {
		t.Errorf("rm printed %q", out)
	}
	if r := e.run("", "rm", "kept"); r.code != 1 {
		t.Errorf("second rm: exit %d", r.code)
	}
	if left, _ := os.ReadDir(containers); len(left) != 0 {
		t.Fatalf("rm left %d container dirs", len(left))
	}
	// -d: ctl prints the ID and returns; the container runs on.
	id := strings.TrimSpace(e.ok("", "run", "-d", "--name", "bg", ref, "3"))
	if len(id) != 64 {
		t.Fatalf("run -d printed %q, want a container ID", id)
	}
	waitPs(t, e, "bg", "Exited (3)")
	if out := e.ok("", "logs", "bg"); !strings.Contains(out, "cwd=/srv\n") || !strings.Contains(out, "env:FROM_IMAGE=1\n") {
		t.Errorf("logs:\n%s", out)
	}
	if out := e.ok("", "logs", id[:12]); !strings.Contains(out, "cwd=/srv\n") {
		t.Errorf("logs by ID prefix:\n%s", out)
	}
	e.ok("", "rm", "bg")
	e.fails("no such container", "logs", "bg")

	// A long-running one is Up until rm -f kills it.
	t.Cleanup(func() { e.run("", "rm", "-f", "sleeper") })
	e.ok("", "run", "-d", "--name", "sleeper", ref, "sleep")
	waitPs(t, e, "sleeper", "Up ")
	if out := e.ok("", "ps"); !strings.Contains(out, "sleeper") {
		t.Errorf("ps lacks the running container:\n%s", out)
	}
	e.fails("is running", "rm", "sleeper")
	e.ok("", "rm", "-f", "sleeper")
	if left, _ := os.ReadDir(containers); len(left) != 0 {
		t.Fatalf("rm left %d container dirs", len(left))
	}

	mounts, _ := os.ReadFile("/proc/self/mounts")
	if strings.Contains(string(mounts), e.root) {
		t.Errorf("mounts left under %s:\n%s", e.root, mounts)
	}
}

// waitPs polls ctl ps -a until the container name's line shows status.
func waitPs(t *testing.T, e *testEnv, name, status string) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out = e.ok("", "ps", "-a")
		for _, line := range strings.Split(out, "\n") {
			if strings.HasSuffix(strings.TrimSpace(line), name) && strings.Contains(line, status) {
				return
			}
		}
	}
	t.Fatalf("%s never showed %q in ps -a:\n%s", name, status, out)
}
