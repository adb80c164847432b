package image_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/berthhq/berth/registry"
	"github.com/berthhq/berth/registry/client"
	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver/inmemory"
	"github.com/berthhq/berth/storage/layout"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
)

// registry/client satisfies every interface the service declares.
var _ image.Remote = (*client.Client)(nil)

// request is one request a test server saw.
type request struct {
	method, path, query, rangeHdr string
	sent                          int64 // response body bytes written
}

// recorder keeps the requests a server saw.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (r *recorder) add(q request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, q)
}

// all returns the requests seen so far.
func (r *recorder) all() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.reqs...)
}

// count returns how many requests match method and contain substr in
// their path or query.
func (r *recorder) count(method, substr string) int {
	n := 0
	for _, q := range r.all() {
		if q.method == method && (strings.Contains(q.path, substr) || strings.Contains(q.query, substr)) {
			n++
		}
	}
	return n
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// countingWriter counts the body bytes a handler writes.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// recording wraps h so rec sees every request and how much was sent.
func recording(rec *recorder, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		defer func() {
			rec.add(request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Range"), cw.n})
		}()
		h.ServeHTTP(cw, r)
	})
}

// testRegistry is Berth's registry API over an in-memory store.
type testRegistry struct {
	host string // 127.0.0.1:port
	rec  *recorder
}

func newRegistry(t *testing.T) *testRegistry {
	t.Helper()
	store, err := storage.New(inmemory.New())
	if err != nil {
		t.Fatal(err)
	}
	h, err := registry.New(store, registry.WithDeleteEnabled(true))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := httptest.NewServer(recording(rec, h))
	t.Cleanup(srv.Close)
	return &testRegistry{host: strings.TrimPrefix(srv.URL, "http://"), rec: rec}
}

// fault changes a response: it gets the request and the writer to wrap.
type fault func(r *http.Request, w http.ResponseWriter) http.ResponseWriter

// newProxy starts a reverse proxy to reg that applies fault (when not nil)
// to each response and records requests.
func newProxy(t *testing.T, reg *testRegistry, f fault) *testRegistry {
	t.Helper()
	u, _ := url.Parse("http://" + reg.host)
	rp := httputil.NewSingleHostReverseProxy(u)
	rec := &recorder{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f != nil {
			w = f(r, w)
		}
		rp.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(recording(rec, h))
	t.Cleanup(srv.Close)
	return &testRegistry{host: strings.TrimPrefix(srv.URL, "http://"), rec: rec}
}

// isBlobGet reports whether r downloads blob d.
func isBlobGet(r *http.Request, d digest.Digest) bool {
	return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+d.String())
}

// cutWriter sends the first limit bytes of the body, then drops the
// connection.
type cutWriter struct {
	http.ResponseWriter
	limit, n int64
}

func (w *cutWriter) Write(p []byte) (int, error) {
	if w.n+int64(len(p)) > w.limit {
		p = p[:w.limit-w.n]
		n, _ := w.ResponseWriter.Write(p)
		w.n += int64(n)
		w.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *cutWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// flipWriter flips one bit of the body byte at offset at.
type flipWriter struct {
	http.ResponseWriter
	at, n int64
}

func (w *flipWriter) Write(p []byte) (int, error) {
	if w.at >= w.n && w.at < w.n+int64(len(p)) {
		p = append([]byte(nil), p...)
		p[w.at-w.n] ^= 0x01
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func (w *flipWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// newClient returns a registry client for reg.
func newClient(t *testing.T, reg *testRegistry) *client.Client {
	t.Helper()
	c, err := client.New(reg.host)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newService returns an image service over a fresh layout.
func newService(t *testing.T) *image.Service {
	t.Helper()
	return newServiceAt(t, t.TempDir())
}

// newServiceAt returns an image service over a layout at dir.
func newServiceAt(t *testing.T, dir string) *image.Service {
	t.Helper()
	l, err := layout.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := image.New(l)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate runs the store's invariant check.
func validate(t *testing.T, s *image.Service) {
	t.Helper()
	if err := s.Store().Validate(context.Background()); err != nil {
		t.Fatalf("store invalid: %v", err)
	}
}

// pushImage writes a random image to reg as repo:tag with ggcr and
// returns it.
func pushImage(t *testing.T, reg *testRegistry, ref string, size, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	writeImage(t, reg, ref, img)
	return img
}

// writeImage writes img to reg as ref with ggcr.
func writeImage(t *testing.T, reg *testRegistry, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(reg.host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

// pushIndex writes an index of one random image per platform to reg.
func pushIndex(t *testing.T, reg *testRegistry, ref string, platforms ...v1.Platform) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	imgs := map[string]v1.Image{}
	for _, p := range platforms {
		img, err := random.Image(2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		cfg = cfg.DeepCopy()
		cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
		if img, err = mutate.ConfigFile(img, cfg); err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
		imgs[p.String()] = img
	}
	r, err := name.ParseReference(reg.host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	return idx, imgs
}

// digestOf returns a ggcr object's digest as a go-digest.
func digestOf(t *testing.T, v interface{ Digest() (v1.Hash, error) }) digest.Digest {
	t.Helper()
	h, err := v.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return digest.Digest(h.String())
}

// layerDigests returns img's layer digests.
func layerDigests(t *testing.T, img v1.Image) []digest.Digest {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []digest.Digest
	for _, l := range m.Layers {
		out = append(out, digest.Digest(l.Digest.String()))
	}
	return out
}

// events collects progress events.
type events struct {
	mu  sync.Mutex
	all []image.Event
}

func (e *events) add(ev image.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

// statuses returns the statuses reported for d, without repeats in a row.
func (e *events) statuses(d digest.Digest) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.Digest != d {
			continue
		}
		s := ev.Status.String()
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	return out
}

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, ev := range e.all {
		fmt.Fprintf(&b, "%s %d/%d\n", ev, ev.Current, ev.Total)
	}
	return b.String()
}
