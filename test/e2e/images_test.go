//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// ref parses a reference on a plain-HTTP registry.
func ref(t testing.TB, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s, name.Insecure, name.StrictValidation)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return r
}

// tagRef parses a tag reference on a plain-HTTP registry.
func tagRef(t testing.TB, s string) name.Tag {
	t.Helper()
	r, err := name.NewTag(s, name.Insecure)
	if err != nil {
		t.Fatalf("parse tag %q: %v", s, err)
	}
	return r
}

func ropts(t testing.TB) []remote.Option {
	return []remote.Option{remote.WithContext(t.Context())}
}

// dockerImage is a random image with docker schema 2 media types: layers
// random tar+gzip layers of size bytes.
func dockerImage(t testing.TB, size int64, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(size, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ociImage is a random image with OCI media types throughout.
func ociImage(t testing.TB, size int64, layers int) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	for range layers {
		l, err := random.Layer(size, types.OCILayer)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.AppendLayers(img, l); err != nil {
			t.Fatal(err)
		}
	}
	return img
}

// multiArch is an OCI index of one random image per platform.
func multiArch(t testing.TB, platforms ...string) v1.ImageIndex {
	t.Helper()
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		img := ociImage(t, 1024, 2)
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture, cf.Variant = plat.OS, plat.Architecture, plat.Variant
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: plat},
		})
	}
	return withoutArtifactTypes(t, idx)
}

// plainIndex is an index whose manifest is replaced by raw; children are
// served by the embedded index.
type plainIndex struct {
	inner v1.ImageIndex
	raw   []byte
}

// withoutArtifactTypes drops the artifactType that go-containerregistry
// puts on every child descriptor. Clients built on older image-spec
// versions (skopeo 1.9, docker 20.10) rewrite an index carrying it, which
// changes its digest; real multi-arch indexes do not carry it.
func withoutArtifactTypes(t testing.TB, idx v1.ImageIndex) v1.ImageIndex {
	t.Helper()
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	im = im.DeepCopy()
	for i := range im.Manifests {
		im.Manifests[i].ArtifactType = ""
	}
	raw, err := json.Marshal(im)
	if err != nil {
		t.Fatal(err)
	}
	return plainIndex{inner: idx, raw: raw}
}

func (p plainIndex) RawManifest() ([]byte, error) { return p.raw, nil }

func (p plainIndex) MediaType() (types.MediaType, error) { return p.inner.MediaType() }

func (p plainIndex) Image(h v1.Hash) (v1.Image, error) { return p.inner.Image(h) }

func (p plainIndex) ImageIndex(h v1.Hash) (v1.ImageIndex, error) { return p.inner.ImageIndex(h) }

func (p plainIndex) Size() (int64, error) { return int64(len(p.raw)), nil }

func (p plainIndex) Digest() (v1.Hash, error) {
	h, _, err := v1.SHA256(bytes.NewReader(p.raw))
	return h, err
}

func (p plainIndex) IndexManifest() (*v1.IndexManifest, error) {
	return v1.ParseIndexManifest(bytes.NewReader(p.raw))
}

// push writes img or an index to s and returns its manifest digest.
func push(t testing.TB, s string, content any) v1.Hash {
	t.Helper()
	r := ref(t, s)
	var (
		d   v1.Hash
		err error
	)
	switch c := content.(type) {
	case v1.Image:
		if err = remote.Write(r, c, ropts(t)...); err == nil {
			d, err = c.Digest()
		}
	case v1.ImageIndex:
		if err = remote.WriteIndex(r, c, ropts(t)...); err == nil {
			d, err = c.Digest()
		}
	default:
		t.Fatalf("push: %T is not an image or index", content)
	}
	if err != nil {
		t.Fatalf("push %s: %v", s, err)
	}
	return d
}

// digestOf is the digest of an image or index.
func digestOf(t testing.TB, content any) v1.Hash {
	t.Helper()
	var (
		d   v1.Hash
		err error
	)
	switch c := content.(type) {
	case v1.Image:
		d, err = c.Digest()
	case v1.ImageIndex:
		d, err = c.Digest()
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// served is what a registry answers for one reference.
type served struct {
	Digest    v1.Hash
	MediaType types.MediaType
	Manifest  []byte
}

// pull fetches s, checks every blob it reaches (validate.Image/Index read
// each layer and compare digests, diff IDs and sizes) and returns what was
// served.
func pull(t testing.TB, s string) served {
	t.Helper()
	desc, err := remote.Get(ref(t, s), ropts(t)...)
	if err != nil {
		t.Fatalf("pull %s: %v", s, err)
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		if err != nil {
			t.Fatalf("pull %s: %v", s, err)
		}
		if err := validate.Index(idx); err != nil {
			t.Fatalf("pull %s: index does not validate: %v", s, err)
		}
	} else {
		img, err := desc.Image()
		if err != nil {
			t.Fatalf("pull %s: %v", s, err)
		}
		if err := validate.Image(img); err != nil {
			t.Fatalf("pull %s: image does not validate: %v", s, err)
		}
	}
	return served{Digest: desc.Digest, MediaType: desc.MediaType, Manifest: desc.Manifest}
}

// expectServed pulls s and fails unless it has digest want.
func expectServed(t testing.TB, s string, want v1.Hash) served {
	t.Helper()
	got := pull(t, s)
	if got.Digest != want {
		t.Fatalf("%s: served digest %s, pushed %s", s, got.Digest, want)
	}
	return got
}

// sameLayers fails unless the registry serves exactly img's compressed
// layer bytes for s.
func sameLayers(t testing.TB, s string, img v1.Image) {
	t.Helper()
	got, err := remote.Image(ref(t, s), ropts(t)...)
	if err != nil {
		t.Fatal(err)
	}
	want, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	have, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(have) != len(want) {
		t.Fatalf("%s: %d layers served, %d pushed", s, len(have), len(want))
	}
	for i := range want {
		if a, b := readLayer(t, want[i]), readLayer(t, have[i]); !bytes.Equal(a, b) {
			t.Fatalf("%s: layer %d: served %d bytes that differ from the %d pushed", s, i, len(b), len(a))
		}
	}
}

func readLayer(t testing.TB, l v1.Layer) []byte {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ggcrImage is s as a remote image.
func ggcrImage(t testing.TB, s string) (v1.Image, error) {
	t.Helper()
	return remote.Image(ref(t, s), ropts(t)...)
}

// tags lists repo's tags on reg, sorted.
func tags(t testing.TB, reg *Registry, repo string) []string {
	t.Helper()
	r, err := name.NewRepository(reg.Ref(repo), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := remote.List(r, ropts(t)...)
	if err != nil {
		t.Fatalf("list tags of %s: %v", repo, err)
	}
	slices.Sort(ts)
	return ts
}

// fixture is a set of images pushed to a registry: several repositories
// (one nested three deep), docker and OCI media types, a multi-arch index,
// two tags on one manifest and an untagged manifest.
type fixture struct {
	refs map[string]v1.Hash  // "repo:tag" or "repo@digest" -> manifest digest
	tags map[string][]string // repo -> its sorted tags
}

func pushFixture(t testing.TB, reg *Registry) fixture {
	t.Helper()
	f := fixture{refs: map[string]v1.Hash{}, tags: map[string][]string{}}
	add := func(repoTag string, content any) {
		f.refs[repoTag] = push(t, reg.Ref(repoTag), content)
	}
	dockerImg := dockerImage(t, 2048, 2)
	add("fixture/docker:v1", dockerImg)
	add("fixture/docker:alias", dockerImg)
	oci1 := ociImage(t, 4096, 3)
	add("fixture/oci:v1", oci1)
	extra, err := random.Layer(1024, types.OCILayer)
	if err != nil {
		t.Fatal(err)
	}
	oci2, err := mutate.AppendLayers(oci1, extra) // shares three layers with v1
	if err != nil {
		t.Fatal(err)
	}
	add("fixture/oci:v2", oci2)
	add("fixture/multi:latest", multiArch(t, "linux/amd64", "linux/arm64/v8"))
	add("fixture/nested/deep/name:1.0.0-rc_1", ociImage(t, 512, 1))
	untagged := dockerImage(t, 512, 1)
	d := digestOf(t, untagged)
	add("fixture/untagged@"+d.String(), untagged)
	f.tags = map[string][]string{
		"fixture/docker":           {"alias", "v1"},
		"fixture/oci":              {"v1", "v2"},
		"fixture/multi":            {"latest"},
		"fixture/nested/deep/name": {"1.0.0-rc_1"},
	}
	return f
}

// repos are the fixture's repositories, sorted.
func (f fixture) repos() []string {
	rs := []string{"fixture/untagged"}
	for r := range f.tags {
		rs = append(rs, r)
	}
	slices.Sort(rs)
	return rs
}

// verify fails unless reg serves every fixture reference with its digest
// and every blob intact, and lists the fixture's tags.
func (f fixture) verify(t testing.TB, reg *Registry) {
	t.Helper()
	for r, d := range f.refs {
		expectServed(t, reg.Ref(r), d)
	}
	for repo, want := range f.tags {
		if got := tags(t, reg, repo); !slices.Equal(got, want) {
			t.Errorf("%s: tags %v, want %v", repo, got, want)
		}
	}
}

func (f fixture) String() string { return fmt.Sprintf("fixture of %d references", len(f.refs)) }
