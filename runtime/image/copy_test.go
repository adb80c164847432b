package image_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/berthhq/berth/runtime/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestCopy(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	idx, imgs := pushIndex(t, reg, "team/multi:1",
		v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	want := digestOf(t, idx)
	c := newClient(t, reg)

	t.Run("index to another registry keeps its digest", func(t *testing.T) {
		reg2 := newRegistry(t)
		ev := &events{}
		res, err := image.Copy(ctx, c, newClient(t, reg2), reg.host+"/team/multi:1", reg2.host+"/mirror/multi:1", image.WithProgress(ev.add))
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != want || fetchWithGGCR(t, reg2.host+"/mirror/multi:1") != want {
			t.Fatalf("copied %s, want %s", res.Digest, want)
		}
		for _, l := range layerDigests(t, imgs["linux/amd64"]) {
			if got := ev.statuses(l); got[len(got)-1] != "Pushed" {
				t.Errorf("layer %s: %v", l, got)
			}
		}

		reg2.rec.reset()
		if _, err := image.Copy(ctx, c, newClient(t, reg2), reg.host+"/team/multi:1", reg2.host+"/mirror/multi:2"); err != nil {
			t.Fatal(err)
		}
		if n := reg2.rec.count("POST", "/blobs/uploads/"); n != 0 {
			t.Errorf("second copy opened %d uploads; the target had every blob", n)
		}
	})
	t.Run("within one registry: mounted", func(t *testing.T) {
		reg.rec.reset()
		res, err := image.Copy(ctx, c, c, reg.host+"/team/multi:1", reg.host+"/other/multi:1")
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != want {
			t.Fatalf("copied %s", res.Digest)
		}
		if n := reg.rec.count("GET", "/blobs/"); n != 0 {
			t.Errorf("%d blob downloads; mounts need none", n)
		}
		if n := reg.rec.count("POST", "mount="); n == 0 {
			t.Error("no mount requests")
		}
		fetchWithGGCR(t, reg.host+"/other/multi:1")
	})
	t.Run("one platform", func(t *testing.T) {
		reg2 := newRegistry(t)
		res, err := image.Copy(ctx, c, newClient(t, reg2), reg.host+"/team/multi:1", reg2.host+"/arm/app:1",
			image.WithPlatform(ocispec.Platform{OS: "linux", Architecture: "arm64"}))
		if err != nil {
			t.Fatal(err)
		}
		if wantM := digestOf(t, imgs["linux/arm64/v8"]); res.Digest != wantM || fetchWithGGCR(t, reg2.host+"/arm/app:1") != wantM {
			t.Fatalf("copied %s, want the arm64 manifest %s", res.Digest, wantM)
		}
	})
	t.Run("corrupt source", func(t *testing.T) {
		bad := layerDigests(t, imgs["linux/amd64"])[0]
		proxy := newProxy(t, reg, func(r *http.Request, w http.ResponseWriter) http.ResponseWriter {
			if isBlobGet(r, bad) {
				return &flipWriter{ResponseWriter: w, at: 10}
			}
			return w
		})
		reg2 := newRegistry(t)
		_, err := image.Copy(ctx, newClient(t, proxy), newClient(t, reg2), proxy.host+"/team/multi:1", reg2.host+"/mirror/multi:1")
		if err == nil {
			t.Fatal("copied corrupt content")
		}
		t.Log(err)
		if !errors.Is(err, image.ErrDigestMismatch) {
			t.Errorf("error does not say the digest did not match: %v", err)
		}
		if n := reg2.rec.count("PUT", "/manifests/1"); n != 0 {
			t.Error("the tag was pushed after a failed blob")
		}
	})
}
