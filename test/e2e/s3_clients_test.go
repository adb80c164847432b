//go:build e2e

package e2e

import (
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestS3EnvOnly configures Berth on S3 with REGISTRY_STORAGE_S3_*
// variables alone, no config file, as registry:2 deployments do, and checks
// the content lands in the bucket under the root directory.
func TestS3EnvOnly(t *testing.T) {
	t.Parallel()
	st := TempS3(t)
	reg := startRegistry(t, Berth, st, startOptions{envOnly: true})
	d := push(t, reg.Ref("s3/env:v1"), ociImage(t, 1024, 1))
	expectServed(t, reg.Ref("s3/env:v1"), d)
	link := "docker/registry/v2/repositories/s3/env/_manifests/tags/v1/current/link"
	if b, err := os.ReadFile(filepath.Join(bucketDirOf(*st.Bucket), s3Root, link)); err != nil || string(b) != d.String() {
		t.Errorf("bucket key %s/%s: %q, %v; want %s", s3Root, link, b, err, d)
	}
}

// TestS3Clients pushes to and pulls from Berth on S3 with the real
// clients (docker, crane, skopeo) whatever E2E_STORAGE says: every digest
// comes back as it went in.
func TestS3Clients(t *testing.T) {
	t.Parallel()
	reg := startRegistry(t, Berth, TempS3(t), startOptions{})

	t.Run("docker push and pull", func(t *testing.T) {
		t.Parallel()
		dockerHost(t)
		img := dockerImage(t, 6<<20, 2) // layers span S3 parts
		cfg, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		tarPath := filepath.Join(t.TempDir(), "image.tar")
		if err := tarball.WriteToFile(tarPath, tagRef(t, "berth-e2e/s3:v1"), img); err != nil {
			t.Fatal(err)
		}
		name := reg.Ref("s3/docker:v1")
		t.Cleanup(func() { tryDocker(t, "image", "rm", "-f", "berth-e2e/s3:v1", name) })
		docker(t, "load", "-i", tarPath)
		docker(t, "tag", "berth-e2e/s3:v1", name)
		pushed, _ := dockerPush(t, name)
		expectServed(t, name, pushed)
		docker(t, "image", "rm", "-f", "berth-e2e/s3:v1", name)
		docker(t, "pull", name)
		if id := imageID(t, name); id != cfg.String() {
			t.Errorf("pulled image ID %s, want config digest %s", id, cfg)
		}
	})

	t.Run("crane copy", func(t *testing.T) {
		t.Parallel()
		craneBin(t)
		src := startRegistry(t, Berth, TempFilesystem(t), startOptions{})
		img := ociImage(t, 6<<20, 2)
		want := push(t, src.Ref("s3/crane:v1"), img)
		crane(t, "copy", src.Ref("s3/crane:v1"), reg.Ref("s3/crane:v1"))
		if got := crane(t, "digest", reg.Ref("s3/crane:v1")); got != want.String() {
			t.Errorf("crane digest after copy: %s, want %s", got, want)
		}
		sameLayers(t, reg.Ref("s3/crane:v1"), img)
	})

	t.Run("skopeo copy", func(t *testing.T) {
		t.Parallel()
		skopeoBin(t)
		img := ociImage(t, 6<<20, 2)
		want := digestOf(t, img)
		skopeoCopy(t, "oci:"+ociLayout(t, img, "v1")+":v1", "docker://"+reg.Ref("s3/skopeo:v1"), "--preserve-digests")
		expectServed(t, reg.Ref("s3/skopeo:v1"), want)
		sameLayers(t, reg.Ref("s3/skopeo:v1"), img)
		out := filepath.Join(t.TempDir(), "back")
		skopeoCopy(t, "docker://"+reg.Ref("s3/skopeo:v1"), "oci:"+out+":v1", "--preserve-digests")
		idx, err := layout.ImageIndexFromPath(out)
		if err != nil {
			t.Fatal(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Manifests) != 1 || im.Manifests[0].Digest != want {
			t.Errorf("skopeo copied back %+v, want %s", im.Manifests, want)
		}
	})
}

// TestS3SameTree is TestCompatibility's "same tree on disk" on S3: Berth
// and Distribution, each on a bucket of its own, write the same keys with
// the same contents for the same pushes, so one's bucket serves the other.
// versitygw's posix backend keeps each key as a file at its path, which
// lets readTree compare the buckets.
func TestS3SameTree(t *testing.T) {
	t.Parallel()
	berthBin(t)
	distributionBin(t)
	dst, bst := TempS3(t), TempS3(t)
	d := startRegistry(t, Distribution, dst, startOptions{})
	b := startRegistry(t, Berth, bst, startOptions{})
	img, idx := ociImage(t, 6<<20, 2), multiArch(t, "linux/amd64", "linux/arm64/v8")
	for _, reg := range []*Registry{d, b} {
		push(t, reg.Ref("tree/img:v1"), img)
		push(t, reg.Ref("tree/img:v2"), img)
		push(t, reg.Ref("tree/multi:latest"), idx)
	}
	d.Stop(t)
	b.Stop(t)
	dt := readTree(t, filepath.Join(bucketDirOf(*dst.Bucket), s3Root))
	bt := readTree(t, filepath.Join(bucketDirOf(*bst.Bucket), s3Root))
	// Berth's own catalog index (storage/catalogindex.go) is the one
	// addition, beside registry:2's tree.
	maps.DeleteFunc(bt, func(p string, _ string) bool { return strings.HasPrefix(p, "_berth/") })
	for _, p := range slices.Sorted(maps.Keys(dt)) {
		if bv, ok := bt[p]; !ok {
			t.Errorf("Berth lacks %s (Distribution wrote it)", p)
		} else if bv != dt[p] {
			t.Errorf("%s: Distribution wrote %q, Berth %q", p, dt[p], bv)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(bt)) {
		if _, ok := dt[p]; !ok {
			t.Errorf("Berth wrote %s, which Distribution does not", p)
		}
	}
	for _, k := range bucketKeys(t, *bst.Bucket) {
		if strings.HasSuffix(k, "~partial") {
			t.Errorf("Berth left a pending write behind: %s", k)
		}
	}
}

// TestS3Redirect turns storage.s3.redirect on: a blob GET answers 307 to a
// presigned URL of the S3 server, which serves the blob's bytes, and real
// clients pull through the redirect. HEADs stay with the registry.
func TestS3Redirect(t *testing.T) {
	t.Parallel()
	st := TempS3(t)
	st.Config["s3"].(map[string]any)["redirect"] = true
	reg := startRegistry(t, Berth, st, startOptions{})
	img := ociImage(t, 6<<20, 2)
	want := push(t, reg.Ref("s3/redirect:v1"), img)
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := layers[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	a := reg.API(t)
	resp := a.do("GET", "/v2/s3/redirect/blobs/"+d.String(), nil, nil).expect(t, http.StatusTemporaryRedirect)
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, st.Bucket.Endpoint+"/") {
		t.Fatalf("redirect to %q, not to the S3 server %s", loc, st.Bucket.Endpoint)
	}
	got := a.do("GET", loc, nil, nil).expect(t, http.StatusOK)
	if sha256Digest(got.Body) != d.String() {
		t.Errorf("the presigned URL served %d bytes with digest %s, want %s", len(got.Body), sha256Digest(got.Body), d)
	}
	a.do("HEAD", "/v2/s3/redirect/blobs/"+d.String(), nil, nil).expect(t, http.StatusOK)
	a.do("GET", "/v2/s3/redirect/blobs/sha256:"+strings.Repeat("0", 64), nil, nil).expectError(t, http.StatusNotFound, "BLOB_UNKNOWN")
	expectServed(t, reg.Ref("s3/redirect:v1"), want)
	sameLayers(t, reg.Ref("s3/redirect:v1"), img)
	if craneBin(t) != "" {
		if got := crane(t, "digest", reg.Ref("s3/redirect:v1")); got != want.String() {
			t.Errorf("crane digest %s, want %s", got, want)
		}
		crane(t, "pull", "--format=oci", reg.Ref("s3/redirect:v1"), filepath.Join(t.TempDir(), "pulled"))
	}
}
