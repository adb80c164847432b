package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
)

// GetBlobAt opens blob dgst of repo from byte offset on, to resume a
// download, and returns the body with the offset it really starts at:
// offset when the registry honoured the Range request (206 Partial
// Content), 0 when it sent the whole blob instead (200), as registries
// without range support do. The caller closes the reader.
//
// A body from 0 is checked like GetBlob's (the read that reaches the end
// fails with ErrDigestMismatch or io.ErrUnexpectedEOF). A partial body is
// not: a part has no digest of its own, so the caller hashes it after the
// bytes it already holds and checks the whole. A Content-Range that does
// not start at offset is an error, as is an offset at or past the end of
// the blob (416). A missing blob matches ErrNotFound.
func (c *Client) GetBlobAt(ctx context.Context, repo string, dgst digest.Digest, offset int64) (io.ReadCloser, int64, error) {
	if offset < 0 {
		return nil, 0, fmt.Errorf("get blob %s@%s: negative offset %d", repo, dgst, offset)
	}
	if offset == 0 {
		rc, _, err := c.GetBlob(ctx, repo, dgst)
		return rc, 0, err
	}
	p, err := blobPath(repo, dgst)
	if err != nil {
		return nil, 0, err
	}
	if !dgst.Algorithm().Available() {
		return nil, 0, fmt.Errorf("get blob %s@%s: unsupported digest algorithm", repo, dgst)
	}
	fail := func(err error) (io.ReadCloser, int64, error) {
		return nil, 0, fmt.Errorf("get blob %s@%s from byte %d: %w", repo, dgst, offset, err)
	}
	resp, err := c.do(ctx, http.MethodGet, c.url(p, nil), nil, http.Header{
		"Accept-Encoding": {"identity"},
		"Range":           {fmt.Sprintf("bytes=%d-", offset)},
	}, http.StatusOK, http.StatusPartialContent)
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode == http.StatusOK {
		return &verifyingReader{
			body: resp.Body, want: dgst, size: resp.ContentLength,
			digester: dgst.Algorithm().Digester(),
		}, 0, nil
	}
	start, err := contentRangeStart(resp.Header.Get("Content-Range"))
	if err != nil || start != offset {
		resp.Body.Close()
		if err == nil {
			err = fmt.Errorf("registry sent bytes from %d", start)
		}
		return fail(err)
	}
	return resp.Body, offset, nil
}

// contentRangeStart parses the first byte of a response's Content-Range
// ("bytes <first>-<last>/<total or *>").
func contentRangeStart(cr string) (int64, error) {
	spec, ok := strings.CutPrefix(cr, "bytes ")
	first, _, ok2 := strings.Cut(spec, "-")
	n, err := strconv.ParseInt(first, 10, 64)
	if !ok || !ok2 || err != nil || n < 0 {
		return 0, fmt.Errorf("bad Content-Range %q", cr)
	}
	return n, nil
}
