//go:build e2e

package e2e

import (
	"net/http"
	"strconv"
	"testing"
)

// TestBadUploads sends broken blob uploads through the HTTP API of the
// real binary. Each case checks the error, that nothing half-written
// became visible, and that every previously pushed image still pulls with
// identical digests and blobs.
func TestBadUploads(t *testing.T) {
	t.Parallel()
	reg := startTarget(t)
	a := reg.API(t)
	f := pushFixture(t, reg)
	const repo = "bad/upload"

	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"PUT with the digest of other content", func(t *testing.T) {
			b, other := newBlob(t, 1000), newBlob(t, 1000)
			a.finish(a.startUpload(repo), other.Digest, b.Bytes).expectError(t, http.StatusBadRequest, "DIGEST_INVALID")
			a.expectNoBlob(repo, other.Digest)
			a.expectNoBlob(repo, b.Digest)
		}},
		{"chunked upload closed with a wrong digest", func(t *testing.T) {
			b, other := newBlob(t, 3000), newBlob(t, 10)
			loc := a.patch(a.startUpload(repo), b.Bytes, 0).expect(t, http.StatusAccepted).Header.Get("Location")
			a.finish(loc, other.Digest, nil).expectError(t, http.StatusBadRequest, "DIGEST_INVALID")
			a.expectNoBlob(repo, other.Digest)
			a.expectNoBlob(repo, b.Digest)
		}},
		{"malformed digests", func(t *testing.T) {
			b := newBlob(t, 100)
			hex := b.Digest[len("sha256:"):]
			for _, d := range []string{
				"sha256:xyz",
				"sha256:" + hex[:63],
				"sha256:" + hex + "00",
				"SHA256:" + hex,
				"sha256:" + upper(hex),
				"md5:d41d8cd98f00b204e9800998ecf8427e",
				hex,
				"sha256:../../../../etc/passwd",
			} {
				a.finish(a.startUpload(repo), d, b.Bytes).expectError(t, http.StatusBadRequest, "DIGEST_INVALID")
			}
			a.expectNoBlob(repo, b.Digest)
		}},
		{"PUT without a digest", func(t *testing.T) {
			b := newBlob(t, 100)
			loc := a.startUpload(repo)
			a.do("PUT", loc, hdr{"Content-Type", "application/octet-stream"}, b.Bytes).
				expectError(t, http.StatusBadRequest, "DIGEST_INVALID")
			a.expectNoBlob(repo, b.Digest)
		}},
		{"monolithic POST with a wrong digest", func(t *testing.T) {
			b, other := newBlob(t, 500), newBlob(t, 500)
			resp := a.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+other.Digest, hdr{
				"Content-Type", "application/octet-stream", "Content-Length", strconv.Itoa(len(b.Bytes)),
			}, b.Bytes)
			if resp.Status == http.StatusAccepted {
				t.Skipf("%s declines single-POST uploads (202), so there is nothing to reject", reg.Flavor)
			}
			resp.expectError(t, http.StatusBadRequest, "DIGEST_INVALID")
			a.expectNoBlob(repo, other.Digest)
			a.expectNoBlob(repo, b.Digest)
		}},
		{"chunk out of order", func(t *testing.T) {
			b := newBlob(t, 300)
			loc := a.patch(a.startUpload(repo), b.Bytes[:100], 0).expect(t, http.StatusAccepted).Header.Get("Location")
			a.patch(loc, b.Bytes[200:], 200).expect(t, http.StatusRequestedRangeNotSatisfiable)  // gap
			a.patch(loc, b.Bytes[50:150], 50).expect(t, http.StatusRequestedRangeNotSatisfiable) // overlap
			// The upload survives both and completes with the right bytes.
			status := a.do("GET", loc, nil, nil).expect(t, http.StatusNoContent)
			expectRange(t, status, 99)
			loc = a.patch(loc, b.Bytes[100:], 100).expect(t, http.StatusAccepted).Header.Get("Location")
			a.finish(loc, b.Digest, nil).expect(t, http.StatusCreated)
			a.expectBlob(repo, b)
		}},
		{"Content-Range disagreeing with the body", func(t *testing.T) {
			b := newBlob(t, 100)
			loc := a.startUpload(repo)
			resp := a.do("PATCH", loc, hdr{
				"Content-Type", "application/octet-stream", "Content-Range", "0-199",
			}, b.Bytes)
			resp.expect(t, http.StatusBadRequest, http.StatusRequestedRangeNotSatisfiable)
			status := a.do("GET", loc, nil, nil)
			if status.Status == http.StatusNoContent {
				if n := received(t, status.Header.Get("Range")); n != 0 {
					t.Errorf("a rejected chunk was kept: %d bytes", n)
				}
			}
			a.expectNoBlob(repo, b.Digest)
		}},
		{"body shorter than Content-Length, client hangs up", func(t *testing.T) {
			b := newBlob(t, 4000)
			loc := a.startUpload(repo)
			res := rawRequest(t, reg, "PUT", a.resolve(withQuery(t, loc, "digest", b.Digest)), hdr{
				"Content-Type", "application/octet-stream", "Content-Length", strconv.Itoa(len(b.Bytes)),
			}, b.Bytes[:1000], true)
			if res.Status >= 200 && res.Status < 300 {
				t.Fatalf("a truncated upload was accepted: %d %s", res.Status, res.Body)
			}
			a.expectNoBlob(repo, b.Digest)
		}},
		{"chunk shorter than Content-Length, then resumed", func(t *testing.T) {
			b := newBlob(t, 4000)
			loc := a.startUpload(repo)
			res := rawRequest(t, reg, "PATCH", a.resolve(loc), hdr{
				"Content-Type", "application/octet-stream", "Content-Length", "2000",
			}, b.Bytes[:500], true)
			if res.Status >= 200 && res.Status < 300 {
				t.Logf("%s accepted a truncated chunk (%d); it must then report what it kept", reg.Flavor, res.Status)
			}
			// Whatever the registry kept, it must say so, and the client
			// can finish from there with the right bytes.
			status := a.do("GET", loc, nil, nil)
			if status.Status == http.StatusNotFound {
				t.Logf("%s dropped the upload after the broken chunk", reg.Flavor)
				a.finish(a.startUpload(repo), b.Digest, b.Bytes).expect(t, http.StatusCreated)
			} else {
				status.expect(t, http.StatusNoContent)
				kept := received(t, status.Header.Get("Range"))
				if kept != 0 && kept != 500 {
					t.Fatalf("after 500 of 2000 promised bytes the upload holds %d", kept)
				}
				if l := status.Header.Get("Location"); l != "" {
					loc = l
				}
				a.finish(loc, b.Digest, b.Bytes[kept:]).expect(t, http.StatusCreated)
			}
			a.expectBlob(repo, b)
		}},
		{"body longer than Content-Length", func(t *testing.T) {
			b := newBlob(t, 2000)
			loc := a.startUpload(repo)
			res := rawRequest(t, reg, "PUT", a.resolve(withQuery(t, loc, "digest", b.Digest)), hdr{
				"Content-Type", "application/octet-stream", "Content-Length", "1000",
			}, b.Bytes, false)
			if res.Status != http.StatusBadRequest {
				t.Errorf("want 400 DIGEST_INVALID for the first 1000 bytes under the whole blob's digest, got %d %s", res.Status, res.Body)
			}
			a.expectNoBlob(repo, b.Digest)
		}},
		{"unknown upload session", func(t *testing.T) {
			codes := []string{"BLOB_UPLOAD_UNKNOWN"}
			if reg.Flavor == Distribution {
				// Distribution keeps upload state in a signed _state query
				// parameter and answers its absence with BLOB_UPLOAD_INVALID.
				codes = append(codes, "BLOB_UPLOAD_INVALID")
			}
			for _, id := range []string{"00000000-0000-0000-0000-000000000000", "not-a-session"} {
				path := "/v2/" + repo + "/blobs/uploads/" + id
				a.do("GET", path, nil, nil).expectError(t, http.StatusNotFound, codes...)
				a.patch(path, []byte("x"), 0).expectError(t, http.StatusNotFound, codes...)
				a.finish(path, sha256Digest([]byte("x")), []byte("x")).expectError(t, http.StatusNotFound, codes...)
			}
		}},
		{"upload session id climbing out of the repository", func(t *testing.T) {
			b := newBlob(t, 10)
			for _, id := range []string{"..%2F..%2F_layers", "..%2F..%2F..%2F..%2Fblobs", "%2E%2E"} {
				path := "/v2/" + repo + "/blobs/uploads/" + id
				for _, resp := range []*response{
					a.do("GET", path, nil, nil),
					a.patch(path, b.Bytes, 0),
					a.finish(path, b.Digest, b.Bytes),
				} {
					// 404/400, or a redirect to a cleaned path (Distribution);
					// never success, never a server error.
					if resp.Status < 300 || resp.Status >= 500 {
						t.Errorf("want a 3xx or 4xx refusal:\n%s", resp)
					}
				}
			}
			a.expectNoBlob(repo, b.Digest)
		}},
		{"upload session of another repository", func(t *testing.T) {
			loc := a.startUpload(repo)
			u := a.resolve(loc)
			other := replaceOnce(u, "/v2/"+repo+"/", "/v2/bad/other/")
			b := newBlob(t, 10)
			resp := a.patch(other, b.Bytes, 0)
			resp.expect(t, http.StatusNotFound, http.StatusBadRequest)
			a.expectNoBlob("bad/other", b.Digest)
		}},
		{"unknown blob", func(t *testing.T) {
			a.expectNoBlob(repo, newBlob(t, 10).Digest)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t)
			f.verify(t, reg)
		})
	}
}
