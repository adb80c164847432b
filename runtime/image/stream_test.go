package image_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/image"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// holdWriter sends the first limit bytes of the body, then calls hold
// once before sending the rest.
type holdWriter struct {
	http.ResponseWriter
	limit, n int64
	hold     func()
	held     bool
}

func (w *holdWriter) Write(p []byte) (int, error) {
	if !w.held && w.n+int64(len(p)) > w.limit {
		k := w.limit - w.n
		n, err := w.ResponseWriter.Write(p[:k])
		w.n += int64(n)
		if err != nil {
			return n, err
		}
		w.ResponseWriter.(http.Flusher).Flush()
		w.held = true
		w.hold()
		m, err := w.ResponseWriter.Write(p[k:])
		w.n += int64(m)
		return n + m, err
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *holdWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// bigFiles is a layer of two 1 MiB files of random (incompressible)
// bytes, first then second.
func bigFiles(t *testing.T) [][2]string {
	t.Helper()
	var files [][2]string
	for _, name := range []string{"first", "second"} {
		b := make([]byte, 1<<20)
		_, _ = rand.Read(b)
		files = append(files, [2]string{name, string(b)})
	}
	return files
}

// TestPullUnpackStreams shows a layer unpacks while its own blob
// downloads: the proxy holds the blob's second half back until the first
// file of the layer is in the snapshot being prepared.
func TestPullUnpackStreams(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := newRegistry(t)
	img, err := mutate.AppendLayers(empty.Image, fileLayer(t, bigFiles(t)...))
	if err != nil {
		t.Fatal(err)
	}
	writeImage(t, reg, "team/stream:v1", img)
	layer := layerDigests(t, img)[0]
	snaps := newSnapshots(t)
	var streamed atomic.Bool
	proxy := newProxy(t, reg, func(r *http.Request, w http.ResponseWriter) http.ResponseWriter {
		if !isBlobGet(r, layer) {
			return w
		}
		return &holdWriter{ResponseWriter: w, limit: 3 << 19, hold: func() {
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
				if m, _ := filepath.Glob(filepath.Join(snaps.Root(), ".tmp-*", "fs", "first")); len(m) > 0 {
					streamed.Store(true)
					return
				}
			}
		}}
	})
	if _, err := newService(t).Pull(ctx, newClient(t, proxy), proxy.host+"/team/stream:v1", image.WithUnpack(snaps)); err != nil {
		t.Fatal(err)
	}
	if !streamed.Load() {
		t.Fatal("the layer's first file was not unpacked before its blob finished downloading")
	}
	checkUnpacked(t, snaps.Root(), chainOf(t, img)[len(chainOf(t, img))-1].Encoded(), "first", "second")
}

// TestPullUnpackStreamCut: when a layer's download breaks off mid-way,
// its streamed unpack is dropped and the layer is unpacked from the store
// once the resumed download completes.
func TestPullUnpackStreamCut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reg := newRegistry(t)
	img, err := mutate.AppendLayers(empty.Image, fileLayer(t, bigFiles(t)...))
	if err != nil {
		t.Fatal(err)
	}
	writeImage(t, reg, "team/cut:v1", img)
	layer := layerDigests(t, img)[0]
	snaps := newSnapshots(t)
	var cut atomic.Bool
	proxy := newProxy(t, reg, func(r *http.Request, w http.ResponseWriter) http.ResponseWriter {
		if isBlobGet(r, layer) && cut.CompareAndSwap(false, true) {
			return &cutWriter{ResponseWriter: w, limit: 3 << 19}
		}
		return w
	})
	if _, err := newService(t).Pull(ctx, newClient(t, proxy), proxy.host+"/team/cut:v1", image.WithUnpack(snaps)); err != nil {
		t.Fatal(err)
	}
	if !cut.Load() {
		t.Fatal("the download was never cut")
	}
	chain := chainOf(t, img)
	checkUnpacked(t, snaps.Root(), chain[len(chain)-1].Encoded(), "first", "second")
}

// checkUnpacked checks snapshot hex holds the 1 MiB files and that
// nothing else is left in the snapshot root.
func checkUnpacked(t *testing.T, root, hex string, files ...string) {
	t.Helper()
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(root, hex, "fs", f))
		if err != nil || fi.Size() != 1<<20 {
			t.Errorf("%s: %v, %v", f, fi, err)
		}
	}
	ents, _ := os.ReadDir(root)
	if len(ents) != 1 {
		t.Errorf("snapshot root holds %d entries, want 1: %v", len(ents), ents)
	}
}
