package registry_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/berthhq/berth/registry"
	"github.com/opencontainers/go-digest"
)

// TestErrorCodes sends bad input of every kind and checks the status, the
// spec's error code and that what was stored before still reads back whole.
func TestErrorCodes(t *testing.T) {
	for _, drv := range drivers {
		t.Run(drv.name, func(t *testing.T) {
			base, _ := newServer(t, drv.new(t))
			img := pushImage(t, base, "good/app", "v1")
			missing := digest.FromString("not pushed")
			badLayer := imageManifest(img.config, missing, 10, 10, "")
			oci := map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
			cases := []struct {
				name   string
				call   call
				status int
				code   string
			}{
				{"unknown blob", call{method: "GET", path: "/v2/good/app/blobs/" + missing.String()}, 404, "BLOB_UNKNOWN"},
				{"blob of other repo", call{method: "GET", path: "/v2/other/app/blobs/" + img.layer.String()}, 404, "BLOB_UNKNOWN"},
				{"malformed digest", call{method: "GET", path: "/v2/good/app/blobs/sha256:xyz"}, 400, "DIGEST_INVALID"},
				{"unknown algorithm", call{method: "GET", path: "/v2/good/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e"}, 400, "DIGEST_INVALID"},
				{"uppercase name", call{method: "GET", path: "/v2/Good/app/manifests/v1"}, 400, "NAME_INVALID"},
				{"name with dots", call{method: "GET", path: "/v2/good/../app/tags/list"}, 400, "NAME_INVALID"},
				{"too long name", call{method: "GET", path: "/v2/" + strings.Repeat("a", 256) + "/tags/list"}, 400, "NAME_INVALID"},
				{"unknown tag", call{method: "GET", path: "/v2/good/app/manifests/nope"}, 404, "MANIFEST_UNKNOWN"},
				{"unknown manifest digest", call{method: "GET", path: "/v2/good/app/manifests/" + missing.String()}, 404, "MANIFEST_UNKNOWN"},
				{"unknown repository tags", call{method: "GET", path: "/v2/no/such/tags/list"}, 404, "NAME_UNKNOWN"},
				{"invalid tag", call{method: "PUT", path: "/v2/good/app/manifests/-bad", header: oci, body: img.manifest}, 400, "MANIFEST_INVALID"},
				{"missing blob", call{method: "PUT", path: "/v2/good/app/manifests/v2", header: oci, body: badLayer}, 400, "MANIFEST_BLOB_UNKNOWN"},
				{"wrong manifest digest", call{method: "PUT", path: "/v2/good/app/manifests/" + missing.String(), header: oci, body: img.manifest}, 400, "DIGEST_INVALID"},
				{"unknown media type", call{method: "PUT", path: "/v2/good/app/manifests/v1", header: map[string]string{"Content-Type": "application/x-foo"}, body: img.manifest}, 400, "MANIFEST_INVALID"},
				{"media type mismatch", call{method: "PUT", path: "/v2/good/app/manifests/v1", header: map[string]string{"Content-Type": "application/vnd.oci.image.index.v1+json"}, body: img.manifest}, 400, "MANIFEST_INVALID"},
				{"not json", call{method: "PUT", path: "/v2/good/app/manifests/v1", header: oci, body: []byte("{nope")}, 400, "MANIFEST_INVALID"},
				{"schema 1", call{method: "PUT", path: "/v2/good/app/manifests/v1", header: oci, body: []byte(`{"schemaVersion":1}`)}, 400, "MANIFEST_INVALID"},
				{"oversized manifest", call{method: "PUT", path: "/v2/good/app/manifests/v1", header: oci, body: bytes.Repeat([]byte(" "), 4<<20+1)}, 413, "MANIFEST_INVALID"},
				{"wrong blob digest", call{method: "POST", path: "/v2/good/app/blobs/uploads/?digest=" + missing.String(), body: []byte("other bytes")}, 400, "DIGEST_INVALID"},
				{"malformed upload digest", call{method: "POST", path: "/v2/good/app/blobs/uploads/?digest=sha256:1234", body: []byte("x")}, 400, "DIGEST_INVALID"},
				{"unknown upload", call{method: "PATCH", path: "/v2/good/app/blobs/uploads/3f0c9a52-5a0b-4a8e-9b53-3f8c2c8e1a11", body: []byte("x")}, 404, "BLOB_UPLOAD_UNKNOWN"},
				{"malformed upload id", call{method: "GET", path: "/v2/good/app/blobs/uploads/not-a-uuid"}, 404, "BLOB_UPLOAD_UNKNOWN"},
				{"encoded slash in upload id", call{method: "GET", path: "/v2/good/app/blobs/uploads/..%2f..%2fx"}, 404, "NAME_UNKNOWN"},
				{"bad page size", call{method: "GET", path: "/v2/_catalog?n=-1"}, 400, "UNSUPPORTED"},
				{"unknown subject digest", call{method: "GET", path: "/v2/good/app/referrers/sha256:nope"}, 400, "DIGEST_INVALID"},
				{"method not allowed", call{method: "POST", path: "/v2/good/app/tags/list"}, 405, "UNSUPPORTED"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					r := tc.call.do(t, base)
					if r.status != tc.status || r.errorCode() != tc.code {
						t.Fatalf("got %d %s (%s), want %d %s", r.status, r.errorCode(), r.body, tc.status, tc.code)
					}
					if ct := r.header.Get("Content-Type"); ct != "application/json" {
						t.Errorf("error Content-Type %q", ct)
					}
					assertImage(t, base, "good/app", "v1", img)
				})
			}
		})
	}
}

// assertImage checks that repo:tag still serves img, byte for byte.
func assertImage(t *testing.T, base, repo, tag string, img testImage) {
	t.Helper()
	r := call{method: "GET", path: "/v2/" + repo + "/manifests/" + tag}.do(t, base)
	if r.status != 200 || !bytes.Equal(r.body, img.manifest) {
		t.Fatalf("stored manifest changed: %d %s", r.status, r.body)
	}
	for _, d := range []digest.Digest{img.config, img.layer} {
		r := call{method: "GET", path: "/v2/" + repo + "/blobs/" + d.String()}.do(t, base)
		if r.status != 200 || digest.FromBytes(r.body) != d {
			t.Fatalf("stored blob %s changed: %d", d, r.status)
		}
	}
}

// TestDeletesDisabled checks every DELETE answers 405 UNSUPPORTED and
// removes nothing when deletes are off.
func TestDeletesDisabled(t *testing.T) {
	base, _ := newServer(t, fsDriver(t), registry.WithDeleteEnabled(false))
	img := pushImage(t, base, "keep/me", "v1")
	for _, path := range []string{
		"/v2/keep/me/manifests/v1",
		"/v2/keep/me/manifests/" + img.digest.String(),
		"/v2/keep/me/blobs/" + img.layer.String(),
	} {
		r := call{method: "DELETE", path: path}.do(t, base)
		if r.status != http.StatusMethodNotAllowed || r.errorCode() != "UNSUPPORTED" {
			t.Errorf("DELETE %s: %d %s", path, r.status, r.body)
		}
	}
	assertImage(t, base, "keep/me", "v1", img)
}
