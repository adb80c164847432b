package client

import (
	"context"
	_ "crypto/sha256" // digest algorithms go-digest resolves at run time
	_ "crypto/sha512"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/opencontainers/go-digest"
)

// HeadBlob returns the size of blob dgst in repo (-1 when the registry
// does not say). A missing blob matches ErrNotFound.
func (c *Client) HeadBlob(ctx context.Context, repo string, dgst digest.Digest) (int64, error) {
	p, err := blobPath(repo, dgst)
	if err != nil {
		return 0, err
	}
	resp, err := c.do(ctx, http.MethodHead, c.url(p, nil), nil, nil, http.StatusOK)
	if err != nil {
		return 0, fmt.Errorf("head blob %s@%s: %w", repo, dgst, err)
	}
	discard(resp)
	return resp.ContentLength, nil
}

// GetBlob opens blob dgst of repo for streaming and returns it with its
// size (-1 when the registry does not say). The caller closes the reader.
// Reading hashes the bytes as they pass: the read that reaches the end
// returns an error wrapping ErrDigestMismatch instead of io.EOF when the
// content is not dgst, or io.ErrUnexpectedEOF when it is shorter than the
// announced size, so a caller that copies to the end never keeps bad
// content unknowingly. Registries that redirect blob downloads (to S3, a
// CDN) are followed. A missing blob matches ErrNotFound.
func (c *Client) GetBlob(ctx context.Context, repo string, dgst digest.Digest) (io.ReadCloser, int64, error) {
	return c.getBlob(ctx, repo, dgst, true)
}

// GetBlobUnchecked is GetBlob without the digest check, for a caller that
// hashes what it reads anyway (ctl's store does as it writes), so that no
// byte is hashed twice. The length is still checked as GetBlob checks it:
// more bytes than announced fail with ErrDigestMismatch, fewer with
// io.ErrUnexpectedEOF. The caller must check the content.
func (c *Client) GetBlobUnchecked(ctx context.Context, repo string, dgst digest.Digest) (io.ReadCloser, int64, error) {
	return c.getBlob(ctx, repo, dgst, false)
}

// getBlob is GetBlob, checking the digest when check is set.
func (c *Client) getBlob(ctx context.Context, repo string, dgst digest.Digest, check bool) (io.ReadCloser, int64, error) {
	p, err := blobPath(repo, dgst)
	if err != nil {
		return nil, 0, err
	}
	if !dgst.Algorithm().Available() {
		return nil, 0, fmt.Errorf("get blob %s@%s: unsupported digest algorithm", repo, dgst)
	}
	// identity: the bytes as stored, never transparently decompressed
	resp, err := c.do(ctx, http.MethodGet, c.url(p, nil), nil,
		http.Header{"Accept-Encoding": {"identity"}}, http.StatusOK)
	if err != nil {
		return nil, 0, fmt.Errorf("get blob %s@%s: %w", repo, dgst, err)
	}
	vr := &verifyingReader{body: resp.Body, want: dgst, size: resp.ContentLength}
	if check {
		vr.digester = dgst.Algorithm().Digester()
	}
	return vr, resp.ContentLength, nil
}

// verifyingReader hashes what it reads and judges the content at EOF: its
// length against the announced size, and its digest unless digester is
// nil.
type verifyingReader struct {
	body     io.ReadCloser
	want     digest.Digest
	size     int64 // -1 when unknown
	n        int64
	digester digest.Digester // nil: the length only
	err      error           // sticky result once the end was reached
}

// Read reads from the body, hashing, and judges the content at the end.
func (r *verifyingReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.body.Read(p)
	r.n += int64(n)
	if r.digester != nil {
		r.digester.Hash().Write(p[:n])
	}
	switch {
	case r.size >= 0 && r.n > r.size:
		r.err = fmt.Errorf("blob %s: more than the %d bytes announced: %w", r.want, r.size, ErrDigestMismatch)
	case err == io.EOF && r.size >= 0 && r.n < r.size:
		r.err = fmt.Errorf("blob %s: got %d of %d bytes: %w", r.want, r.n, r.size, io.ErrUnexpectedEOF)
	case err == io.EOF && r.digester != nil && r.digester.Digest() != r.want:
		r.err = fmt.Errorf("blob %s: content hashes to %s: %w", r.want, r.digester.Digest(), ErrDigestMismatch)
	case err != nil:
		r.err = err
	}
	if r.err != nil {
		return n, r.err
	}
	return n, nil
}

// Close closes the response body.
func (r *verifyingReader) Close() error { return r.body.Close() }

// MountBlob asks the registry to link blob dgst from repository from into
// repo without uploading it. It reports false, with no error, when the
// registry would not mount (it lacks the blob there, or the caller may not
// pull from there); the caller then uploads.
func (c *Client) MountBlob(ctx context.Context, repo string, dgst digest.Digest, from string) (bool, error) {
	p, err := blobPath(repo, dgst)
	if err != nil {
		return false, err
	}
	if _, err := repoPath(from); err != nil {
		return false, err
	}
	q := url.Values{"mount": {dgst.String()}, "from": {from}}
	resp, err := c.do(ctx, http.MethodPost, c.url(uploadsPath(p), q), nil, nil,
		http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return false, fmt.Errorf("mount blob %s@%s from %s: %w", repo, dgst, from, err)
	}
	discard(resp)
	if resp.StatusCode == http.StatusCreated {
		return true, nil
	}
	// The registry opened an upload session instead; give it back.
	if loc, err := resolve(resp.Request.URL, resp.Header.Get("Location")); err == nil {
		c.cancelUpload(ctx, loc)
	}
	return false, nil
}

// blobPath validates repo and dgst and returns "/v2/<repo>/blobs/<dgst>".
func blobPath(repo string, dgst digest.Digest) (string, error) {
	p, err := repoPath(repo)
	if err != nil {
		return "", err
	}
	if err := dgst.Validate(); err != nil {
		return "", fmt.Errorf("invalid digest %q: %w", dgst, err)
	}
	return p + "blobs/" + dgst.String(), nil
}

// uploadsPath turns a blob path into its repository's upload path.
func uploadsPath(blob string) string {
	i := len(blob) - 1
	for i >= 0 && blob[i] != '/' {
		i--
	}
	return blob[:i+1] + "uploads/"
}
