package registry_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/berthhq/berth/internal/s3test"
	"github.com/berthhq/berth/storage/driver/s3"
)

// TestS3Outage runs the registry on a real S3 server behind a proxy that
// can take S3 down (503 SlowDown to every request): while it is down blob
// GETs and manifest PUTs answer 503 UNAVAILABLE with the spec's envelope;
// once it is back everything pushed before reads back whole and pushes
// work again.
func TestS3Outage(t *testing.T) {
	b := s3test.New(t)
	target, err := url.Parse(b.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // covered by the signature
	}}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	d, err := s3.New(context.Background(), s3.Config{
		Bucket: b.Name, RegionEndpoint: proxy.URL, Region: s3test.Region, ForcePathStyle: true,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, MaxAttempts: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	base, _ := newServer(t, d)
	img := pushImage(t, base, "app", "v1")
	layer := call{method: "GET", path: "/v2/app/blobs/" + img.layer.String()}.do(t, base).body
	oci := map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}

	down.Store(true)
	for _, c := range []call{
		{method: "GET", path: "/v2/app/blobs/" + img.layer.String()},
		{method: "PUT", path: "/v2/app/manifests/v2", header: oci, body: img.manifest},
	} {
		r := c.do(t, base)
		if r.status != http.StatusServiceUnavailable || r.errorCode() != "UNAVAILABLE" ||
			r.header.Get("Content-Type") != "application/json" || r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s while S3 is down: %d %s %s, Retry-After %q; want 503 UNAVAILABLE JSON",
				c.method, c.path, r.status, r.header.Get("Content-Type"), r.body, r.header.Get("Retry-After"))
		}
	}

	down.Store(false)
	if r := (call{method: "GET", path: "/v2/app/blobs/" + img.layer.String()}).do(t, base); r.status != http.StatusOK || !bytes.Equal(r.body, layer) {
		t.Errorf("blob after recovery: %d, %d bytes", r.status, len(r.body))
	}
	if r := (call{method: "GET", path: "/v2/app/manifests/v1", header: map[string]string{"Accept": oci["Content-Type"]}}).do(t, base); r.status != http.StatusOK || !bytes.Equal(r.body, img.manifest) {
		t.Errorf("manifest after recovery: %d %s", r.status, r.body)
	}
	if r := (call{method: "GET", path: "/v2/app/manifests/v2"}).do(t, base); r.status != http.StatusNotFound {
		t.Errorf("v2, put while S3 was down: %d; want 404", r.status)
	}
	if r := (call{method: "PUT", path: "/v2/app/manifests/v2", header: oci, body: img.manifest}).do(t, base); r.status != http.StatusCreated {
		t.Errorf("manifest PUT after recovery: %d %s", r.status, r.body)
	}
	pushImage(t, base, "app", "v3")
}
