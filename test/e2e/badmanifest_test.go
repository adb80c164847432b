//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	ociManifestType = "application/vnd.oci.image.manifest.v1+json"
	ociIndexType    = "application/vnd.oci.image.index.v1+json"
	ociConfigType   = "application/vnd.oci.image.config.v1+json"
	ociLayerType    = "application/vnd.oci.image.layer.v1.tar+gzip"
	dockerManifest  = "application/vnd.docker.distribution.manifest.v2+json"
)

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int    `json:"size"`
}

func describe(mediaType string, b blobData) descriptor {
	return descriptor{MediaType: mediaType, Digest: b.Digest, Size: len(b.Bytes)}
}

// manifestJSON is an OCI image manifest over config and layers.
func manifestJSON(t testing.TB, config descriptor, layers ...descriptor) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": ociManifestType, "config": config, "layers": layers,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// putManifest PUTs body as mediaType to repo:ref.
func (a *api) putManifest(repo, ref, mediaType string, body []byte) *response {
	a.t.Helper()
	return a.do("PUT", "/v2/"+repo+"/manifests/"+ref, hdr{"Content-Type", mediaType}, body)
}

// uploadBlob stores b in repo.
func (a *api) uploadBlob(repo string, b blobData) {
	a.t.Helper()
	a.finish(a.startUpload(repo), b.Digest, b.Bytes).expect(a.t, http.StatusCreated)
}

// deviates marks a case where Distribution v3.1.2 answers differently from
// the spec (and from Berth): when running against Distribution the check
// is skipped with the reason, so the suite stays useful against both.
func deviates(t *testing.T, reg *Registry, how string) {
	t.Helper()
	if reg.Flavor == Distribution {
		t.Skip("Distribution v3.1.2 deviates here: " + how)
	}
}

// TestBadManifests sends broken manifests, names and references through
// the HTTP API of the real binary; after each case every previously pushed
// image still pulls with identical digests.
func TestBadManifests(t *testing.T) {
	t.Parallel()
	reg := startTarget(t)
	a := reg.API(t)
	f := pushFixture(t, reg)
	const repo = "bad/manifest"

	config := blobData{Bytes: []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)}
	config.Digest = sha256Digest(config.Bytes)
	layer := newBlob(t, 1024)
	a.uploadBlob(repo, config)
	a.uploadBlob(repo, layer)
	good := manifestJSON(t, describe(ociConfigType, config), describe(ociLayerType, layer))
	goodDigest := sha256Digest(good)
	a.putManifest(repo, "keep", ociManifestType, good).expect(t, http.StatusCreated)

	// unchanged checks the repository still serves "keep" and nothing else.
	unchanged := func(t *testing.T) {
		t.Helper()
		resp := a.do("GET", "/v2/"+repo+"/manifests/keep", hdr{"Accept", ociManifestType}, nil).expect(t, http.StatusOK)
		if got := sha256Digest(resp.Body); got != goodDigest {
			t.Errorf("tag keep now serves %s, want %s", got, goodDigest)
		}
		if got := tags(t, reg, repo); !slices.Equal(got, []string{"keep"}) {
			t.Errorf("tags %v, want [keep]", got)
		}
	}
	// rejected checks a manifest was refused and left nothing behind.
	rejected := func(t *testing.T, resp *response, body []byte, status int, codes ...string) {
		t.Helper()
		resp.expectError(t, status, codes...)
		a.do("GET", "/v2/"+repo+"/manifests/"+sha256Digest(body), nil, nil).
			expectError(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
	}

	cases := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"layer blob missing", func(t *testing.T) {
			body := manifestJSON(t, describe(ociConfigType, config), describe(ociLayerType, newBlob(t, 10)))
			rejected(t, a.putManifest(repo, "missing-layer", ociManifestType, body), body, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		}},
		{"config blob missing", func(t *testing.T) {
			body := manifestJSON(t, describe(ociConfigType, newBlob(t, 10)), describe(ociLayerType, layer))
			rejected(t, a.putManifest(repo, "missing-config", ociManifestType, body), body, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		}},
		{"blob only in another repository", func(t *testing.T) {
			other := newBlob(t, 100)
			a.uploadBlob("bad/elsewhere", other)
			body := manifestJSON(t, describe(ociConfigType, config), describe(ociLayerType, other))
			rejected(t, a.putManifest(repo, "foreign-layer", ociManifestType, body), body, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		}},
		{"overwriting a tag with a broken manifest", func(t *testing.T) {
			body := manifestJSON(t, describe(ociConfigType, config), describe(ociLayerType, newBlob(t, 10)))
			rejected(t, a.putManifest(repo, "keep", ociManifestType, body), body, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		}},
		{"index with an unknown child", func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{
				"schemaVersion": 2, "mediaType": ociIndexType,
				"manifests": []descriptor{{MediaType: ociManifestType, Digest: newBlob(t, 10).Digest, Size: 10}},
			})
			rejected(t, a.putManifest(repo, "sparse-index", ociIndexType, body), body, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN")
		}},
		{"digest reference that does not match the body", func(t *testing.T) {
			// good itself is stored (as keep), so only the answer is checked.
			wrong := newBlob(t, 10).Digest
			a.putManifest(repo, wrong, ociManifestType, good).expectError(t, http.StatusBadRequest, "DIGEST_INVALID")
			a.do("GET", "/v2/"+repo+"/manifests/"+wrong, nil, nil).expectError(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
		}},
		{"malformed digest reference", func(t *testing.T) {
			deviates(t, reg, "its routes do not match a malformed digest, so it answers 404 without an error body")
			for _, ref := range []string{"sha256:xyz", "sha256:" + strings.Repeat("a", 63), "md5:d41d8cd98f00b204e9800998ecf8427e"} {
				a.putManifest(repo, ref, ociManifestType, good).expectError(t, http.StatusBadRequest, "DIGEST_INVALID")
			}
		}},
		{"unknown manifest media type", func(t *testing.T) {
			for _, ct := range []string{"application/vnd.example.unknown+json", "text/plain"} {
				body := []byte(`{"schemaVersion":2,"config":{},"layers":[]}`)
				resp := a.putManifest(repo, "unknown-type", ct, body)
				if resp.Status == http.StatusUnsupportedMediaType {
					resp.expectError(t, http.StatusUnsupportedMediaType, "MANIFEST_INVALID", "UNSUPPORTED")
				} else {
					resp.expectError(t, http.StatusBadRequest, "MANIFEST_INVALID", "UNSUPPORTED")
				}
			}
		}},
		{"Content-Type disagreeing with the body's mediaType", func(t *testing.T) {
			a.putManifest(repo, "mismatch", dockerManifest, good).expectError(t, http.StatusBadRequest, "MANIFEST_INVALID")
		}},
		{"not a manifest", func(t *testing.T) {
			for _, body := range []string{`{"schemaVersion":2,`, `not json`, `[]`, ``} {
				rejected(t, a.putManifest(repo, "garbage", ociManifestType, []byte(body)), []byte(body), http.StatusBadRequest, "MANIFEST_INVALID")
			}
		}},
		{"unsupported schemaVersion", func(t *testing.T) {
			deviates(t, reg, "it answers 500 UNKNOWN (unrecognized manifest schema version)")
			body := []byte(`{"schemaVersion":3,"mediaType":"` + ociManifestType + `"}`)
			rejected(t, a.putManifest(repo, "schema3", ociManifestType, body), body, http.StatusBadRequest, "MANIFEST_INVALID")
		}},
		{"manifest body cut short", func(t *testing.T) {
			res := rawRequest(t, reg, "PUT", reg.URL("/v2/"+repo+"/manifests/truncated"), hdr{
				"Content-Type", ociManifestType, "Content-Length", strconv.Itoa(len(good)),
			}, good[:len(good)/2], true)
			if res.Status >= 200 && res.Status < 300 {
				t.Fatalf("half a manifest was accepted: %d %s", res.Status, res.Body)
			}
			a.do("GET", "/v2/"+repo+"/manifests/truncated", nil, nil).expectError(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
		}},
		{"invalid tags", func(t *testing.T) {
			deviates(t, reg, "its routes do not match an invalid tag, so it answers 404 without an error body")
			for _, tag := range []string{"-lead", ".dot", strings.Repeat("t", 129), "has+plus", "sp%20ace", "%2e%2e"} {
				a.putManifest(repo, tag, ociManifestType, good).expectError(t, http.StatusBadRequest, "TAG_INVALID", "MANIFEST_INVALID")
			}
		}},
		{"invalid repository names", func(t *testing.T) {
			deviates(t, reg, "its routes do not match an invalid name, so it answers 404 (or a 301 to a cleaned path) without NAME_INVALID")
			long := strings.Repeat("a/", 127) + "ab" // 256 characters
			for _, name := range []string{"UPPER/case", "a___b", "-lead", "trail-", "a..b", "a//b", "%2e%2e/escape", "a/%2e%2e/b", long} {
				a.do("POST", "/v2/"+name+"/blobs/uploads/", nil, nil).expectError(t, http.StatusBadRequest, "NAME_INVALID")
				a.putManifest(name, "v1", ociManifestType, good).expectError(t, http.StatusBadRequest, "NAME_INVALID")
				a.do("GET", "/v2/"+name+"/manifests/v1", nil, nil).expectError(t, http.StatusBadRequest, "NAME_INVALID")
				a.do("GET", "/v2/"+name+"/tags/list", nil, nil).expectError(t, http.StatusBadRequest, "NAME_INVALID")
			}
		}},
		{"unknown references", func(t *testing.T) {
			a.do("GET", "/v2/"+repo+"/manifests/nope", nil, nil).expectError(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
			a.do("GET", "/v2/"+repo+"/manifests/"+newBlob(t, 1).Digest, nil, nil).expectError(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
			a.do("DELETE", "/v2/"+repo+"/manifests/"+newBlob(t, 1).Digest, nil, nil).expectError(t, http.StatusNotFound, "MANIFEST_UNKNOWN")
			a.do("GET", "/v2/bad/no-such-repo/manifests/v1", nil, nil).expectError(t, http.StatusNotFound, "NAME_UNKNOWN", "MANIFEST_UNKNOWN")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t)
			unchanged(t)
			f.verify(t, reg)
		})
	}
	// None of the refused names may have created a repository (a repository
	// holding only blobs, bad/elsewhere, is not listed: registry:2 lists
	// repositories with manifests).
	catalog, _ := a.paginate("/v2/_catalog", "repositories")
	want := append(f.repos(), repo)
	slices.Sort(want)
	if !slices.Equal(catalog, want) {
		t.Errorf("catalog after the bad input: %v, want %v", catalog, want)
	}
}
