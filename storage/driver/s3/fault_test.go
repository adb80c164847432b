package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/s3test"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/s3"
)

// The tests here put a faultProxy between the driver and a real S3 server:
// failures that pass are absorbed by the SDK's retries, failures that
// last reach the caller as driver.ErrUnavailable, and a write that fails
// leaves nothing half-written.

// faultEnv is a driver through a faulting proxy and a direct one on the
// same root, to see what S3 really holds.
type faultEnv struct {
	b      s3test.Bucket
	root   string
	proxy  *faultProxy
	faulty *s3.Driver
	direct *s3.Driver
}

func newFaultEnv(t *testing.T, b s3test.Bucket, mutate ...func(*s3.Config)) *faultEnv {
	t.Helper()
	root := "/fault/" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	p := newFaultProxy(t, b.Endpoint)
	// Short backoffs: the tests count attempts, not seconds.
	through := append([]func(*s3.Config){func(c *s3.Config) { c.RegionEndpoint, c.MaxBackoff = p.URL, 20*time.Millisecond }}, mutate...)
	return &faultEnv{b: b, root: root, proxy: p, faulty: newDriver(t, b, root, through...), direct: newDriver(t, b, root)}
}

// objectFile is where versitygw's posix backend keeps the object at p.
func (e *faultEnv) objectFile(p string) string {
	return filepath.Join(e.b.Dir, e.b.Name, filepath.FromSlash(strings.TrimPrefix(e.root, "/")), filepath.FromSlash(p))
}

func randomData(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// writeAll writes data through a new Writer on d and commits it.
func writeAll(ctx context.Context, d driver.Driver, p string, data []byte) error {
	w, err := d.Writer(ctx, p, false)
	if err != nil {
		return err
	}
	defer w.Close()
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Commit(ctx)
}

// TestTransientFaults fails the first requests of each operation with
// throttling, a 500 and a dropped connection: the SDK's retries absorb
// them and the operation succeeds with the right content.
func TestTransientFaults(t *testing.T) {
	t.Parallel()
	b := s3test.New(t)
	faults := firstN(slowDown, internal, drop)
	ops := []struct {
		name string
		run  func(t *testing.T, e *faultEnv)
	}{
		{"PutContent", func(t *testing.T, e *faultEnv) {
			data := randomData(t, 1000)
			e.proxy.set(faults)
			if err := e.faulty.PutContent(t.Context(), "/a/put", data); err != nil {
				t.Fatalf("PutContent: %v", err)
			}
			if got, err := e.direct.GetContent(t.Context(), "/a/put"); err != nil || !bytes.Equal(got, data) {
				t.Errorf("stored %d bytes, %v; want the %d put", len(got), err, len(data))
			}
		}},
		{"GetContent", func(t *testing.T, e *faultEnv) {
			data := randomData(t, 1000)
			if err := e.direct.PutContent(t.Context(), "/a/get", data); err != nil {
				t.Fatal(err)
			}
			e.proxy.set(faults)
			if got, err := e.faulty.GetContent(t.Context(), "/a/get"); err != nil || !bytes.Equal(got, data) {
				t.Errorf("GetContent: %d bytes, %v; want the %d put", len(got), err, len(data))
			}
		}},
		{"Reader", func(t *testing.T, e *faultEnv) {
			data := randomData(t, 1000)
			if err := e.direct.PutContent(t.Context(), "/a/read", data); err != nil {
				t.Fatal(err)
			}
			e.proxy.set(faults)
			r, err := e.faulty.Reader(t.Context(), "/a/read", 10)
			if err != nil {
				t.Fatalf("Reader: %v", err)
			}
			defer r.Close()
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data[10:]) {
				t.Errorf("read %d bytes, %v", len(got), err)
			}
		}},
		{"multipart Writer", func(t *testing.T, e *faultEnv) {
			data := randomData(t, 2*s3.MinChunkSize+12345)
			e.proxy.set(faults)
			if err := writeAll(t.Context(), e.faulty, "/a/multipart", data); err != nil {
				t.Fatalf("write and commit: %v", err)
			}
			r, err := e.direct.Reader(t.Context(), "/a/multipart", 0)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
				t.Errorf("stored %d bytes, %v; want the %d written", len(got), err, len(data))
			}
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			e := newFaultEnv(t, b)
			op.run(t, e)
			if n := e.proxy.failures(); n != 3 {
				t.Errorf("the proxy failed %d requests, want 3", n)
			}
		})
	}
}

// TestPersistentFaults fails every request: each operation returns an
// error wrapping driver.ErrUnavailable (never ErrNotFound) after exactly
// MaxAttempts tries, promptly.
func TestPersistentFaults(t *testing.T) {
	t.Parallel()
	b := s3test.New(t)
	const attempts = 2
	ops := []struct {
		name     string
		requests int // requests one call makes when every one fails; 0: not checked
		run      func(ctx context.Context, d driver.Driver) error
	}{
		{"PutContent", 1, func(ctx context.Context, d driver.Driver) error { return d.PutContent(ctx, "/x/put", []byte("x")) }},
		{"GetContent", 1, func(ctx context.Context, d driver.Driver) error { _, err := d.GetContent(ctx, "/x/get"); return err }},
		{"Reader", 1, func(ctx context.Context, d driver.Driver) error {
			r, err := d.Reader(ctx, "/x/get", 0)
			if err == nil {
				r.Close()
			}
			return err
		}},
		{"Stat", 0, func(ctx context.Context, d driver.Driver) error { _, err := d.Stat(ctx, "/x/get"); return err }},
		{"List", 0, func(ctx context.Context, d driver.Driver) error { _, err := d.List(ctx, "/x"); return err }},
		{"Walk", 0, func(ctx context.Context, d driver.Driver) error {
			return d.Walk(ctx, "/x", func(driver.FileInfo) error { return nil })
		}},
		{"Move", 0, func(ctx context.Context, d driver.Driver) error { return d.Move(ctx, "/x/get", "/x/moved") }},
		{"Delete", 0, func(ctx context.Context, d driver.Driver) error { return d.Delete(ctx, "/x/get") }},
		{"Writer", 0, func(ctx context.Context, d driver.Driver) error {
			return writeAll(ctx, d, "/x/new", []byte("small"))
		}},
	}
	for _, f := range []fault{slowDown, internal, drop, hang} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			e := newFaultEnv(t, b, func(c *s3.Config) {
				c.MaxAttempts = attempts
				c.RequestTimeout = 500 * time.Millisecond
			})
			if err := e.direct.PutContent(t.Context(), "/x/get", []byte("stored before")); err != nil {
				t.Fatal(err)
			}
			for _, op := range ops {
				e.proxy.set(always(f))
				start := time.Now()
				err := op.run(t.Context(), e.faulty)
				elapsed := time.Since(start)
				switch {
				case !errors.Is(err, driver.ErrUnavailable):
					t.Errorf("%s: %v; want an error wrapping ErrUnavailable", op.name, err)
				case errors.Is(err, driver.ErrNotFound):
					t.Errorf("%s: %v also wraps ErrNotFound", op.name, err)
				}
				if elapsed > 10*time.Second {
					t.Errorf("%s took %v to fail", op.name, elapsed)
				}
				if reqs := e.proxy.requests(); op.requests > 0 && len(reqs) != op.requests*attempts {
					t.Errorf("%s: the proxy saw %d requests, want %d (MaxAttempts %d): %q", op.name, len(reqs), op.requests*attempts, attempts, reqs)
				}
			}
			e.proxy.set(always(pass))
			if got, err := e.faulty.GetContent(t.Context(), "/x/get"); err != nil || string(got) != "stored before" {
				t.Errorf("after S3 recovered: %q, %v", got, err)
			}
			for _, p := range []string{"/x/put", "/x/moved", "/x/new"} {
				if _, err := e.direct.Stat(t.Context(), p); !errors.Is(err, driver.ErrNotFound) {
					t.Errorf("Stat %s after failed writes: %v; want ErrNotFound", p, err)
				}
			}
		})
	}
}

// TestFailedMultipartWrite fails every part upload (or the completion):
// Commit (or Close) fails with ErrUnavailable, and S3 holds exactly what it
// held before: no object at the key, the previous pending state of an
// appended object.
func TestFailedMultipartWrite(t *testing.T) {
	t.Parallel()
	b := s3test.New(t)
	failParts := func(_ int, r *http.Request) fault {
		if isUploadPart(r) {
			return internal
		}
		return pass
	}
	failComplete := func(_ int, r *http.Request) fault {
		if r.Method == http.MethodPost && r.URL.Query().Has("uploadId") {
			return internal
		}
		return pass
	}
	t.Run("new object", func(t *testing.T) {
		e := newFaultEnv(t, b, func(c *s3.Config) { c.MaxAttempts = 2 })
		const p = "/blobs/new/data"
		e.proxy.set(failParts)
		err := writeAll(t.Context(), e.faulty, p, randomData(t, 2*s3.MinChunkSize+100))
		if !errors.Is(err, driver.ErrUnavailable) {
			t.Fatalf("write and commit: %v; want ErrUnavailable", err)
		}
		e.assertNothingAt(t, p)
	})
	for name, decide := range map[string]func(int, *http.Request) fault{"last part": failParts, "complete": failComplete} {
		t.Run("commit fails on "+name, func(t *testing.T) {
			e := newFaultEnv(t, b, func(c *s3.Config) { c.MaxAttempts = 2 })
			const p = "/blobs/commit/data"
			w, err := e.faulty.Writer(t.Context(), p, false)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.Write(randomData(t, s3.MinChunkSize+100)); err != nil {
				t.Fatal(err)
			}
			e.proxy.set(decide)
			if err := w.Commit(t.Context()); !errors.Is(err, driver.ErrUnavailable) {
				t.Fatalf("Commit: %v; want ErrUnavailable", err)
			}
			if e.proxy.failures() == 0 {
				t.Fatal("the proxy failed no request")
			}
			e.assertNothingAt(t, p)
		})
	}
	t.Run("append", func(t *testing.T) {
		e := newFaultEnv(t, b, func(c *s3.Config) { c.MaxAttempts = 2 })
		const p = "/uploads/u1/data"
		first := randomData(t, s3.MinChunkSize+1000)
		w, err := e.direct.Writer(t.Context(), p, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(first); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}

		e.proxy.set(failParts)
		w, err = e.faulty.Writer(t.Context(), p, true)
		if err != nil {
			t.Fatalf("appending Writer: %v", err)
		}
		_, werr := w.Write(randomData(t, 2*s3.MinChunkSize))
		cerr := w.Close()
		if !errors.Is(errors.Join(werr, cerr), driver.ErrUnavailable) {
			t.Fatalf("Write: %v, Close: %v; want ErrUnavailable", werr, cerr)
		}
		if fi, err := e.direct.Stat(t.Context(), p); err != nil || fi.Size() != int64(len(first)) {
			t.Errorf("Stat after the failed append: %v, %v; want the %d bytes of before", fi, err, len(first))
		}
		if _, err := os.Stat(e.objectFile(p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("S3 holds a committed object at %s: %v", p, err)
		}

		// The pending object is what it was before the failed append: a
		// new Writer continues from the first bytes, and the result is
		// exactly first + rest.
		e.proxy.set(always(pass))
		w, err = e.faulty.Writer(t.Context(), p, true)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if w.Size() != int64(len(first)) {
			t.Fatalf("after the failed append the object has %d bytes, want %d", w.Size(), len(first))
		}
		rest := randomData(t, s3.MinChunkSize+7)
		if _, err := w.Write(rest); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		got, err := e.direct.GetContent(t.Context(), p)
		if err != nil || !bytes.Equal(got, append(first, rest...)) {
			t.Errorf("committed %d bytes, %v; want first + rest (%d)", len(got), err, len(first)+len(rest))
		}
	})
	t.Run("abandoned multipart uploads are purged", func(t *testing.T) {
		e := newFaultEnv(t, b, func(c *s3.Config) { c.MaxAttempts = 2 })
		e.proxy.set(failParts)
		if err := writeAll(t.Context(), e.faulty, "/blobs/purge/data", randomData(t, 2*s3.MinChunkSize)); err == nil {
			t.Fatal("write succeeded through failing parts")
		}
		n, err := e.direct.PurgeWrites(t.Context(), time.Now().Add(time.Hour))
		if err != nil || n < 1 {
			t.Errorf("PurgeWrites = %d, %v; want the failed write's upload aborted", n, err)
		}
	})
}

// assertNothingAt checks that no object is visible at p, through the driver
// and in the S3 server's own storage.
func (e *faultEnv) assertNothingAt(t *testing.T, p string) {
	t.Helper()
	if fi, err := e.direct.Stat(t.Context(), p); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Stat %s: %v, %v; want ErrNotFound", p, fi, err)
	}
	if _, err := e.direct.GetContent(t.Context(), p); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("GetContent %s: %v; want ErrNotFound", p, err)
	}
	if _, err := os.Stat(e.objectFile(p)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("S3 holds an object at %s: %v", p, err)
	}
}
