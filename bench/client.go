package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// newClient returns an HTTP client for the load generator: no proxy, no compression, HTTP/1.1,
// enough idle keep-alive connections per host for the most concurrent scenario.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		WriteBufferSize:     256 << 10,
		ReadBufferSize:      256 << 10,
	}}
}

// regClient speaks the few distribution API calls the scenarios need to one registry.
type regClient struct {
	http  *http.Client
	base  *url.URL
	token string // bearer token sent with every request; "" for none
}

func newRegClient(c *http.Client, baseURL string) (*regClient, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	return &regClient{http: c, base: u}, nil
}

// withToken returns a copy of c that sends "Authorization: Bearer token" with every request, as
// docker does with the token it got for a repository. c and the copy share connections.
func (c *regClient) withToken(token string) *regClient {
	cp := *c
	cp.token = token
	return &cp
}

// newRequest is http.NewRequestWithContext plus c's bearer token, if any.
func (c *regClient) newRequest(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err == nil && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, err
}

// do sends req and checks the status is one of want; on mismatch it returns an error quoting the
// start of the body. The caller closes the returned response's body.
func (c *regClient) do(req *http.Request, want ...int) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, nil
		}
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	return nil, fmt.Errorf("%s %s: status %d, want %v: %s", req.Method, req.URL.Path, resp.StatusCode, want, bytes.TrimSpace(msg))
}

// drain reads the rest of a body so the connection is reused, then closes it.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// startUpload POSTs a new upload session and returns its absolute Location.
func (c *regClient) startUpload(ctx context.Context, repo string) (*url.URL, error) {
	u := c.base.JoinPath("v2", repo, "blobs", "uploads") // no trailing slash from JoinPath
	req, err := c.newRequest(ctx, http.MethodPost, u.String()+"/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	drain(resp)
	return c.location(resp)
}

// location resolves a response's Location header against the request URL.
func (c *regClient) location(resp *http.Response) (*url.URL, error) {
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return loc, nil
}

// patchUpload streams body to the upload at loc in one PATCH without Content-Range (chunked
// transfer encoding, as docker does) and returns the next Location.
func (c *regClient) patchUpload(ctx context.Context, loc *url.URL, body io.Reader) (*url.URL, error) {
	req, err := c.newRequest(ctx, http.MethodPatch, loc.String(), io.NopCloser(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.do(req, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	drain(resp)
	return c.location(resp)
}

// finishUpload PUTs ?digest= to the upload at loc with body (nil for none) and expects 201.
func (c *regClient) finishUpload(ctx context.Context, loc *url.URL, digest string, body []byte) error {
	u := *loc
	q := u.Query()
	q.Set("digest", digest)
	u.RawQuery = q.Encode()
	req, err := c.newRequest(ctx, http.MethodPut, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// pushStream uploads a blob the way docker and containerd push large layers: POST, one PATCH
// streaming the whole body, PUT ?digest=.
func (c *regClient) pushStream(ctx context.Context, repo, digest string, body io.Reader) error {
	loc, err := c.startUpload(ctx, repo)
	if err != nil {
		return err
	}
	if loc, err = c.patchUpload(ctx, loc, body); err != nil {
		return err
	}
	return c.finishUpload(ctx, loc, digest, nil)
}

// pushWhole uploads a small blob as POST then PUT ?digest= carrying the whole body.
func (c *regClient) pushWhole(ctx context.Context, repo, digest string, data []byte) error {
	loc, err := c.startUpload(ctx, repo)
	if err != nil {
		return err
	}
	return c.finishUpload(ctx, loc, digest, data)
}

// pullBlob GETs a blob, reads it through buf and discards it, and returns how many bytes came.
func (c *regClient) pullBlob(ctx context.Context, repo, digest string, buf []byte) (int64, error) {
	u := c.base.JoinPath("v2", repo, "blobs", digest)
	req, err := c.newRequest(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int64
	for {
		m, err := resp.Body.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// putManifest PUTs a manifest under ref with its media type and expects 201.
func (c *regClient) putManifest(ctx context.Context, repo, ref, mediaType string, body []byte) error {
	u := c.base.JoinPath("v2", repo, "manifests", ref)
	req, err := c.newRequest(ctx, http.MethodPut, u.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// headManifest sends HEAD for ref accepting the OCI and Docker manifest types and returns the
// Docker-Content-Digest header.
func (c *regClient) headManifest(ctx context.Context, u, accept string) (string, error) {
	req, err := c.newRequest(ctx, http.MethodHead, u, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", accept)
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return "", err
	}
	drain(resp)
	return resp.Header.Get("Docker-Content-Digest"), nil
}

// mb formats bytes per second as decimal megabytes per second.
func mb(bytesPerSec float64) string { return strconv.FormatFloat(bytesPerSec/1e6, 'f', 0, 64) }
