//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// blobData is random content and its digest.
type blobData struct {
	Bytes  []byte
	Digest string
}

func newBlob(t testing.TB, size int) blobData {
	t.Helper()
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return blobData{Bytes: b, Digest: sha256Digest(b)}
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// withQuery returns loc (a Location value) with k=v set in its query,
// keeping whatever state the registry put there.
func withQuery(t testing.TB, loc, k, v string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

// startUpload opens an upload session in repo and returns its Location.
func (a *api) startUpload(repo string) string {
	a.t.Helper()
	resp := a.do("POST", "/v2/"+repo+"/blobs/uploads/", nil, nil).expect(a.t, http.StatusAccepted)
	loc := resp.Header.Get("Location")
	if loc == "" {
		a.t.Fatalf("upload started without a Location:\n%s", resp)
	}
	return loc
}

// patch sends chunk at offset start and returns the answer (202 on success,
// with the next Location and the Range received so far).
func (a *api) patch(loc string, chunk []byte, start int) *response {
	a.t.Helper()
	return a.do("PATCH", loc, hdr{
		"Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", start, start+len(chunk)-1),
		"Content-Length", strconv.Itoa(len(chunk)),
	}, chunk)
}

// finish closes the upload with digest, sending last (may be empty) as the
// final chunk.
func (a *api) finish(loc, digest string, last []byte) *response {
	a.t.Helper()
	if last == nil {
		last = []byte{}
	}
	return a.do("PUT", withQuery(a.t, loc, "digest", digest), hdr{
		"Content-Type", "application/octet-stream",
		"Content-Length", strconv.Itoa(len(last)),
	}, last)
}

// expectRange fails unless resp's Range header says bytes 0..end arrived.
func expectRange(t testing.TB, resp *response, end int) {
	t.Helper()
	if got, want := resp.Header.Get("Range"), fmt.Sprintf("0-%d", end); got != want {
		t.Fatalf("Range %q, want %q:\n%s", got, want, resp)
	}
}

// expectBlob fails unless repo serves b under its digest, whole and ranged.
func (a *api) expectBlob(repo string, b blobData) {
	a.t.Helper()
	head := a.do("HEAD", "/v2/"+repo+"/blobs/"+b.Digest, nil, nil).expect(a.t, http.StatusOK)
	if got := head.Header.Get("Content-Length"); got != strconv.Itoa(len(b.Bytes)) {
		a.t.Errorf("HEAD Content-Length %s, want %d", got, len(b.Bytes))
	}
	if got := head.Header.Get("Docker-Content-Digest"); got != b.Digest {
		a.t.Errorf("HEAD Docker-Content-Digest %q, want %s", got, b.Digest)
	}
	get := a.do("GET", "/v2/"+repo+"/blobs/"+b.Digest, nil, nil).expect(a.t, http.StatusOK)
	if !bytes.Equal(get.Body, b.Bytes) {
		a.t.Fatalf("GET blob: %d bytes that differ from the %d uploaded", len(get.Body), len(b.Bytes))
	}
	if len(b.Bytes) > 20 {
		part := a.do("GET", "/v2/"+repo+"/blobs/"+b.Digest, hdr{"Range", "bytes=10-19"}, nil)
		part.expect(a.t, http.StatusPartialContent)
		if !bytes.Equal(part.Body, b.Bytes[10:20]) {
			a.t.Errorf("Range bytes=10-19 served %q", part.Body)
		}
	}
}

// expectNoBlob fails unless repo has no blob digest.
func (a *api) expectNoBlob(repo, digest string) {
	a.t.Helper()
	a.do("HEAD", "/v2/"+repo+"/blobs/"+digest, nil, nil).expect(a.t, http.StatusNotFound)
	a.do("GET", "/v2/"+repo+"/blobs/"+digest, nil, nil).expectError(a.t, http.StatusNotFound, "BLOB_UNKNOWN")
}

// TestUploads drives the blob upload protocol by hand: chunked, streamed,
// monolithic, resumed, cancelled and mounted uploads.
func TestUploads(t *testing.T) {
	t.Parallel()
	reg := startTarget(t)
	a := reg.API(t)
	const chunk = 256 << 10

	t.Run("chunks with Content-Range", func(t *testing.T) {
		b := newBlob(t, 3*chunk+17)
		loc := a.startUpload("up/chunked")
		for start := 0; start < len(b.Bytes); start += chunk {
			end := min(start+chunk, len(b.Bytes))
			resp := a.patch(loc, b.Bytes[start:end], start).expect(t, http.StatusAccepted)
			expectRange(t, resp, end-1)
			if loc = resp.Header.Get("Location"); loc == "" {
				t.Fatalf("PATCH answered without a Location:\n%s", resp)
			}
		}
		status := a.do("GET", loc, nil, nil).expect(t, http.StatusNoContent)
		expectRange(t, status, len(b.Bytes)-1)
		done := a.finish(loc, b.Digest, nil).expect(t, http.StatusCreated)
		if got := done.Header.Get("Docker-Content-Digest"); got != b.Digest {
			t.Errorf("Docker-Content-Digest %q, want %s", got, b.Digest)
		}
		if got := done.Header.Get("Location"); !strings.HasSuffix(got, "/v2/up/chunked/blobs/"+b.Digest) {
			t.Errorf("Location %q does not name the blob", got)
		}
		a.expectBlob("up/chunked", b)
	})

	t.Run("last chunk in the closing PUT", func(t *testing.T) {
		b := newBlob(t, chunk+100)
		loc := a.startUpload("up/last-in-put")
		loc = a.patch(loc, b.Bytes[:chunk], 0).expect(t, http.StatusAccepted).Header.Get("Location")
		a.finish(loc, b.Digest, b.Bytes[chunk:]).expect(t, http.StatusCreated)
		a.expectBlob("up/last-in-put", b)
	})

	t.Run("streamed PATCH without Content-Range", func(t *testing.T) {
		b := newBlob(t, 2*chunk)
		loc := a.startUpload("up/streamed")
		resp := a.do("PATCH", loc, hdr{"Content-Type", "application/octet-stream"}, b.Bytes).expect(t, http.StatusAccepted)
		expectRange(t, resp, len(b.Bytes)-1)
		a.finish(resp.Header.Get("Location"), b.Digest, nil).expect(t, http.StatusCreated)
		a.expectBlob("up/streamed", b)
	})

	t.Run("monolithic POST", func(t *testing.T) {
		b := newBlob(t, 1000)
		resp := a.do("POST", "/v2/up/mono/blobs/uploads/?digest="+b.Digest, hdr{
			"Content-Type", "application/octet-stream", "Content-Length", strconv.Itoa(len(b.Bytes)),
		}, b.Bytes).expect(t, http.StatusCreated, http.StatusAccepted)
		if resp.Status == http.StatusAccepted {
			// The spec lets a registry decline single-request uploads by
			// answering 202 with a session (Distribution does).
			t.Logf("%s declines single-POST uploads; finishing with PUT", reg.Flavor)
			resp = a.finish(resp.Header.Get("Location"), b.Digest, b.Bytes).expect(t, http.StatusCreated)
		}
		if got := resp.Header.Get("Docker-Content-Digest"); got != b.Digest {
			t.Errorf("Docker-Content-Digest %q, want %s", got, b.Digest)
		}
		a.expectBlob("up/mono", b)
	})

	t.Run("monolithic PUT after POST", func(t *testing.T) {
		b := newBlob(t, 5000)
		a.finish(a.startUpload("up/mono-put"), b.Digest, b.Bytes).expect(t, http.StatusCreated)
		a.expectBlob("up/mono-put", b)
	})

	t.Run("empty blob", func(t *testing.T) {
		b := blobData{Bytes: []byte{}, Digest: sha256Digest(nil)}
		a.finish(a.startUpload("up/empty"), b.Digest, nil).expect(t, http.StatusCreated)
		a.expectBlob("up/empty", b)
	})

	t.Run("resume from the reported offset", func(t *testing.T) {
		b := newBlob(t, 3*chunk)
		loc := a.startUpload("up/resume")
		a.patch(loc, b.Bytes[:chunk], 0).expect(t, http.StatusAccepted)
		// A client that lost the answer asks where the upload stands.
		status := a.do("GET", loc, nil, nil).expect(t, http.StatusNoContent)
		expectRange(t, status, chunk-1)
		if status.Header.Get("Location") != "" {
			loc = status.Header.Get("Location")
		}
		loc = a.patch(loc, b.Bytes[chunk:], chunk).expect(t, http.StatusAccepted).Header.Get("Location")
		a.finish(loc, b.Digest, nil).expect(t, http.StatusCreated)
		a.expectBlob("up/resume", b)
	})

	t.Run("cancel", func(t *testing.T) {
		b := newBlob(t, 1000)
		loc := a.startUpload("up/cancel")
		loc = a.patch(loc, b.Bytes, 0).expect(t, http.StatusAccepted).Header.Get("Location")
		a.do("DELETE", loc, nil, nil).expect(t, http.StatusNoContent)
		a.do("GET", loc, nil, nil).expectError(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		a.patch(loc, b.Bytes, 0).expectError(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		a.expectNoBlob("up/cancel", b.Digest)
	})

	t.Run("mount from another repository", func(t *testing.T) {
		b := newBlob(t, 2000)
		a.finish(a.startUpload("up/mount-src"), b.Digest, b.Bytes).expect(t, http.StatusCreated)
		resp := a.do("POST", "/v2/up/mount-dst/blobs/uploads/?mount="+b.Digest+"&from=up/mount-src", nil, nil)
		resp.expect(t, http.StatusCreated)
		if got := resp.Header.Get("Location"); !strings.HasSuffix(got, "/v2/up/mount-dst/blobs/"+b.Digest) {
			t.Errorf("mount Location %q does not name the blob in the target repository", got)
		}
		a.expectBlob("up/mount-dst", b)
	})

	t.Run("mount of an unknown blob starts an upload", func(t *testing.T) {
		b := newBlob(t, 100)
		resp := a.do("POST", "/v2/up/mount-miss/blobs/uploads/?mount="+b.Digest+"&from=up/mount-src", nil, nil)
		resp.expect(t, http.StatusAccepted)
		a.finish(resp.Header.Get("Location"), b.Digest, b.Bytes).expect(t, http.StatusCreated)
		a.expectBlob("up/mount-miss", b)
	})

	t.Run("blob is not visible in other repositories", func(t *testing.T) {
		b := newBlob(t, 100)
		a.finish(a.startUpload("up/private"), b.Digest, b.Bytes).expect(t, http.StatusCreated)
		a.expectNoBlob("up/elsewhere", b.Digest)
	})

	t.Run("delete blob", func(t *testing.T) {
		b := newBlob(t, 100)
		a.finish(a.startUpload("up/delete"), b.Digest, b.Bytes).expect(t, http.StatusCreated)
		a.do("DELETE", "/v2/up/delete/blobs/"+b.Digest, nil, nil).expect(t, http.StatusAccepted)
		a.expectNoBlob("up/delete", b.Digest)
		a.do("DELETE", "/v2/up/delete/blobs/"+b.Digest, nil, nil).expectError(t, http.StatusNotFound, "BLOB_UNKNOWN")
	})
}
