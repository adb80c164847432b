package registry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/internal/s3test"
	"github.com/berthhq/berth/registry"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/inmemory"
	"github.com/berthhq/berth/storage/driver/s3"
	"github.com/opencontainers/go-digest"
)

func s3Driver(t *testing.T) driver.Driver {
	t.Helper()
	b := s3test.New(t)
	d, err := s3.New(context.Background(), s3.Config{
		Bucket: b.Name, RegionEndpoint: b.Endpoint, Region: s3test.Region, ForcePathStyle: true,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// noFollow is a client that returns redirects instead of following them.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, c *http.Client, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestBlobRedirect checks that with WithBlobRedirect a blob GET on S3 is a
// 307 to a presigned URL a plain client follows to the right bytes, that a
// HEAD and unknown blobs are answered by the registry itself, and that
// without the option the GET streams.
func TestBlobRedirect(t *testing.T) {
	d := s3Driver(t)
	redirecting, _ := newServer(t, d, registry.WithBlobRedirect(20*time.Minute))
	streaming, _ := newServer(t, d)
	layer := randomBytes(t, 6<<20+123)
	dg := pushBlob(t, redirecting, "team/app", layer)
	url := "/v2/team/app/blobs/" + dg.String()

	resp, _ := get(t, noFollow, redirecting+url, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(loc, "X-Amz-Signature=") {
		t.Fatalf("GET: %s, Location %q; want 307 to a presigned URL", resp.Status, loc)
	}
	if strings.HasPrefix(loc, redirecting) {
		t.Errorf("Location %q points at the registry", loc)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != dg.String() {
		t.Errorf("Docker-Content-Digest %q", got)
	}

	resp, body := get(t, http.DefaultClient, redirecting+url, nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, layer) || digest.FromBytes(body) != dg {
		t.Errorf("following the redirect: %s, %d bytes, digest %s; want 200, %d bytes, %s",
			resp.Status, len(body), digest.FromBytes(body), len(layer), dg)
	}
	resp, body = get(t, http.DefaultClient, redirecting+url, map[string]string{"Range": "bytes=10-19"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, layer[10:20]) {
		t.Errorf("ranged GET through the redirect: %s, %q", resp.Status, body)
	}

	head := call{method: "HEAD", path: url}.do(t, redirecting)
	if head.status != http.StatusOK || head.header.Get("Content-Length") != itoa(len(layer)) {
		t.Errorf("HEAD: %d, Content-Length %q; want 200 from the registry", head.status, head.header.Get("Content-Length"))
	}
	unknown := call{method: "GET", path: "/v2/team/app/blobs/" + digest.FromString("nope").String()}.do(t, redirecting)
	if unknown.status != http.StatusNotFound || unknown.errorCode() != "BLOB_UNKNOWN" {
		t.Errorf("unknown blob: %d %s; want 404 BLOB_UNKNOWN, no redirect", unknown.status, unknown.body)
	}
	other := call{method: "GET", path: "/v2/other/app/blobs/" + dg.String()}.do(t, redirecting)
	if other.status != http.StatusNotFound {
		t.Errorf("blob of another repository: %d; want 404, no redirect", other.status)
	}

	resp, body = get(t, noFollow, streaming+url, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" || !bytes.Equal(body, layer) {
		t.Errorf("without the option: %s, Location %q, %d bytes; want 200 streamed", resp.Status, resp.Header.Get("Location"), len(body))
	}
}

// TestBlobRedirectUnsupported checks that a driver without URLs streams
// even with the option.
func TestBlobRedirectUnsupported(t *testing.T) {
	base, _ := newServer(t, inmemory.New(), registry.WithBlobRedirect(time.Minute))
	layer := randomBytes(t, 1000)
	dg := pushBlob(t, base, "app", layer)
	resp, body := get(t, noFollow, base+"/v2/app/blobs/"+dg.String(), nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, layer) {
		t.Errorf("GET: %s, %d bytes; want 200 streamed", resp.Status, len(body))
	}
}

// TestBlobRedirectNeedsPull checks that a client without pull access gets
// the 401 challenge, never a URL, and one with it gets the redirect.
func TestBlobRedirectNeedsPull(t *testing.T) {
	z := &fakeAuthorizer{tokens: map[string][]auth.Access{
		"pusher": {repoGrant("app", "pull", "push")},
		"other":  {repoGrant("elsewhere", "pull")},
	}}
	base, _ := newServer(t, s3Driver(t), registry.WithAuthorizer(z), registry.WithBlobRedirect(20*time.Minute))
	pusher := map[string]string{"Authorization": "Bearer pusher"}
	dg := pushBlobAs(t, base, "app", randomBytes(t, 1000), pusher)
	url := base + "/v2/app/blobs/" + dg.String()
	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"anonymous", nil},
		{"bad token", map[string]string{"Authorization": "Bearer forged"}},
		{"no pull on this repository", map[string]string{"Authorization": "Bearer other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := get(t, noFollow, url, tc.hdr)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
				t.Errorf("%s, Location %q; want 401 without a Location", resp.Status, resp.Header.Get("Location"))
			}
			if bytes.Contains(body, []byte("X-Amz")) {
				t.Errorf("body %s holds a presigned URL", body)
			}
		})
	}
	resp, _ := get(t, noFollow, url, pusher)
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("with pull access: %s, want 307", resp.Status)
	}
}
