//go:build e2e

package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dockerd is the docker daemon the suite talks to: $E2E_DOCKER_HOST, or a
// private one from scripts/dockerd.sh in a directory of this run's own
// (so concurrent runs from one work tree never stop each other's daemon),
// started on first use and stopped and removed by TestMain.
var dockerd struct {
	once    sync.Once
	host    string
	dir     string // BERTH_DOCKERD_DIR of the daemon this run started
	started bool
	skip    string // why docker is unavailable; "" when it is
	err     error
}

const dockerdScript = "scripts/dockerd.sh"

// docker runs the docker CLI against the suite's daemon.
func docker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := tryDocker(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tryDocker(t testing.TB, args ...string) (string, error) {
	t.Helper()
	host := dockerHost(t)
	cmd := exec.Command("docker", args...)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %v\nstdout:\n%s\nstderr:\n%s",
			strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// dockerHost returns DOCKER_HOST for the suite's daemon, starting it once.
func dockerHost(t testing.TB) string {
	t.Helper()
	dockerd.once.Do(startDockerd)
	if dockerd.skip != "" {
		missing(t, "%s", dockerd.skip)
	}
	if dockerd.err != nil {
		t.Fatal(dockerd.err)
	}
	return dockerd.host
}

func startDockerd() {
	if _, err := exec.LookPath("docker"); err != nil {
		dockerd.skip = "docker CLI not on PATH; " + installHint
		return
	}
	if h := os.Getenv("E2E_DOCKER_HOST"); h != "" {
		dockerd.host = h
		return
	}
	if _, err := exec.LookPath("dockerd"); err != nil {
		dockerd.skip = "dockerd not on PATH; " + installHint
		return
	}
	if os.Geteuid() != 0 {
		dockerd.skip = "the docker tests start a private dockerd, which needs root (or set E2E_DOCKER_HOST)"
		return
	}
	dir, err := os.MkdirTemp("", "berth-dockerd-")
	if err != nil {
		dockerd.err = err
		return
	}
	out, err := dockerdCommand(dir, "start").Output()
	if err != nil {
		os.RemoveAll(dir)
		dockerd.err = fmt.Errorf("%s start: %v\n%s", dockerdScript, err, exitStderr(err))
		return
	}
	dockerd.host, dockerd.dir, dockerd.started = strings.TrimSpace(string(out)), dir, true
}

// dockerdCommand runs scripts/dockerd.sh on the daemon directory dir.
func dockerdCommand(dir, verb string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(repoRoot, dockerdScript), verb)
	cmd.Env = append(os.Environ(), "BERTH_DOCKERD_DIR="+dir)
	return cmd
}

// exitStderr is what a failed command printed on stderr, when captured.
func exitStderr(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(ee.Stderr)
	}
	return ""
}

// stopDockerd stops the daemon if this run started it.
func stopDockerd() {
	if !dockerd.started {
		return
	}
	if out, err := dockerdCommand(dockerd.dir, "stop").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "%s stop: %v\n%s", dockerdScript, err, out)
		return // leave the directory for a look at dockerd.log
	}
	if err := os.RemoveAll(dockerd.dir); err != nil {
		fmt.Fprintf(os.Stderr, "removing %s: %v\n", dockerd.dir, err)
	}
}

var pushDigest = regexp.MustCompile(`digest: (sha256:[0-9a-f]{64})`)

// dockerPush pushes name and returns the manifest digest docker reports.
func dockerPush(t testing.TB, name string) (v1.Hash, string) {
	t.Helper()
	out := docker(t, "push", name)
	m := pushDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker push %s printed no digest:\n%s", name, out)
	}
	h, err := v1.NewHash(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return h, out
}

// imageID is docker's ID (the config digest) of a local image.
func imageID(t testing.TB, name string) string {
	t.Helper()
	return strings.TrimSpace(docker(t, "image", "inspect", "--format", "{{.Id}}", name))
}

// TestDocker pushes and pulls with a real docker daemon. No Docker Hub:
// images are made locally (a go-containerregistry image through docker
// load, and a docker import of a tar).
func TestDocker(t *testing.T) {
	t.Parallel()
	dockerHost(t)
	reg := startTarget(t)
	var made []string
	t.Cleanup(func() {
		if len(made) > 0 {
			tryDocker(t, append([]string{"image", "rm", "-f"}, made...)...)
		}
	})
	local := func(name string) string { made = append(made, name); return name }

	img := dockerImage(t, 48<<10, 2)
	cfgDigest, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	name := local(reg.Ref("docker/loaded:v1"))
	var pushed v1.Hash

	t.Run("load tag push", func(t *testing.T) {
		tarPath := filepath.Join(t.TempDir(), "image.tar")
		if err := tarball.WriteToFile(tarPath, tagRef(t, "berth-e2e/loaded:v1"), img); err != nil {
			t.Fatal(err)
		}
		local("berth-e2e/loaded:v1")
		docker(t, "load", "-i", tarPath)
		if id := imageID(t, "berth-e2e/loaded:v1"); id != cfgDigest.String() {
			t.Fatalf("loaded image ID %s, want config digest %s", id, cfgDigest)
		}
		docker(t, "tag", "berth-e2e/loaded:v1", name)
		pushed, _ = dockerPush(t, name)
		got := expectServed(t, name, pushed)
		// docker recompresses layers, so compare what survives that: the
		// config (image ID) and the uncompressed layer digests.
		served, err := ggcrImage(t, name)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := served.ConfigName(); c != cfgDigest {
			t.Errorf("served config %s, want %s (media type %s)", c, cfgDigest, got.MediaType)
		}
		sameDiffIDs(t, served, img)
	})

	needPush := func(t *testing.T) {
		if pushed == (v1.Hash{}) {
			t.Skip("needs the image pushed by \"load tag push\"")
		}
	}

	t.Run("rmi and pull back", func(t *testing.T) {
		needPush(t)
		docker(t, "image", "rm", name, "berth-e2e/loaded:v1")
		out := docker(t, "pull", name)
		if !strings.Contains(out, "Digest: "+pushed.String()) {
			t.Errorf("docker pull reports another digest than pushed %s:\n%s", pushed, out)
		}
		if id := imageID(t, name); id != cfgDigest.String() {
			t.Errorf("pulled image ID %s, want %s", id, cfgDigest)
		}
		repoDigests := docker(t, "image", "inspect", "--format", "{{json .RepoDigests}}", name)
		if !strings.Contains(repoDigests, reg.Ref("docker/loaded@"+pushed.String())) {
			t.Errorf("RepoDigests %s lack %s", repoDigests, pushed)
		}
		byDigest := local(reg.Ref("docker/loaded@" + pushed.String()))
		docker(t, "image", "rm", name)
		docker(t, "pull", byDigest)
		if id := imageID(t, byDigest); id != cfgDigest.String() {
			t.Errorf("pulled by digest: image ID %s, want %s", id, cfgDigest)
		}
	})

	t.Run("push again and to another repository", func(t *testing.T) {
		needPush(t)
		docker(t, "tag", reg.Ref("docker/loaded@"+pushed.String()), name)
		d, out := dockerPush(t, name)
		if d != pushed || strings.Count(out, "Layer already exists") < 2 {
			t.Errorf("second push: digest %s (want %s); expected every layer to exist already:\n%s", d, pushed, out)
		}
		other := local(reg.Ref("docker/other:v1"))
		docker(t, "tag", name, other)
		d, out = dockerPush(t, other)
		if d != pushed {
			t.Errorf("push to another repository: digest %s, want %s", d, pushed)
		}
		if strings.Count(out, "Mounted from docker/loaded") < 2 {
			t.Errorf("push to another repository uploaded layers again instead of mounting them:\n%s", out)
		}
		expectServed(t, other, pushed)
	})

	t.Run("import push pull", func(t *testing.T) {
		tarPath := filepath.Join(t.TempDir(), "rootfs.tar")
		writeTar(t, tarPath, map[string]string{"hello.txt": "imported by docker\n"})
		imported := local(reg.Ref("docker/imported:v1"))
		docker(t, "import", tarPath, imported)
		id := imageID(t, imported)
		d, _ := dockerPush(t, imported)
		docker(t, "image", "rm", imported)
		docker(t, "pull", imported)
		if got := imageID(t, imported); got != id {
			t.Errorf("image ID after the round trip %s, want %s", got, id)
		}
		expectServed(t, imported, d)
	})

	t.Run("pull OCI image and index pushed by ggcr", func(t *testing.T) {
		oci := ociImage(t, 16<<10, 2)
		ociName := local(reg.Ref("docker/oci:v1"))
		push(t, ociName, oci)
		docker(t, "pull", ociName)
		if want, _ := oci.ConfigName(); imageID(t, ociName) != want.String() {
			t.Errorf("pulled OCI image ID %s, want %s", imageID(t, ociName), want)
		}
		idx := multiArch(t, "linux/"+runtime.GOARCH, "linux/ppc64le")
		idxName := local(reg.Ref("docker/multi:v1"))
		push(t, idxName, idx)
		docker(t, "pull", idxName)
		im, _ := idx.IndexManifest()
		native, err := idx.Image(im.Manifests[0].Digest)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := native.ConfigName(); imageID(t, idxName) != want.String() {
			t.Errorf("docker pulled %s from the index, want the linux/%s image %s", imageID(t, idxName), runtime.GOARCH, want)
		}
	})
}

// sameDiffIDs fails unless got and want have the same uncompressed layers.
func sameDiffIDs(t testing.TB, got, want v1.Image) {
	t.Helper()
	g, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	w, err := want.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g.RootFS.DiffIDs) != fmt.Sprint(w.RootFS.DiffIDs) {
		t.Errorf("diff IDs %v, want %v", g.RootFS.DiffIDs, w.RootFS.DiffIDs)
	}
}
