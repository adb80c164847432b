//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// rawClient speaks the distribution API by hand from a goroutine of its
// own: its methods return errors where api's fail the test. Requests carry
// its route key, so a roundRobin proxy sends each to the next replica.
type rawClient struct {
	base *url.URL
	key  string
	c    *http.Client
}

func newRawClient(baseURL, key string) *rawClient {
	u, _ := url.Parse(baseURL)
	return &rawClient{base: u, key: key, c: &http.Client{
		Timeout:       2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// send makes one request (body may be nil) and reads the whole answer.
func (c *rawClient) send(method, pathOrURL string, h hdr, body []byte) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	return c.sendReader(method, pathOrURL, h, rd, int64(len(body)))
}

// sendReader is send with a streamed body of size bytes.
func (c *rawClient) sendReader(method, pathOrURL string, h hdr, body io.Reader, size int64) (*response, error) {
	u, err := c.base.Parse(pathOrURL)
	if err != nil {
		return nil, fmt.Errorf("bad URL %q: %w", pathOrURL, err)
	}
	req, err := http.NewRequest(method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	}
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	if c.key != "" {
		req.Header.Set(routeKeyHeader, c.key)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading body: %w", method, u, err)
	}
	return &response{Method: method, URL: u.String(), Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// call is send, with an error unless the answer has one of statuses.
func (c *rawClient) call(method, pathOrURL string, h hdr, body []byte, statuses ...int) (*response, error) {
	resp, err := c.send(method, pathOrURL, h, body)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(statuses, resp.Status) {
		return resp, fmt.Errorf("want status %v, got:\n%s", statuses, resp)
	}
	return resp, nil
}

// setQuery returns loc with k=v added to its query.
func setQuery(loc, k, v string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("Location %q: %w", loc, err)
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// start opens an upload session in repo and returns its Location.
func (c *rawClient) start(repo string) (string, error) {
	resp, err := c.call("POST", "/v2/"+repo+"/blobs/uploads/", nil, nil, http.StatusAccepted)
	if err != nil {
		return "", err
	}
	if resp.Header.Get("Location") == "" {
		return "", fmt.Errorf("upload started without a Location:\n%s", resp)
	}
	return resp.Header.Get("Location"), nil
}

// patch sends data[start:end] to loc and returns the next Location after
// checking the Range the registry reports.
func (c *rawClient) patch(loc string, data []byte, start, end int) (string, error) {
	resp, err := c.call("PATCH", loc, hdr{
		"Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", start, end-1),
	}, data[start:end], http.StatusAccepted)
	if err != nil {
		return "", err
	}
	if got, w := resp.Header.Get("Range"), fmt.Sprintf("0-%d", end-1); got != w {
		return "", fmt.Errorf("PATCH %d-%d: Range %q, want %q:\n%s", start, end-1, got, w, resp)
	}
	return resp.Header.Get("Location"), nil
}

// finish closes the upload at loc with last as the final body and checks
// the digest the registry reports.
func (c *rawClient) finish(loc string, b blobData, last []byte) error {
	u, err := setQuery(loc, "digest", b.Digest)
	if err != nil {
		return err
	}
	resp, err := c.call("PUT", u, hdr{"Content-Type", "application/octet-stream"}, last, http.StatusCreated)
	if err != nil {
		return err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != b.Digest {
		return fmt.Errorf("upload committed as %q, want %s", got, b.Digest)
	}
	return nil
}

// chunked uploads b to repo: POST, one PATCH per chunk size (with
// Content-Range), and a PUT carrying what the chunks left.
func (c *rawClient) chunked(repo string, b blobData, chunks ...int) error {
	loc, err := c.start(repo)
	if err != nil {
		return err
	}
	off := 0
	for _, n := range chunks {
		end := min(off+n, len(b.Bytes))
		if loc, err = c.patch(loc, b.Bytes, off, end); err != nil {
			return err
		}
		off = end
	}
	return c.finish(loc, b, b.Bytes[off:])
}

// monolithic uploads b in one request: POST ?digest= with the body.
func (c *rawClient) monolithic(repo string, b blobData) error {
	_, err := c.call("POST", "/v2/"+repo+"/blobs/uploads/?digest="+b.Digest,
		hdr{"Content-Type", "application/octet-stream"}, b.Bytes, http.StatusCreated)
	return err
}

// postPut uploads b as POST then a PUT with the whole body.
func (c *rawClient) postPut(repo string, b blobData) error {
	loc, err := c.start(repo)
	if err != nil {
		return err
	}
	return c.finish(loc, b, b.Bytes)
}

// putManifest puts m under ref (a tag or its digest) in repo.
func (c *rawClient) putManifest(repo, ref string, m rawManifest) error {
	resp, err := c.call("PUT", "/v2/"+repo+"/manifests/"+ref,
		hdr{"Content-Type", ociManifest}, m.Bytes, http.StatusCreated)
	if err != nil {
		return err
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != m.Digest {
		return fmt.Errorf("manifest stored as %q, want %s", got, m.Digest)
	}
	return nil
}

const ociManifest = "application/vnd.oci.image.manifest.v1+json"

// rawManifest is an OCI image manifest built by hand over blobs the test
// uploads itself.
type rawManifest struct {
	Bytes  []byte
	Digest string
	Config blobData
	Layers []blobData
}

// newRawManifest makes a fresh config (unique per call) and the manifest
// listing it and layers.
func newRawManifest(t testing.TB, layers ...blobData) rawManifest {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{"Labels":{"e2e":"` + randomHex(t, 8) +
		`"}},"rootfs":{"type":"layers","diff_ids":[]}}`)
	config := blobData{Bytes: cfg, Digest: sha256Digest(cfg)}
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	m := struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Config        desc   `json:"config"`
		Layers        []desc `json:"layers"`
	}{2, ociManifest, desc{"application/vnd.oci.image.config.v1+json", config.Digest, len(cfg)}, []desc{}}
	for _, l := range layers {
		m.Layers = append(m.Layers, desc{"application/vnd.oci.image.layer.v1.tar", l.Digest, len(l.Bytes)})
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return rawManifest{Bytes: b, Digest: sha256Digest(b), Config: config, Layers: layers}
}

// workers runs clients at once and gathers their errors.
type workers struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// spawn runs fn in a goroutine of its own; name prefixes its error.
func (w *workers) spawn(name string, fn func() error) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := fn(); err != nil {
			w.mu.Lock()
			w.errs = append(w.errs, fmt.Errorf("%s: %w", name, err))
			w.mu.Unlock()
		}
	}()
}

// wait waits for every client and stops the test if any failed.
func (w *workers) wait(t testing.TB) {
	t.Helper()
	w.wg.Wait()
	for _, err := range w.errs {
		t.Error(err)
	}
	if len(w.errs) > 0 {
		t.FailNow()
	}
}

// sizeString is how a replicaState records a blob served whole: its size.
func sizeString(n int) string { return strconv.Itoa(n) }
