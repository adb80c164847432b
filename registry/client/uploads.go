package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// DefaultChunkSize is the chunk size of PutBlobChunked unless told.
const DefaultChunkSize = 8 << 20

// maxChunkSize bounds the OCI-Chunk-Min-Length a registry may impose (a
// chunk is held in memory).
const maxChunkSize = 256 << 20

// PutBlob uploads size bytes read from r as blob dgst of repo, streamed,
// never held in memory; the registry checks the digest. It opens an upload
// session with POST and sends the content with the closing PUT, the
// monolithic upload every registry takes.
//
// With WithSinglePOSTUploads, and when r can be read again from its current
// offset (it is also an io.ReaderAt and io.Seeker: an *os.File, a
// bytes.Reader), the content goes with the POST instead
// (POST /v2/<repo>/blobs/uploads/?digest=), one request where the registry
// takes it, as Berth's does. A registry that answers by opening a session
// then gets the content with the PUT.
func (c *Client) PutBlob(ctx context.Context, repo string, dgst digest.Digest, size int64, r io.Reader) error {
	p, err := blobPath(repo, dgst)
	if err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("put blob %s@%s: %w", repo, dgst, err) }
	if size < 0 {
		return fail(fmt.Errorf("size %d: PutBlob needs the size; use PutBlobChunked", size))
	}
	open, err := replayable(r, size)
	if err != nil {
		return fail(err)
	}
	var loc *url.URL
	if c.singlePOST && (open != nil || size == 0) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost,
			c.url(uploadsPath(p), url.Values{"digest": {dgst.String()}}), nil)
		if err != nil {
			return fail(err)
		}
		setBody(req, r, open, size)
		if size > 0 {
			req.Header.Set("Expect", "100-continue")
		}
		resp, err := c.send(req, http.StatusCreated, http.StatusAccepted)
		if err != nil {
			return fail(err)
		}
		discard(resp)
		if resp.StatusCode == http.StatusCreated {
			return nil
		}
		if loc, err = resolve(resp.Request.URL, resp.Header.Get("Location")); err != nil {
			return fail(err)
		}
	} else if loc, _, err = c.startUpload(ctx, p); err != nil {
		return fail(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, withDigest(loc, dgst), nil)
	if err != nil {
		return fail(err)
	}
	setBody(req, r, open, size)
	resp, err := c.send(req, http.StatusCreated)
	if err != nil {
		c.cancelUpload(ctx, loc)
		return fail(err)
	}
	discard(resp)
	return nil
}

// startUpload opens an upload session for the blob path p and returns its
// location and the registry's OCI-Chunk-Min-Length (0 when absent).
func (c *Client) startUpload(ctx context.Context, p string) (*url.URL, int64, error) {
	resp, err := c.do(ctx, http.MethodPost, c.url(uploadsPath(p), nil), nil, nil, http.StatusAccepted)
	if err != nil {
		return nil, 0, err
	}
	discard(resp)
	loc, err := resolve(resp.Request.URL, resp.Header.Get("Location"))
	if err != nil {
		return nil, 0, err
	}
	minChunk, _ := strconv.ParseInt(resp.Header.Get("OCI-Chunk-Min-Length"), 10, 64)
	return loc, minChunk, nil
}

// replayable returns a function that opens r afresh from its current
// offset, or nil when r cannot be read again.
func replayable(r io.Reader, size int64) (func() io.ReadCloser, error) {
	ra, ok1 := r.(io.ReaderAt)
	sk, ok2 := r.(io.Seeker)
	if !ok1 || !ok2 {
		return nil, nil
	}
	start, err := sk.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, err
	}
	return func() io.ReadCloser { return io.NopCloser(io.NewSectionReader(ra, start, size)) }, nil
}

// setBody gives req the blob content as body: a fresh reader (with
// GetBody) when open is set, else r itself.
func setBody(req *http.Request, r io.Reader, open func() io.ReadCloser, size int64) {
	req.Header.Set("Content-Type", "application/octet-stream")
	req.ContentLength = size
	switch {
	case size == 0:
		req.Body = http.NoBody
	case open != nil:
		req.Body = open()
		req.GetBody = func() (io.ReadCloser, error) { return open(), nil }
	default:
		req.Body = io.NopCloser(r)
	}
}

// PutBlobChunked uploads the content of r as blob dgst of repo in an
// upload session: POST to open it, one PATCH per chunk, PUT with the digest
// to close it. Chunks are chunkSize bytes (DefaultChunkSize when <= 0, or
// the registry's OCI-Chunk-Min-Length when larger). When r can be read
// again (an io.ReaderAt and io.Seeker, as for PutBlob: a file, a
// bytes.Reader) each chunk is sent straight from it, from its current
// offset to its end; otherwise each is read into memory first. Either way
// a chunk can be sent again after a challenge. As with PutBlob, the
// registry checks the content against dgst when the session closes: a
// mismatch fails with its DIGEST_INVALID, which matches ErrDigestMismatch.
// On any failure the session is cancelled.
func (c *Client) PutBlobChunked(ctx context.Context, repo string, dgst digest.Digest, r io.Reader, chunkSize int64) error {
	p, err := blobPath(repo, dgst)
	if err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("put blob %s@%s (chunked): %w", repo, dgst, err) }
	loc, minChunk, err := c.startUpload(ctx, p)
	if err != nil {
		return fail(err)
	}
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	if minChunk > chunkSize {
		if minChunk > maxChunkSize {
			c.cancelUpload(ctx, loc)
			return fail(fmt.Errorf("registry wants chunks of at least %d bytes, more than %d", minChunk, maxChunkSize))
		}
		chunkSize = minChunk
	}
	if loc, err = c.sendChunks(ctx, loc, r, chunkSize); err != nil {
		c.cancelUpload(ctx, loc)
		return fail(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, withDigest(loc, dgst), http.NoBody)
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.send(req, http.StatusCreated)
	if err != nil {
		c.cancelUpload(ctx, loc)
		return fail(err)
	}
	discard(resp)
	return nil
}

// sendChunks PATCHes r to the session at loc chunk by chunk and returns
// the session's latest location.
func (c *Client) sendChunks(ctx context.Context, loc *url.URL, r io.Reader, chunkSize int64) (*url.URL, error) {
	ra, start, size, err := rest(r)
	if err != nil {
		return loc, fmt.Errorf("reading content: %w", err)
	}
	if ra != nil {
		for offset := int64(0); offset < size; offset += chunkSize {
			at, n := start+offset, min(chunkSize, size-offset)
			open := func() io.ReadCloser { return io.NopCloser(io.NewSectionReader(ra, at, n)) }
			next, err := c.patchChunk(ctx, loc, open, n, offset)
			if err != nil {
				return loc, err
			}
			loc = next
		}
		return loc, nil
	}
	buf := make([]byte, chunkSize)
	var offset int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			chunk := buf[:n]
			open := func() io.ReadCloser { return io.NopCloser(bytes.NewReader(chunk)) }
			next, err := c.patchChunk(ctx, loc, open, int64(n), offset)
			if err != nil {
				return loc, err
			}
			loc, offset = next, offset+int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return loc, fmt.Errorf("reading content: %w", rerr)
		}
	}
	return loc, nil
}

// rest returns r as an io.ReaderAt with the offset r is at and the size
// of the content from there to its end, when r can be read again (see
// replayable); ra is nil when it cannot.
func rest(r io.Reader) (ra io.ReaderAt, start, size int64, err error) {
	ra, ok1 := r.(io.ReaderAt)
	sk, ok2 := r.(io.Seeker)
	if !ok1 || !ok2 {
		return nil, 0, 0, nil
	}
	if start, err = sk.Seek(0, io.SeekCurrent); err != nil {
		return nil, 0, 0, err
	}
	end, err := sk.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, 0, err
	}
	if _, err := sk.Seek(start, io.SeekStart); err != nil {
		return nil, 0, 0, err
	}
	return ra, start, end - start, nil
}

// patchChunk sends the n bytes open returns (called again when the
// request is replayed) as the chunk at offset, and returns the next
// location.
func (c *Client) patchChunk(ctx context.Context, loc *url.URL, open func() io.ReadCloser, n, offset int64) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, loc.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Body, req.ContentLength = open(), n
	req.GetBody = func() (io.ReadCloser, error) { return open(), nil }
	end := offset + n - 1
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Content-Range", fmt.Sprintf("%d-%d", offset, end))
	resp, err := c.send(req, http.StatusAccepted)
	if err != nil {
		return nil, fmt.Errorf("chunk at %d: %w", offset, err)
	}
	discard(resp)
	if rg := resp.Header.Get("Range"); rg != "" {
		if got := strings.TrimPrefix(rg, "bytes="); got != fmt.Sprintf("0-%d", end) {
			return nil, fmt.Errorf("chunk at %d: registry holds range %q, want 0-%d", offset, rg, end)
		}
	}
	next := resp.Header.Get("Location")
	if next == "" {
		return loc, nil
	}
	return resolve(resp.Request.URL, next)
}

// withDigest returns loc with the digest query parameter added, keeping
// whatever state the registry put in the query.
func withDigest(loc *url.URL, dgst digest.Digest) string {
	u := *loc
	q := u.Query()
	q.Set("digest", dgst.String())
	u.RawQuery = q.Encode()
	return u.String()
}

// cancelUpload deletes an upload session, best effort: errors are dropped
// (the registry purges stale sessions anyway), and the caller's
// cancellation does not stop it.
func (c *Client) cancelUpload(ctx context.Context, loc *url.URL) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if resp, err := c.do(ctx, http.MethodDelete, loc.String(), nil, nil, http.StatusNoContent, http.StatusAccepted, http.StatusOK); err == nil {
		discard(resp)
	}
}
