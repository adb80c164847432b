//go:build e2e

package e2e

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"
)

// tarEntry is one entry of a test layer: a directory when body is nil
// and the name ends in "/".
type tarEntry struct {
	name string
	body string
	mode int64
}

// layerOf is an uncompressed tar of entries as a layer.
func layerOf(t testing.TB, entries ...tarEntry) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: e.mode, Size: int64(len(e.body))}
		if strings.HasSuffix(e.name, "/") {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// whiteoutImage is three layers over the static probe: the first holds
// /bin/probe, /data/{a,b} and /etc/{keep,gone}; the second deletes
// /etc/gone (.wh.gone); the third makes /data opaque, holding only new.
func whiteoutImage(t testing.TB) v1.Image {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "probe")
	cmd := exec.Command("go", "build", "-o", bin, "./runtime/container/testdata/probe")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the probe: %v\n%s", err, out)
	}
	probe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	base := layerOf(t,
		tarEntry{name: "bin/", mode: 0o755}, tarEntry{name: "bin/probe", body: string(probe), mode: 0o755},
		tarEntry{name: "data/", mode: 0o755}, tarEntry{name: "data/a", body: "a", mode: 0o644},
		tarEntry{name: "data/b", body: "b", mode: 0o644},
		tarEntry{name: "etc/", mode: 0o755}, tarEntry{name: "etc/keep", body: "keep", mode: 0o644},
		tarEntry{name: "etc/gone", body: "gone", mode: 0o644})
	del := layerOf(t, tarEntry{name: "etc/", mode: 0o755}, tarEntry{name: "etc/.wh.gone", mode: 0o644})
	opaque := layerOf(t, tarEntry{name: "data/", mode: 0o755}, tarEntry{name: "data/.wh..wh..opq", mode: 0o644},
		tarEntry{name: "data/new", body: "new", mode: 0o644})
	img, err := mutate.AppendLayers(empty.Image, base, del, opaque)
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
	cf.Config.Env = []string{"PATH=/bin"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// probeFiles keeps the probe's ls: and cat: lines, dropping from the
// listings the files docker puts in /etc of every container (the
// hostname, hosts and resolv.conf mounts and its init layer's mtab).
func probeFiles(out string) []string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(line, "cat:"):
			keep = append(keep, line)
		case strings.HasPrefix(line, "ls:"):
			dir, names, _ := strings.Cut(line, "=")
			var kept []string
			for _, n := range strings.Split(names, ",") {
				if dir == "ls:/etc" && (n == "hostname" || n == "hosts" || n == "resolv.conf" || n == "mtab") {
					continue
				}
				kept = append(kept, n)
			}
			keep = append(keep, dir+"="+strings.Join(kept, ","))
		}
	}
	sort.Strings(keep)
	return keep
}

// requireRootE2E fails (CI) or skips a test that runs containers with ctl.
func requireRootE2E(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		missing(t, "ctl run needs root")
	}
}

// TestCtlRunWhiteoutsLikeDocker runs one image with whiteouts and an
// opaque directory under ctl and under docker, then commits a container's
// changes with ctl and runs the result under docker: both see the same
// files.
func TestCtlRunWhiteoutsLikeDocker(t *testing.T) {
	requireRootE2E(t)
	dockerHost(t)
	reg := startTarget(t)
	c := newCtl(t)
	name := reg.Ref("ctl/whiteouts:v1")
	committed := reg.Ref("ctl/whiteouts:committed")
	push(t, name, whiteoutImage(t))
	t.Cleanup(func() {
		c.try(t, "", "rm", "-f", "box")
		tryDocker(t, "image", "rm", "-f", name, committed)
	})

	c.run(t, "pull", "-q", name)
	docker(t, "pull", "-q", name)
	env := "PROBE_LS=/data,/etc"
	ctlOut := probeFiles(c.run(t, "run", "--rm", "-e", env, name))
	dockerOut := probeFiles(docker(t, "run", "--rm", "-e", env, name))
	want := []string{"ls:/data=new", "ls:/etc=keep"}
	if strings.Join(ctlOut, "\n") != strings.Join(want, "\n") {
		t.Errorf("ctl run sees %q, want %q", ctlOut, want)
	}
	if strings.Join(dockerOut, "\n") != strings.Join(ctlOut, "\n") {
		t.Errorf("docker run sees %q, ctl run %q", dockerOut, ctlOut)
	}

	c.run(t, "run", "--name", "box", name)
	ents, err := os.ReadDir(filepath.Join(c.root, "containers"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("container dirs: %v, %v", ents, err)
	}
	upper := filepath.Join(c.root, "containers", ents[0].Name(), "upper")
	for _, d := range []string{"data", "etc"} {
		if err := os.MkdirAll(filepath.Join(upper, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(upper, "data", "added"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(filepath.Join(upper, "etc", "keep"), unix.S_IFCHR, 0); err != nil {
		t.Fatal(err)
	}
	c.run(t, "commit", "box", committed)
	c.run(t, "push", "-q", committed)
	c.run(t, "rm", "box")

	env = "PROBE_CAT=/data/added,/data/new,/etc/keep,/etc/gone,/data/a"
	docker(t, "pull", "-q", committed)
	dockerOut = probeFiles(docker(t, "run", "--rm", "-e", env, committed))
	ctlOut = probeFiles(c.run(t, "run", "--rm", "-e", env, committed))
	want = []string{"cat:/data/a=<missing>", "cat:/data/added=hello", "cat:/data/new=new", "cat:/etc/gone=<missing>", "cat:/etc/keep=<missing>"}
	if strings.Join(dockerOut, "\n") != strings.Join(want, "\n") {
		t.Errorf("docker run of the commit sees %q, want %q", dockerOut, want)
	}
	if strings.Join(ctlOut, "\n") != strings.Join(dockerOut, "\n") {
		t.Errorf("ctl run of the commit sees %q, docker %q", ctlOut, dockerOut)
	}
	mounts, _ := os.ReadFile("/proc/self/mounts")
	if strings.Contains(string(mounts), c.root) {
		t.Errorf("mounts left behind:\n%s", mounts)
	}
}
