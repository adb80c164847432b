package image_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthhq/berth/runtime/image"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestPull(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img := pushImage(t, reg, "team/app:v1", 100<<10, 3)
	s := newService(t)
	c := newClient(t, reg)
	ev := &events{}

	res, err := s.Pull(ctx, c, reg.host+"/team/app:v1", image.WithProgress(ev.add))
	if err != nil {
		t.Fatal(err)
	}
	want := digestOf(t, img)
	if res.Digest != want || res.Image.Digest != want || res.UpToDate || res.Name != reg.host+"/team/app:v1" {
		t.Fatalf("Pull = %+v, want image %s", res, want)
	}
	validate(t, s)
	for _, l := range layerDigests(t, img) {
		got := ev.statuses(l)
		if got[0] != "Waiting" || !slices.Contains(got, "Downloading") ||
			!slices.Contains(got, "Download complete") || got[len(got)-1] != "Pull complete" {
			t.Errorf("layer %s went through %v", l, got)
		}
	}

	t.Run("again: up to date, nothing downloaded", func(t *testing.T) {
		reg.rec.reset()
		ev := &events{}
		res, err := s.Pull(ctx, c, reg.host+"/team/app:v1", image.WithProgress(ev.add))
		if err != nil || !res.UpToDate {
			t.Fatalf("Pull = %+v, %v; want up to date", res, err)
		}
		if n := reg.rec.count("GET", "/blobs/"); n != 0 {
			t.Errorf("%d blob GETs", n)
		}
		if n := reg.rec.count("GET", "/manifests/"); n != 0 {
			t.Errorf("%d manifest GETs: the HEAD should have been enough", n)
		}
		for _, l := range layerDigests(t, img) {
			if got := ev.statuses(l); len(got) != 0 {
				t.Errorf("layer %s: %v; an image already pulled shows no layer lines, as in docker", l, got)
			}
		}
	})
	t.Run("by digest", func(t *testing.T) {
		res, err := s.Pull(ctx, c, reg.host+"/team/app@"+want.String())
		if err != nil || res.Image.Digest != want {
			t.Fatalf("Pull = %+v, %v", res, err)
		}
		if _, err := s.Store().Resolve(ctx, reg.host+"/team/app@"+want.String()); err != nil {
			t.Error(err)
		}
	})
	t.Run("missing tag", func(t *testing.T) {
		if _, err := s.Pull(ctx, c, reg.host+"/team/app:nope"); err == nil {
			t.Fatal("pulled a tag that does not exist")
		}
	})
}

func TestPullIndex(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	host := image.HostPlatform()
	platforms := []v1.Platform{
		{OS: host.OS, Architecture: host.Architecture, Variant: host.Variant},
		{OS: "linux", Architecture: "s390x"},
		{OS: "linux", Architecture: "arm", Variant: "v6"},
	}
	idx, imgs := pushIndex(t, reg, "team/multi:1", platforms...)
	idxDigest := digestOf(t, idx)
	c := newClient(t, reg)
	hostKey := platforms[0].String()

	tests := []struct {
		name    string
		opts    []image.Option
		tagged  digest.Digest // what the name points at
		present []string      // platforms whose layers are stored
		absent  []string      // platforms whose layers are not
		wantErr error
	}{
		{"host platform", nil, digestOf(t, imgs[hostKey]), []string{hostKey}, []string{"linux/s390x", "linux/arm/v6"}, nil},
		{"another platform", []image.Option{image.WithPlatform(ocispec.Platform{OS: "linux", Architecture: "s390x"})},
			digestOf(t, imgs["linux/s390x"]), []string{"linux/s390x"}, []string{hostKey}, nil},
		{"variant", []image.Option{image.WithPlatform(ocispec.Platform{OS: "linux", Architecture: "arm", Variant: "v6"})},
			digestOf(t, imgs["linux/arm/v6"]), []string{"linux/arm/v6"}, nil, nil},
		{"all platforms", []image.Option{image.WithAllPlatforms()}, idxDigest, []string{hostKey, "linux/s390x", "linux/arm/v6"}, nil, nil},
		{"platform not in the index", []image.Option{image.WithPlatform(ocispec.Platform{OS: "linux", Architecture: "riscv64"})},
			"", nil, nil, image.ErrPlatform},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService(t)
			res, err := s.Pull(ctx, c, reg.host+"/team/multi:1", tt.opts...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Pull = %v, want %v", err, tt.wantErr)
				}
				if all, _ := s.Store().List(ctx); len(all) != 0 {
					t.Errorf("a failed pull listed %d images", len(all))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != idxDigest || res.Image.Digest != tt.tagged {
				t.Fatalf("Pull = digest %s, image %s; want %s, %s", res.Digest, res.Image.Digest, idxDigest, tt.tagged)
			}
			validate(t, s)
			for _, p := range tt.present {
				for _, l := range layerDigests(t, imgs[p]) {
					if ok, _ := s.Store().Has(ctx, l); !ok {
						t.Errorf("%s layer %s missing", p, l)
					}
				}
			}
			for _, p := range tt.absent {
				for _, l := range layerDigests(t, imgs[p]) {
					if ok, _ := s.Store().Has(ctx, l); ok {
						t.Errorf("%s layer %s was pulled", p, l)
					}
				}
			}
		})
	}
}

// TestPullResume cuts the connection in the middle of a layer once and
// checks the download resumes with a Range request for the rest.
func TestPullResume(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img := pushImage(t, reg, "team/app:v1", 256<<10, 1)
	layer := layerDigests(t, img)[0]
	lsize, _ := img.LayerByDigest(v1.Hash{Algorithm: "sha256", Hex: layer.Encoded()})
	size, _ := lsize.Size()

	for _, retries := range []int{0, 1} {
		t.Run(fmt.Sprintf("retries=%d", retries), func(t *testing.T) {
			var cuts atomic.Int32
			proxy := newProxy(t, reg, func(r *http.Request, w http.ResponseWriter) http.ResponseWriter {
				if isBlobGet(r, layer) && cuts.Add(1) == 1 {
					return &cutWriter{ResponseWriter: w, limit: size / 3}
				}
				return w
			})
			s := newService(t)
			c := newClient(t, proxy)
			ref := proxy.host + "/team/app:v1"
			_, err := s.Pull(ctx, c, ref, image.WithRetries(retries))
			if retries == 0 {
				if err == nil {
					t.Fatal("the cut pull succeeded without retries")
				}
				if all, _ := s.Store().List(ctx); len(all) != 0 {
					t.Fatal("an interrupted pull listed an image")
				}
				partial := filepath.Join(s.Store().Dir(), "ingest", "sha256-"+layer.Encoded()+".partial")
				if fi, err := os.Stat(partial); err != nil || fi.Size() == 0 {
					t.Fatalf("partial download not kept: %v", err)
				}
				_, err = s.Pull(ctx, c, ref)
			}
			if err != nil {
				t.Fatal(err)
			}
			validate(t, s)
			var gets []request
			for _, q := range proxy.rec.all() {
				if q.method == "GET" && strings.HasSuffix(q.path, "/blobs/"+layer.String()) {
					gets = append(gets, q)
				}
			}
			if len(gets) != 2 {
				t.Fatalf("%d GETs of the layer, want 2: %+v", len(gets), gets)
			}
			first, second := gets[0], gets[1]
			var start int64
			if _, err := fmt.Sscanf(second.rangeHdr, "bytes=%d-", &start); err != nil {
				t.Fatalf("second request's Range = %q", second.rangeHdr)
			}
			if first.rangeHdr != "" || start <= 0 || start > first.sent {
				t.Errorf("first sent %d bytes, second asked from %d", first.sent, start)
			}
			if second.sent != size-start {
				t.Errorf("second response sent %d bytes, want the remaining %d", second.sent, size-start)
			}
		})
	}
}

// TestPullCorrupt has a proxy flip a byte of a layer: the pull fails,
// nothing is listed and the bad content is not kept.
func TestPullCorrupt(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img := pushImage(t, reg, "team/app:v1", 64<<10, 2)
	bad := layerDigests(t, img)[1]
	proxy := newProxy(t, reg, func(r *http.Request, w http.ResponseWriter) http.ResponseWriter {
		if isBlobGet(r, bad) {
			return &flipWriter{ResponseWriter: w, at: 1000}
		}
		return w
	})
	s := newService(t)
	_, err := s.Pull(ctx, newClient(t, proxy), proxy.host+"/team/app:v1")
	if !errors.Is(err, image.ErrDigestMismatch) {
		t.Fatalf("Pull = %v, want ErrDigestMismatch", err)
	}
	t.Log(err)
	if !strings.Contains(err.Error(), bad.String()) {
		t.Errorf("error does not name the layer: %v", err)
	}
	if all, _ := s.Store().List(ctx); len(all) != 0 {
		t.Fatal("a failed pull listed an image")
	}
	if ok, _ := s.Store().Has(ctx, bad); ok {
		t.Fatal("corrupt layer stored")
	}
	if left, _ := filepath.Glob(filepath.Join(s.Store().Dir(), "ingest", "*"+bad.Encoded()+"*")); len(left) > 0 {
		t.Fatalf("corrupt partial kept: %v", left)
	}
	validate(t, s)
}

// TestPullKeptPartials starts pulls over partial downloads an earlier
// process left behind: a complete but uncommitted one is used as is; a
// corrupt one is dropped and the layer fetched again from the start.
func TestPullKeptPartials(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img := pushImage(t, reg, "team/app:v1", 64<<10, 1)
	layer := layerDigests(t, img)[0]
	l, _ := img.LayerByDigest(v1.Hash{Algorithm: "sha256", Hex: layer.Encoded()})
	rc, _ := l.Compressed()
	content, _ := io.ReadAll(rc)
	rc.Close()
	corrupt := append([]byte{}, content[:len(content)/2]...)
	corrupt[0] ^= 0xff
	tests := []struct {
		name    string
		partial []byte
		gets    int // GETs of the layer
	}{
		{"complete, never committed", content, 0},
		{"corrupt", corrupt, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newService(t)
			p := filepath.Join(s.Store().Dir(), "ingest", "sha256-"+layer.Encoded()+".partial")
			if err := os.WriteFile(p, tt.partial, 0o644); err != nil {
				t.Fatal(err)
			}
			reg.rec.reset()
			if _, err := s.Pull(ctx, newClient(t, reg), reg.host+"/team/app:v1"); err != nil {
				t.Fatal(err)
			}
			validate(t, s)
			if n := reg.rec.count("GET", "/blobs/"+layer.String()); n != tt.gets {
				t.Errorf("%d GETs of the layer, want %d", n, tt.gets)
			}
		})
	}
}
