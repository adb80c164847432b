//go:build e2e

package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// crane runs the crane binary against plain-HTTP registries.
func crane(t testing.TB, args ...string) string {
	t.Helper()
	return strings.TrimSpace(run(t, craneBin(t), append([]string{"--insecure"}, args...)...))
}

// TestCrane drives the registry with the crane binary.
func TestCrane(t *testing.T) {
	t.Parallel()
	craneBin(t)
	reg := startTarget(t)
	dir := t.TempDir()

	t.Run("push tarball and pull", func(t *testing.T) {
		img := dockerImage(t, 8<<10, 2)
		tarPath := filepath.Join(dir, "push.tar")
		if err := tarball.WriteToFile(tarPath, ref(t, "example.com/push:v1"), img); err != nil {
			t.Fatal(err)
		}
		crane(t, "push", tarPath, reg.Ref("crane/push:v1"))
		want := digestOf(t, img)
		if got := crane(t, "digest", reg.Ref("crane/push:v1")); got != want.String() {
			t.Fatalf("crane digest: %s, pushed %s", got, want)
		}
		sameLayers(t, reg.Ref("crane/push:v1"), img)

		out := filepath.Join(dir, "pulled")
		crane(t, "pull", "--format=oci", reg.Ref("crane/push:v1"), out)
		idx, err := layout.ImageIndexFromPath(out)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 || im.Manifests[0].Digest != want {
			t.Fatalf("pulled layout holds %+v, want %s", im.Manifests, want)
		}
	})

	t.Run("append layer", func(t *testing.T) {
		layerTar := filepath.Join(dir, "layer.tar")
		writeTar(t, layerTar, map[string]string{"etc/berth": "hello from crane append\n"})
		digest := crane(t, "append", "-f", layerTar, "-t", reg.Ref("crane/append:v1"))
		if !strings.HasPrefix(digest, reg.Host+"/crane/append@sha256:") {
			t.Fatalf("crane append printed %q", digest)
		}
		exported := filepath.Join(dir, "export.tar")
		crane(t, "export", reg.Ref("crane/append:v1"), exported)
		if got := readTarFile(t, exported, "etc/berth"); got != "hello from crane append\n" {
			t.Fatalf("exported etc/berth = %q", got)
		}
	})

	t.Run("copy mounts blobs across repositories", func(t *testing.T) {
		img := ociImage(t, 16<<10, 3)
		want := push(t, reg.Ref("crane/src:v1"), img)
		proxy := newRecordingProxy(t, reg)
		crane(t, "copy", proxy.Ref("crane/src:v1"), proxy.Ref("crane/dst:v1"))
		if got := crane(t, "digest", reg.Ref("crane/dst:v1")); got != want.String() {
			t.Fatalf("copied digest %s, want %s", got, want)
		}
		sameLayers(t, reg.Ref("crane/dst:v1"), img)
		// Every blob (3 layers + config) must arrive by mount, not upload.
		var mounts int
		for _, e := range proxy.requests("POST", "/v2/crane/dst/blobs/uploads/") {
			if e.Query.Get("mount") != "" {
				if e.Status != http.StatusCreated || e.Query.Get("from") != "crane/src" {
					t.Errorf("mount %v answered %d, want 201", e.Query, e.Status)
				}
				mounts++
			}
		}
		if mounts != 4 {
			t.Errorf("%d blobs mounted, want 4", mounts)
		}
		if n := len(proxy.requests("PATCH", "/v2/crane/dst/")) + len(proxy.requests("PUT", "/blobs/uploads/")); n != 0 {
			t.Errorf("%d blob upload requests during a copy within one registry; want mounts only", n)
		}
	})

	t.Run("copy index keeps digest", func(t *testing.T) {
		idx := multiArch(t, "linux/amd64", "linux/arm64/v8", "linux/arm/v7")
		want := push(t, reg.Ref("crane/multi:v1"), idx)
		crane(t, "copy", reg.Ref("crane/multi:v1"), reg.Ref("crane/multi-copy:v1"))
		if got := crane(t, "digest", reg.Ref("crane/multi-copy:v1")); got != want.String() {
			t.Fatalf("copied index digest %s, want %s", got, want)
		}
		expectServed(t, reg.Ref("crane/multi-copy:v1"), want)
		arm := crane(t, "digest", "--platform", "linux/arm/v7", reg.Ref("crane/multi-copy:v1"))
		im, _ := idx.IndexManifest()
		if arm != im.Manifests[2].Digest.String() {
			t.Errorf("linux/arm/v7 resolves to %s, want %s", arm, im.Manifests[2].Digest)
		}
	})

	t.Run("tag ls and delete", func(t *testing.T) {
		img := dockerImage(t, 1024, 1)
		d := push(t, reg.Ref("crane/ls:a"), img)
		crane(t, "tag", reg.Ref("crane/ls:a"), "b")
		crane(t, "copy", reg.Ref("crane/ls:a"), reg.Ref("crane/ls:c"))
		if got := lines(crane(t, "ls", reg.Ref("crane/ls"))); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("crane ls: %v", got)
		}
		crane(t, "delete", reg.Ref("crane/ls@"+d.String()))
		if _, err := tryRun(craneBin(t), "--insecure", "manifest", reg.Ref("crane/ls@"+d.String())); err == nil ||
			!strings.Contains(err.Error(), "MANIFEST_UNKNOWN") {
			t.Fatalf("crane manifest after delete: want MANIFEST_UNKNOWN, got %v", err)
		}
		if got := lines(crane(t, "ls", reg.Ref("crane/ls"))); len(got) != 0 {
			t.Errorf("tags left after deleting their manifest: %v", got)
		}
	})

	t.Run("catalog", func(t *testing.T) {
		got := lines(crane(t, "catalog", reg.Host))
		for _, want := range []string{"crane/push", "crane/append", "crane/src", "crane/dst", "crane/multi", "crane/multi-copy"} {
			if !slices.Contains(got, want) {
				t.Errorf("crane catalog lacks %s: %v", want, got)
			}
		}
		if !slices.IsSorted(got) {
			t.Errorf("catalog is not in lexical order: %v", got)
		}
	})

	t.Run("validate", func(t *testing.T) {
		crane(t, "validate", "--remote", reg.Ref("crane/push:v1"))
		crane(t, "validate", "--remote", reg.Ref("crane/multi-copy:v1"))
	})
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// writeTar writes a tar of regular files (name -> content) to path.
func writeTar(t testing.TB, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tarFiles(f, files); err != nil {
		t.Fatal(err)
	}
}
