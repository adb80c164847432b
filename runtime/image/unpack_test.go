package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"
)

// fileLayer returns a gzip layer holding files (name -> body).
func fileLayer(t *testing.T, files ...[2]string) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f[0], Mode: 0o644, Size: int64(len(f[1])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(f[1])); err != nil {
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

func newSnapshots(t *testing.T) *snapshot.Store {
	t.Helper()
	st, err := snapshot.New(filepath.Join(t.TempDir(), "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func chainOf(t *testing.T, img v1.Image) []digest.Digest {
	t.Helper()
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var diffs []digest.Digest
	for _, h := range cfg.RootFS.DiffIDs {
		diffs = append(diffs, digest.Digest(h.String()))
	}
	return snapshot.ChainIDs(diffs)
}

func TestPullUnpack(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img, err := mutate.AppendLayers(empty.Image,
		fileLayer(t, [2]string{"etc/os-release", "base"}, [2]string{"bin/sh", "sh"}),
		fileLayer(t, [2]string{"app/main", "app"}))
	if err != nil {
		t.Fatal(err)
	}
	writeImage(t, reg, "team/app:v1", img)
	chain := chainOf(t, img)
	snaps := newSnapshots(t)
	s := newService(t)
	c := newClient(t, reg)
	ref := reg.host + "/team/app:v1"

	if _, err := s.Pull(ctx, c, ref, image.WithUnpack(snaps)); err != nil {
		t.Fatal(err)
	}
	validate(t, s)
	want := map[int]map[string]string{0: {"etc/os-release": "base", "bin/sh": "sh"}, 1: {"app/main": "app"}}
	check := func() {
		t.Helper()
		for i, files := range want {
			in, err := snaps.Stat(ctx, chain[i])
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			if i > 0 && in.Parent != chain[i-1] {
				t.Fatalf("layer %d parent %s, want %s", i, in.Parent, chain[i-1])
			}
			for p, body := range files {
				if b, err := os.ReadFile(filepath.Join(in.Dir, p)); err != nil || string(b) != body {
					t.Fatalf("layer %d %s = %q, %v; want %q", i, p, b, err, body)
				}
			}
		}
		if all, _ := snaps.List(ctx); len(all) != 2 {
			t.Fatalf("%d snapshots, want 2", len(all))
		}
	}
	check()

	// An up-to-date pull puts back a missing snapshot and keeps the other.
	if err := snaps.Remove(ctx, chain[1]); err != nil {
		t.Fatal(err)
	}
	res, err := s.Pull(ctx, c, ref, image.WithUnpack(snaps))
	if err != nil || !res.UpToDate {
		t.Fatalf("second pull: %+v, %v", res, err)
	}
	check()
}

func TestPullUnpackBadDiffID(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img, err := mutate.AppendLayers(empty.Image, fileLayer(t, [2]string{"f", "x"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.RootFS.DiffIDs[0] = v1.Hash{Algorithm: "sha256", Hex: digest.FromString("other").Encoded()}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	writeImage(t, reg, "team/bad:v1", img)
	snaps := newSnapshots(t)
	_, err = newService(t).Pull(ctx, newClient(t, reg), reg.host+"/team/bad:v1", image.WithUnpack(snaps))
	if !errors.Is(err, image.ErrDigestMismatch) {
		t.Fatalf("pull of a layer that does not match its diff ID: %v, want ErrDigestMismatch", err)
	}
	if all, _ := snaps.List(ctx); len(all) != 0 {
		t.Fatalf("a snapshot of a bad layer was kept: %v", all)
	}
	ents, err := os.ReadDir(snaps.Root())
	if err != nil || len(ents) != 0 {
		t.Fatalf("left in the snapshot root: %v, %v", ents, err)
	}
}

func TestPullUnpackRandom(t *testing.T) {
	ctx := context.Background()
	reg := newRegistry(t)
	img := pushImage(t, reg, "team/rand:v1", 4096, 5)
	snaps := newSnapshots(t)
	if _, err := newService(t).Pull(ctx, newClient(t, reg), reg.host+"/team/rand:v1", image.WithUnpack(snaps), image.WithConcurrency(2)); err != nil {
		t.Fatal(err)
	}
	for _, id := range chainOf(t, img) {
		if _, err := snaps.Stat(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPullUnpackOverlaps shows a layer unpacks while another downloads:
// the proxy holds back layer 2's blob until layer 1's snapshot is
// committed, which happens only if unpacking starts before every blob is
// in.
func TestPullUnpackOverlaps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := newRegistry(t)
	img, err := mutate.AppendLayers(empty.Image,
		fileLayer(t, [2]string{"base", "one"}),
		fileLayer(t, [2]string{"app", "two"}))
	if err != nil {
		t.Fatal(err)
	}
	writeImage(t, reg, "team/overlap:v1", img)
	chain := chainOf(t, img)
	layers := layerDigests(t, img)
	snaps := newSnapshots(t)
	var stalled, timedOut atomic.Bool
	proxy := newProxy(t, reg, func(r *http.Request, w http.ResponseWriter) http.ResponseWriter {
		if !isBlobGet(r, layers[1]) {
			return w
		}
		stalled.Store(true)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := snaps.Stat(r.Context(), chain[0]); err == nil {
				return w
			}
			if time.Now().After(deadline) || r.Context().Err() != nil {
				timedOut.Store(true)
				return w
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	if _, err := newService(t).Pull(ctx, newClient(t, proxy), proxy.host+"/team/overlap:v1", image.WithUnpack(snaps)); err != nil {
		t.Fatal(err)
	}
	if !stalled.Load() {
		t.Fatal("layer 2 was never downloaded through the proxy")
	}
	if timedOut.Load() {
		t.Fatal("layer 1 was not unpacked while layer 2 was still downloading")
	}
	for i, id := range chain {
		if _, err := snaps.Stat(ctx, id); err != nil {
			t.Fatalf("layer %d: %v", i, err)
		}
	}
}

// TestPullUnpackFailStops shows a layer that fails to unpack fails the
// pull at once, without waiting for a stalled download of another layer,
// and leaves no snapshot.
func TestPullUnpackFailStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := newRegistry(t)
	img, err := mutate.AppendLayers(empty.Image,
		fileLayer(t, [2]string{"base", "one"}),
		fileLayer(t, [2]string{"app", "two"}))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.RootFS.DiffIDs[0] = v1.Hash{Algorithm: "sha256", Hex: digest.FromString("other").Encoded()}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	writeImage(t, reg, "team/stop:v1", img)
	layers := layerDigests(t, img)
	snaps := newSnapshots(t)
	proxy := newProxy(t, reg, func(r *http.Request, w http.ResponseWriter) http.ResponseWriter {
		if isBlobGet(r, layers[1]) {
			select { // until the client gives up, or the test's bound
			case <-r.Context().Done():
			case <-time.After(20 * time.Second):
			}
		}
		return w
	})
	start := time.Now()
	_, err = newService(t).Pull(ctx, newClient(t, proxy), proxy.host+"/team/stop:v1", image.WithUnpack(snaps))
	if !errors.Is(err, image.ErrDigestMismatch) {
		t.Fatalf("pull: %v, want ErrDigestMismatch", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the failed unpack took %v to stop the pull", d)
	}
	if all, _ := snaps.List(ctx); len(all) != 0 {
		t.Fatalf("snapshots kept: %v", all)
	}
}
