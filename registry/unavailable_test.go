package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/berthhq/berth/registry"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/inmemory"
)

// downDriver is a driver that fails every call with an error wrapping
// driver.ErrUnavailable while down is set, as the s3 driver does when S3
// keeps failing after its retries.
type downDriver struct {
	driver.Driver
	down atomic.Bool
}

func (d *downDriver) fail(op, p string) error {
	if !d.down.Load() {
		return nil
	}
	return &driver.PathError{Op: op, Path: p, Driver: "down", Err: driver.ErrUnavailable}
}

func (d *downDriver) GetContent(ctx context.Context, p string) ([]byte, error) {
	if err := d.fail("get", p); err != nil {
		return nil, err
	}
	return d.Driver.GetContent(ctx, p)
}

func (d *downDriver) PutContent(ctx context.Context, p string, b []byte) error {
	if err := d.fail("put", p); err != nil {
		return err
	}
	return d.Driver.PutContent(ctx, p, b)
}

func (d *downDriver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	if err := d.fail("read", p); err != nil {
		return nil, err
	}
	return d.Driver.Reader(ctx, p, offset)
}

func (d *downDriver) Writer(ctx context.Context, p string, append bool) (driver.FileWriter, error) {
	if err := d.fail("write", p); err != nil {
		return nil, err
	}
	return d.Driver.Writer(ctx, p, append)
}

func (d *downDriver) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	if err := d.fail("stat", p); err != nil {
		return nil, err
	}
	return d.Driver.Stat(ctx, p)
}

func (d *downDriver) List(ctx context.Context, p string) ([]string, error) {
	if err := d.fail("list", p); err != nil {
		return nil, err
	}
	return d.Driver.List(ctx, p)
}

func (d *downDriver) Move(ctx context.Context, src, dst string) error {
	if err := d.fail("move", src); err != nil {
		return err
	}
	return d.Driver.Move(ctx, src, dst)
}

func (d *downDriver) Delete(ctx context.Context, p string) error {
	if err := d.fail("delete", p); err != nil {
		return err
	}
	return d.Driver.Delete(ctx, p)
}

func (d *downDriver) Walk(ctx context.Context, p string, fn driver.WalkFn) error {
	if err := d.fail("walk", p); err != nil {
		return err
	}
	return d.Driver.Walk(ctx, p, fn)
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStorageUnavailable checks that every kind of request answers 503
// UNAVAILABLE with Retry-After and the spec's envelope while the backend
// is down, logs a warning naming the operation, and that everything pushed
// before reads back whole once the backend is back.
func TestStorageUnavailable(t *testing.T) {
	d := &downDriver{Driver: inmemory.New()}
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	base, _ := newServer(t, d, registry.WithLogger(log), registry.WithDeleteEnabled(true))
	img := pushImage(t, base, "app", "v1")
	layer := call{method: "GET", path: "/v2/app/blobs/" + img.layer.String()}.do(t, base).body
	oci := map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}

	d.down.Store(true)
	cases := []struct {
		name string
		call call
		op   string
	}{
		{"blob GET", call{method: "GET", path: "/v2/app/blobs/" + img.layer.String()}, "GET /v2/{name}/blobs/{digest}"},
		{"blob HEAD", call{method: "HEAD", path: "/v2/app/blobs/" + img.layer.String()}, "HEAD /v2/{name}/blobs/{digest}"},
		{"manifest GET", call{method: "GET", path: "/v2/app/manifests/v1"}, "GET /v2/{name}/manifests/{reference}"},
		{"manifest PUT", call{method: "PUT", path: "/v2/app/manifests/v2", header: oci, body: img.manifest}, "PUT /v2/{name}/manifests/{reference}"},
		{"monolithic upload", call{method: "POST", path: "/v2/app/blobs/uploads/?digest=" + img.config.String(), body: []byte("x")}, "POST /v2/{name}/blobs/uploads/"},
		{"upload start", call{method: "POST", path: "/v2/app/blobs/uploads/"}, "POST /v2/{name}/blobs/uploads/"},
		{"tags", call{method: "GET", path: "/v2/app/tags/list"}, "GET /v2/{name}/tags/list"},
		{"catalog", call{method: "GET", path: "/v2/_catalog"}, "GET /v2/_catalog"},
		{"delete", call{method: "DELETE", path: "/v2/app/manifests/" + img.digest.String()}, "DELETE /v2/{name}/manifests/{reference}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.call.do(t, base)
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("status %d (%s), want 503", r.status, r.body)
			}
			if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 5 {
				t.Errorf("Retry-After %q, want 1 to 5 seconds", r.header.Get("Retry-After"))
			}
			if tc.call.method == http.MethodHead {
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if r.errorCode() != "UNAVAILABLE" {
				t.Errorf("body %s, want code UNAVAILABLE", r.body)
			}
			if bytes.Contains(r.body, []byte("/docker/registry")) {
				t.Errorf("body %s shows a storage path", r.body)
			}
			if !strings.Contains(logs.String(), `"op":"`+tc.op+`"`) {
				t.Errorf("no warning with op %q in the log:\n%s", tc.op, logs.String())
			}
		})
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] != "WARN" || rec["msg"] != "storage unavailable" {
			t.Errorf("log record %v, want a warning", rec)
		}
	}

	d.down.Store(false)
	if r := (call{method: "GET", path: "/v2/app/blobs/" + img.layer.String()}).do(t, base); r.status != http.StatusOK || !bytes.Equal(r.body, layer) {
		t.Errorf("blob after recovery: %d, %d bytes", r.status, len(r.body))
	}
	if r := (call{method: "GET", path: "/v2/app/manifests/v1", header: map[string]string{"Accept": oci["Content-Type"]}}).do(t, base); r.status != http.StatusOK || !bytes.Equal(r.body, img.manifest) {
		t.Errorf("manifest after recovery: %d %s", r.status, r.body)
	}
	if r := (call{method: "GET", path: "/v2/app/manifests/v2"}).do(t, base); r.status != http.StatusNotFound {
		t.Errorf("manifest PUT while down left v2 behind: %d", r.status)
	}
	pushImage(t, base, "app", "v3")
}
