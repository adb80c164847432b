//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// skopeo runs the skopeo binary; callers pass the TLS flags, which differ
// per subcommand.
func skopeo(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, skopeoBin(t), args...)
}

// copyTo and copyFrom are `skopeo copy` to and from the plain-HTTP registry.
func skopeoCopy(t testing.TB, src, dst string, extra ...string) {
	t.Helper()
	args := []string{"copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false"}
	skopeo(t, append(append(args, extra...), src, dst)...)
}

// ociLayout writes img into a fresh OCI image layout, named tag.
func ociLayout(t testing.TB, img v1.Image, tag string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag,
	})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSkopeo drives the registry with the skopeo binary (containers/image,
// a client independent of go-containerregistry).
func TestSkopeo(t *testing.T) {
	t.Parallel()
	skopeoBin(t)
	reg := startTarget(t)
	docker := func(repoRef string) string { return "docker://" + reg.Ref(repoRef) }

	img := ociImage(t, 32<<10, 3)
	want := digestOf(t, img)
	raw, err := img.RawManifest()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("copy oci layout to registry", func(t *testing.T) {
		src := "oci:" + ociLayout(t, img, "v1") + ":v1"
		skopeoCopy(t, src, docker("skopeo/img:v1"), "--preserve-digests")
		expectServed(t, reg.Ref("skopeo/img:v1"), want)
		sameLayers(t, reg.Ref("skopeo/img:v1"), img)
	})

	t.Run("inspect", func(t *testing.T) {
		out := skopeo(t, "inspect", "--tls-verify=false", docker("skopeo/img:v1"))
		var info struct {
			Name   string
			Digest string
			Layers []string
		}
		if err := json.Unmarshal([]byte(out), &info); err != nil {
			t.Fatalf("skopeo inspect: %v\n%s", err, out)
		}
		if info.Digest != want.String() {
			t.Errorf("inspect digest %s, want %s", info.Digest, want)
		}
		layers, _ := img.Layers()
		if len(info.Layers) != len(layers) {
			t.Errorf("inspect lists %d layers, want %d", len(info.Layers), len(layers))
		}
		gotRaw := skopeo(t, "inspect", "--raw", "--tls-verify=false", docker("skopeo/img:v1"))
		if gotRaw != string(raw) {
			t.Errorf("inspect --raw differs from the pushed manifest:\n%s\n%s", gotRaw, raw)
		}
	})

	t.Run("copy registry to dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "dir")
		skopeoCopy(t, docker("skopeo/img:v1"), "dir:"+dir)
		got, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(raw) {
			t.Errorf("dir: manifest differs from the pushed one")
		}
		layers, _ := img.Layers()
		for _, l := range layers {
			d, _ := l.Digest()
			if _, err := os.Stat(filepath.Join(dir, d.Hex)); err != nil {
				t.Errorf("layer %s missing from dir: copy: %v", d, err)
			}
		}
	})

	t.Run("oci-archive round trip", func(t *testing.T) {
		archive := filepath.Join(t.TempDir(), "img.tar")
		skopeoCopy(t, docker("skopeo/img:v1"), "oci-archive:"+archive+":v1")
		skopeoCopy(t, "oci-archive:"+archive+":v1", docker("skopeo/from-archive:v1"), "--preserve-digests")
		expectServed(t, reg.Ref("skopeo/from-archive:v1"), want)
	})

	t.Run("copy multi-arch between repositories", func(t *testing.T) {
		idx := multiArch(t, "linux/amd64", "linux/arm64/v8")
		d := push(t, reg.Ref("skopeo/multi:v1"), idx)
		skopeoCopy(t, docker("skopeo/multi:v1"), docker("skopeo/multi-copy:v1"), "--all", "--preserve-digests")
		expectServed(t, reg.Ref("skopeo/multi-copy:v1"), d)
	})

	t.Run("list-tags and delete", func(t *testing.T) {
		skopeoCopy(t, docker("skopeo/img:v1"), docker("skopeo/img:v2"), "--preserve-digests")
		out := skopeo(t, "list-tags", "--tls-verify=false", docker("skopeo/img"))
		var lt struct{ Tags []string }
		if err := json.Unmarshal([]byte(out), &lt); err != nil {
			t.Fatalf("list-tags: %v\n%s", err, out)
		}
		slices.Sort(lt.Tags)
		if !slices.Equal(lt.Tags, []string{"v1", "v2"}) {
			t.Errorf("list-tags %v, want [v1 v2]", lt.Tags)
		}
		skopeo(t, "delete", "--tls-verify=false", docker("skopeo/from-archive@"+want.String()))
		_, err := tryRun(skopeoBin(t), "inspect", "--tls-verify=false", docker("skopeo/from-archive@"+want.String()))
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), "manifest unknown") {
			t.Errorf("inspect after delete: want manifest unknown, got %v", err)
		}
		expectServed(t, reg.Ref("skopeo/img:v1"), want) // same digest, other repository: untouched
	})
}
