package registry_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestChunkedUpload walks an upload through POST, ordered PATCHes with
// Content-Range, a refused out-of-order chunk, a status GET, a streamed
// PATCH and the final PUT, then reads the blob back.
func TestChunkedUpload(t *testing.T) {
	for _, drv := range drivers {
		t.Run(drv.name, func(t *testing.T) {
			base, _ := newServer(t, drv.new(t))
			blob := randomBytes(t, 3<<20+123)
			d := digest.FromBytes(blob)

			r := call{method: "POST", path: "/v2/chunky/blobs/uploads/"}.do(t, base)
			if r.status != 202 || r.header.Get("Range") != "0-0" || r.header.Get("Docker-Upload-UUID") == "" {
				t.Fatalf("POST: %d %v", r.status, r.header)
			}
			loc := r.header.Get("Location")

			patch := func(from, to int, withRange bool) result {
				h := map[string]string{"Content-Type": "application/octet-stream"}
				if withRange {
					h["Content-Range"] = fmt.Sprintf("%d-%d", from, to-1)
				}
				return call{method: "PATCH", path: loc, header: h, body: blob[from:to]}.do(t, base)
			}
			if r = patch(0, 1<<20, true); r.status != 202 || r.header.Get("Range") != fmt.Sprintf("0-%d", 1<<20-1) {
				t.Fatalf("PATCH 1: %d %v %s", r.status, r.header, r.body)
			}
			// A chunk that skips ahead is refused with the current range.
			if r = patch(2<<20, 3<<20, true); r.status != 416 || r.header.Get("Range") != fmt.Sprintf("0-%d", 1<<20-1) {
				t.Fatalf("out of order PATCH: %d %v %s", r.status, r.header, r.body)
			}
			// So is one that repeats what was sent.
			if r = patch(0, 1<<20, true); r.status != 416 {
				t.Fatalf("repeated PATCH: %d %s", r.status, r.body)
			}
			if r = patch(1<<20, 2<<20, true); r.status != 202 {
				t.Fatalf("PATCH 2: %d %s", r.status, r.body)
			}
			r = call{method: "GET", path: loc}.do(t, base)
			if r.status != 204 || r.header.Get("Range") != fmt.Sprintf("0-%d", 2<<20-1) {
				t.Fatalf("status: %d %v", r.status, r.header)
			}
			if r = patch(2<<20, 3<<20, false); r.status != 202 {
				t.Fatalf("streamed PATCH: %d %s", r.status, r.body)
			}
			r = call{method: "PUT", path: loc + "?digest=" + d.String(), body: blob[3<<20:]}.do(t, base)
			if r.status != 201 || r.header.Get("Docker-Content-Digest") != d.String() {
				t.Fatalf("PUT: %d %s", r.status, r.body)
			}
			if r.header.Get("Location") != "/v2/chunky/blobs/"+d.String() {
				t.Errorf("Location %q", r.header.Get("Location"))
			}
			r = call{method: "GET", path: "/v2/chunky/blobs/" + d.String()}.do(t, base)
			if !bytes.Equal(r.body, blob) {
				t.Fatalf("blob differs: %d bytes", len(r.body))
			}
			if r = (call{method: "GET", path: loc}).do(t, base); r.status != 404 || r.errorCode() != "BLOB_UPLOAD_UNKNOWN" {
				t.Fatalf("finished upload still there: %d", r.status)
			}
		})
	}
}

// TestUploadFailures covers a lying Content-Length, a wrong final digest,
// a mismatched Content-Range and DELETE of a session.
func TestUploadFailures(t *testing.T) {
	base, _ := newServer(t, fsDriver(t))
	start := func() string {
		r := call{method: "POST", path: "/v2/fail/blobs/uploads/"}.do(t, base)
		return r.header.Get("Location")
	}
	t.Run("range longer than body", func(t *testing.T) {
		r := call{method: "PATCH", path: start(), header: map[string]string{"Content-Range": "0-99"}, body: []byte("short")}.do(t, base)
		if r.status != 400 || r.errorCode() != "SIZE_INVALID" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("wrong digest at PUT", func(t *testing.T) {
		loc := start()
		r := call{method: "PUT", path: loc + "?digest=" + digest.FromString("x").String(), body: []byte("y")}.do(t, base)
		if r.status != 400 || r.errorCode() != "DIGEST_INVALID" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("PUT without digest", func(t *testing.T) {
		r := call{method: "PUT", path: start(), body: []byte("y")}.do(t, base)
		if r.status != 400 || r.errorCode() != "DIGEST_INVALID" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("garbage Content-Range", func(t *testing.T) {
		r := call{method: "PATCH", path: start(), header: map[string]string{"Content-Range": "five-six"}, body: []byte("y")}.do(t, base)
		if r.status != 416 || r.errorCode() != "BLOB_UPLOAD_INVALID" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		loc := start()
		if r := (call{method: "DELETE", path: loc}).do(t, base); r.status != 204 {
			t.Fatalf("DELETE: %d %s", r.status, r.body)
		}
		if r := (call{method: "DELETE", path: loc}).do(t, base); r.status != 404 || r.errorCode() != "BLOB_UPLOAD_UNKNOWN" {
			t.Fatalf("second DELETE: %d %s", r.status, r.body)
		}
	})
	t.Run("body shorter than Content-Length", func(t *testing.T) {
		loc := start()
		req, _ := http.NewRequest("PATCH", base+loc, strings.NewReader("abc"))
		req.ContentLength = 10 // the client lies; the server must not hang or store junk
		_, err := http.DefaultClient.Do(req)
		if err == nil {
			t.Log("client sent request despite the lie")
		}
		r := call{method: "GET", path: loc}.do(t, base)
		if r.status != 204 {
			t.Fatalf("status after lie: %d", r.status)
		}
	})
}

// TestMount checks a cross-repository mount links the blob (201) and that a
// mount from a repository without it starts an ordinary upload (202).
func TestMount(t *testing.T) {
	base, _ := newServer(t, fsDriver(t))
	d := pushBlob(t, base, "src/repo", []byte("shared layer"))
	r := call{method: "POST", path: "/v2/dst/repo/blobs/uploads/?mount=" + d.String() + "&from=src/repo"}.do(t, base)
	if r.status != 201 || r.header.Get("Docker-Content-Digest") != d.String() {
		t.Fatalf("mount: %d %s", r.status, r.body)
	}
	if r = (call{method: "HEAD", path: "/v2/dst/repo/blobs/" + d.String()}).do(t, base); r.status != 200 {
		t.Fatalf("mounted blob: %d", r.status)
	}
	r = call{method: "POST", path: "/v2/dst/other/blobs/uploads/?mount=" + d.String() + "&from=no/such"}.do(t, base)
	if r.status != 202 || r.header.Get("Docker-Upload-UUID") == "" {
		t.Fatalf("mount fallback: %d %s", r.status, r.body)
	}
}

// TestBlobRanges checks HEAD headers and single Range GETs.
func TestBlobRanges(t *testing.T) {
	base, _ := newServer(t, fsDriver(t))
	blob := randomBytes(t, 10000)
	d := pushBlob(t, base, "ranges", blob)
	r := call{method: "HEAD", path: "/v2/ranges/blobs/" + d.String()}.do(t, base)
	if r.status != 200 || r.header.Get("Content-Length") != "10000" || r.header.Get("Docker-Content-Digest") != d.String() ||
		r.header.Get("ETag") != `"`+d.String()+`"` || len(r.body) != 0 {
		t.Fatalf("HEAD: %d %v", r.status, r.header)
	}
	for _, tc := range []struct {
		rng      string
		status   int
		from, to int
	}{
		{"bytes=0-99", 206, 0, 100},
		{"bytes=9990-", 206, 9990, 10000},
		{"bytes=-10", 206, 9990, 10000},
		{"bytes=20000-30000", 416, 0, 0},
	} {
		r := call{method: "GET", path: "/v2/ranges/blobs/" + d.String(), header: map[string]string{"Range": tc.rng}}.do(t, base)
		if r.status != tc.status {
			t.Fatalf("%s: %d", tc.rng, r.status)
		}
		if tc.status == 206 && !bytes.Equal(r.body, blob[tc.from:tc.to]) {
			t.Fatalf("%s: wrong bytes", tc.rng)
		}
	}
}
