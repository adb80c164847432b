//go:build e2e

package e2e

import (
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestGGCR drives the registry with go-containerregistry in-process.
func TestGGCR(t *testing.T) {
	t.Parallel()
	reg := startTarget(t)

	t.Run("docker image round trip", func(t *testing.T) {
		img := dockerImage(t, 64<<10, 3)
		d := push(t, reg.Ref("ggcr/docker:v1"), img)
		got := expectServed(t, reg.Ref("ggcr/docker:v1"), d)
		if got.MediaType != types.DockerManifestSchema2 {
			t.Errorf("media type %s, want %s", got.MediaType, types.DockerManifestSchema2)
		}
		raw, err := img.RawManifest()
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Manifest) != string(raw) {
			t.Errorf("manifest bytes changed in the round trip:\npushed %s\nserved %s", raw, got.Manifest)
		}
		sameLayers(t, reg.Ref("ggcr/docker:v1"), img)
		expectServed(t, reg.Ref("ggcr/docker@"+d.String()), d)
	})

	t.Run("oci image round trip", func(t *testing.T) {
		img := ociImage(t, 32<<10, 2)
		d := push(t, reg.Ref("ggcr/oci:v1"), img)
		got := expectServed(t, reg.Ref("ggcr/oci:v1"), d)
		if got.MediaType != types.OCIManifestSchema1 {
			t.Errorf("media type %s, want %s", got.MediaType, types.OCIManifestSchema1)
		}
		sameLayers(t, reg.Ref("ggcr/oci:v1"), img)
	})

	t.Run("large layer streams", func(t *testing.T) {
		img := dockerImage(t, 24<<20, 1)
		d := push(t, reg.Ref("ggcr/large:v1"), img)
		expectServed(t, reg.Ref("ggcr/large:v1"), d)
		sameLayers(t, reg.Ref("ggcr/large:v1"), img)
	})

	t.Run("index round trip", func(t *testing.T) {
		idx := multiArch(t, "linux/amd64", "linux/arm64/v8", "linux/s390x")
		d := push(t, reg.Ref("ggcr/multi:v1"), idx)
		got := expectServed(t, reg.Ref("ggcr/multi:v1"), d)
		if got.MediaType != types.OCIImageIndex {
			t.Errorf("media type %s, want %s", got.MediaType, types.OCIImageIndex)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range im.Manifests {
			expectServed(t, reg.Ref("ggcr/multi@"+m.Digest.String()), m.Digest)
		}
	})

	t.Run("head matches get", func(t *testing.T) {
		img := ociImage(t, 1024, 1)
		d := push(t, reg.Ref("ggcr/head:v1"), img)
		desc, err := remote.Head(ref(t, reg.Ref("ggcr/head:v1")), ropts(t)...)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := img.RawManifest()
		if desc.Digest != d || desc.Size != int64(len(raw)) || desc.MediaType != types.OCIManifestSchema1 {
			t.Errorf("HEAD says %+v; want digest %s size %d", desc, d, len(raw))
		}
	})

	t.Run("tags and retag", func(t *testing.T) {
		img := dockerImage(t, 1024, 1)
		d := push(t, reg.Ref("ggcr/tags:a"), img)
		for _, tag := range []string{"b", "c", "latest"} {
			if err := remote.Tag(tagRef(t, reg.Ref("ggcr/tags:"+tag)), img, ropts(t)...); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := tags(t, reg, "ggcr/tags"), []string{"a", "b", "c", "latest"}; !slices.Equal(got, want) {
			t.Errorf("tags %v, want %v", got, want)
		}
		expectServed(t, reg.Ref("ggcr/tags:latest"), d)
	})

	t.Run("delete manifest", func(t *testing.T) {
		img := dockerImage(t, 1024, 1)
		d := push(t, reg.Ref("ggcr/delete:v1"), img)
		byDigest := ref(t, reg.Ref("ggcr/delete@"+d.String()))
		if err := remote.Delete(byDigest, ropts(t)...); err != nil {
			t.Fatal(err)
		}
		_, err := remote.Get(byDigest, ropts(t)...)
		expectTransportError(t, err, http.StatusNotFound, transport.ManifestUnknownErrorCode)
		_, err = remote.Get(ref(t, reg.Ref("ggcr/delete:v1")), ropts(t)...)
		expectTransportError(t, err, http.StatusNotFound, transport.ManifestUnknownErrorCode)
	})

	t.Run("concurrent pushes sharing layers", func(t *testing.T) {
		base := ociImage(t, 256<<10, 2)
		imgs := make([]v1.Image, 6)
		for i := range imgs {
			imgs[i] = base // identical content, racing on the same blobs
		}
		var wg sync.WaitGroup
		errs := make([]error, len(imgs))
		for i, img := range imgs {
			wg.Go(func() {
				repo := []string{"ggcr/race-a", "ggcr/race-b"}[i%2]
				errs[i] = remote.Write(ref(t, reg.Ref(repo+":v1")), img, ropts(t)...)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		d := digestOf(t, base)
		expectServed(t, reg.Ref("ggcr/race-a:v1"), d)
		expectServed(t, reg.Ref("ggcr/race-b:v1"), d)
	})
}

// expectTransportError fails unless err is a registry error with status
// and one of codes.
func expectTransportError(t testing.TB, err error, status int, codes ...transport.ErrorCode) {
	t.Helper()
	var te *transport.Error
	if !errors.As(err, &te) {
		t.Fatalf("want a registry error %d %v, got %v", status, codes, err)
	}
	if te.StatusCode != status {
		t.Errorf("want status %d, got %d (%v)", status, te.StatusCode, te)
	}
	for _, e := range te.Errors {
		if slices.Contains(codes, e.Code) {
			return
		}
	}
	t.Errorf("want one of %v, got %v", codes, te.Errors)
}
