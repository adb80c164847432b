package registry_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// call is one HTTP request against the API under test.
type call struct {
	method, path string
	header       map[string]string
	body         []byte
}

// result is what the server answered.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (c call) do(t *testing.T, base string) result {
	t.Helper()
	req, err := http.NewRequest(c.method, base+c.path, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body == nil {
		req.Body = http.NoBody
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return result{resp.StatusCode, resp.Header, body}
}

// errorCode returns the first code of a spec error envelope, or "".
func (r result) errorCode() string {
	var env struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	if json.Unmarshal(r.body, &env) != nil || len(env.Errors) == 0 {
		return ""
	}
	return env.Errors[0].Code
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// pushBlob uploads b monolithically to repo and returns its digest.
func pushBlob(t *testing.T, base, repo string, b []byte) digest.Digest {
	t.Helper()
	return pushBlobAs(t, base, repo, b, nil)
}

// pushBlobAs is pushBlob with extra request headers (credentials).
func pushBlobAs(t *testing.T, base, repo string, b []byte, hdr map[string]string) digest.Digest {
	t.Helper()
	d := digest.FromBytes(b)
	r := call{method: "POST", path: "/v2/" + repo + "/blobs/uploads/?digest=" + d.String(), header: hdr, body: b}.do(t, base)
	if r.status != http.StatusCreated {
		t.Fatalf("push blob: %d %s", r.status, r.body)
	}
	return d
}

// testImage is a pushed image: config, one layer and its manifest bytes.
type testImage struct {
	config, layer digest.Digest
	manifest      []byte
	digest        digest.Digest
}

// imageManifest builds an OCI manifest for blobs already pushed to repo.
func imageManifest(config, layer digest.Digest, configSize, layerSize int, extra string) []byte {
	return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + config.String() + `","size":` + itoa(configSize) + `},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"` + layer.String() + `","size":` + itoa(layerSize) + `}]` +
		extra + `}`)
}

func itoa(n int) string { return strings.TrimSpace(string(must(json.Marshal(n)))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// pushImage pushes a fresh image under repo:tag.
func pushImage(t *testing.T, base, repo, tag string) testImage {
	t.Helper()
	return pushImageAs(t, base, repo, tag, nil)
}

// pushImageAs is pushImage with extra request headers (credentials).
func pushImageAs(t *testing.T, base, repo, tag string, hdr map[string]string) testImage {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := randomBytes(t, 4096)
	img := testImage{config: pushBlobAs(t, base, repo, cfg, hdr), layer: pushBlobAs(t, base, repo, layer, hdr)}
	img.manifest = imageManifest(img.config, img.layer, len(cfg), len(layer), "")
	img.digest = digest.FromBytes(img.manifest)
	h := map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
	for k, v := range hdr {
		h[k] = v
	}
	r := call{method: "PUT", path: "/v2/" + repo + "/manifests/" + tag, header: h, body: img.manifest}.do(t, base)
	if r.status != http.StatusCreated {
		t.Fatalf("push manifest: %d %s", r.status, r.body)
	}
	return img
}
