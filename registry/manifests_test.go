package registry_test

import (
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestManifestKinds pushes each manifest kind and reads it back with its
// media type, length and digest headers.
func TestManifestKinds(t *testing.T) {
	base, _ := newServer(t, fsDriver(t))
	img := pushImage(t, base, "kinds", "oci")
	cfg := pushBlob(t, base, "kinds", []byte(`{"os":"linux"}`))
	docker := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",` +
		`"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` + cfg.String() + `","size":14},` +
		`"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"` + img.layer.String() + `","size":4096},` +
		`{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"` + digest.FromString("foreign").String() + `","size":7,"urls":["https://example.com/layer"]}]}`)
	ociIndex := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[` +
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + img.digest.String() + `","size":` + itoa(len(img.manifest)) + `,"platform":{"os":"linux","architecture":"amd64"}}]}`)
	list := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[` +
		`{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"` + digest.FromBytes(docker).String() + `","size":` + itoa(len(docker)) + `,"platform":{"os":"linux","architecture":"arm64"}}]}`)
	noMediaType := []byte(`{"schemaVersion":2,"manifests":[]}`)
	for _, tc := range []struct {
		tag, ct, wantCT string
		body            []byte
	}{
		{"docker", "application/vnd.docker.distribution.manifest.v2+json", "", docker},
		{"index", "application/vnd.oci.image.index.v1+json", "", ociIndex},
		{"list", "application/vnd.docker.distribution.manifest.list.v2+json", "", list},
		{"bare", "application/vnd.oci.image.index.v1+json", "", noMediaType},
		{"untyped", "", "application/vnd.oci.image.index.v1+json", noMediaType},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			r := call{method: "PUT", path: "/v2/kinds/manifests/" + tc.tag, header: map[string]string{"Content-Type": tc.ct}, body: tc.body}.do(t, base)
			if r.status != 201 {
				t.Fatalf("PUT: %d %s", r.status, r.body)
			}
			d := digest.FromBytes(tc.body)
			want := tc.ct
			if tc.wantCT != "" {
				want = tc.wantCT
			}
			for _, ref := range []string{tc.tag, d.String()} {
				for _, method := range []string{"HEAD", "GET"} {
					r := call{method: method, path: "/v2/kinds/manifests/" + ref}.do(t, base)
					if r.status != 200 || r.header.Get("Content-Type") != want ||
						r.header.Get("Docker-Content-Digest") != d.String() || r.header.Get("Content-Length") != itoa(len(tc.body)) {
						t.Fatalf("%s %s: %d %v", method, ref, r.status, r.header)
					}
				}
			}
		})
	}
}

// TestSHA512 pushes a blob and a manifest addressed by sha512 digests.
func TestSHA512(t *testing.T) {
	base, _ := newServer(t, fsDriver(t))
	blob := randomBytes(t, 100000)
	d := digest.NewDigestFromBytes(digest.SHA512, sha512Sum(blob))
	r := call{method: "POST", path: "/v2/big/hash/blobs/uploads/"}.do(t, base)
	loc := r.header.Get("Location")
	r = call{method: "PATCH", path: loc, body: blob}.do(t, base)
	if r.status != 202 {
		t.Fatalf("PATCH: %d", r.status)
	}
	r = call{method: "PUT", path: loc + "?digest=" + d.String()}.do(t, base)
	if r.status != 201 {
		t.Fatalf("PUT sha512: %d %s", r.status, r.body)
	}
	r = call{method: "GET", path: "/v2/big/hash/blobs/" + d.String()}.do(t, base)
	if r.status != 200 || len(r.body) != len(blob) {
		t.Fatalf("GET sha512 blob: %d", r.status)
	}
	img := pushImage(t, base, "big/hash", "v1")
	md := digest.NewDigestFromBytes(digest.SHA512, sha512Sum(img.manifest))
	r = call{method: "PUT", path: "/v2/big/hash/manifests/" + md.String(),
		header: map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, body: img.manifest}.do(t, base)
	if r.status != 201 || r.header.Get("Docker-Content-Digest") != md.String() {
		t.Fatalf("PUT manifest by sha512: %d %s", r.status, r.body)
	}
}

func sha512Sum(b []byte) []byte { s := sha512.Sum512(b); return s[:] }

// TestReferrers pushes artifacts with a subject and lists them, filtered
// and not, and checks a delete drops one from the list.
func TestReferrers(t *testing.T) {
	base, _ := newServer(t, fsDriver(t))
	img := pushImage(t, base, "art", "v1")
	empty := pushBlob(t, base, "art", []byte("{}"))
	push := func(artifactType string) digest.Digest {
		body := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"` + artifactType + `",` +
			`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"` + empty.String() + `","size":2},"layers":[],` +
			`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"` + img.digest.String() + `","size":` + itoa(len(img.manifest)) + `},` +
			`"annotations":{"org.example.kind":"` + artifactType + `"}}`)
		d := digest.FromBytes(body)
		r := call{method: "PUT", path: "/v2/art/manifests/" + d.String(),
			header: map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, body: body}.do(t, base)
		if r.status != 201 || r.header.Get("OCI-Subject") != img.digest.String() {
			t.Fatalf("push referrer: %d %v %s", r.status, r.header, r.body)
		}
		return d
	}
	sig, sbom := push("application/vnd.example.sig"), push("application/vnd.example.sbom")
	list := func(query string) (result, []string) {
		r := call{method: "GET", path: "/v2/art/referrers/" + img.digest.String() + query}.do(t, base)
		var idx struct {
			MediaType string
			Manifests []struct {
				Digest       string
				ArtifactType string
				Annotations  map[string]string
			}
		}
		if err := json.Unmarshal(r.body, &idx); err != nil || r.status != 200 || idx.MediaType != "application/vnd.oci.image.index.v1+json" {
			t.Fatalf("referrers: %d %s", r.status, r.body)
		}
		var got []string
		for _, m := range idx.Manifests {
			if m.Annotations["org.example.kind"] != m.ArtifactType {
				t.Errorf("descriptor %s lost its annotations", m.Digest)
			}
			got = append(got, m.Digest)
		}
		return r, got
	}
	if _, got := list(""); len(got) != 2 {
		t.Fatalf("want 2 referrers, got %v", got)
	}
	r, got := list("?artifactType=application/vnd.example.sbom")
	if len(got) != 1 || got[0] != sbom.String() || r.header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("filtered: %v %v", got, r.header)
	}
	if r := (call{method: "DELETE", path: "/v2/art/manifests/" + sbom.String()}).do(t, base); r.status != 202 {
		t.Fatalf("delete: %d", r.status)
	}
	if _, got := list(""); len(got) != 1 || got[0] != sig.String() {
		t.Fatalf("after delete: %v", got)
	}
}

// TestDeleteManifestAndTags checks DELETE by tag removes only the tag and
// DELETE by digest removes the manifest and the tags pointing at it.
func TestDeleteManifestAndTags(t *testing.T) {
	base, _ := newServer(t, fsDriver(t))
	img := pushImage(t, base, "del", "a")
	for _, tag := range []string{"b", "c"} {
		r := call{method: "PUT", path: "/v2/del/manifests/" + tag, header: map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, body: img.manifest}.do(t, base)
		if r.status != 201 {
			t.Fatal(r.status)
		}
	}
	other := pushImage(t, base, "del", "other")
	if r := (call{method: "DELETE", path: "/v2/del/manifests/a"}).do(t, base); r.status != 202 {
		t.Fatalf("delete tag: %d", r.status)
	}
	if r := (call{method: "GET", path: "/v2/del/manifests/" + img.digest.String()}).do(t, base); r.status != 200 {
		t.Fatalf("manifest gone with its tag: %d", r.status)
	}
	if r := (call{method: "DELETE", path: "/v2/del/manifests/" + img.digest.String()}).do(t, base); r.status != 202 {
		t.Fatalf("delete manifest: %d", r.status)
	}
	for _, ref := range []string{"b", "c", img.digest.String()} {
		if r := (call{method: "HEAD", path: "/v2/del/manifests/" + ref}).do(t, base); r.status != 404 {
			t.Errorf("%s still there: %d", ref, r.status)
		}
	}
	assertImage(t, base, "del", "other", other)
	if r := (call{method: "DELETE", path: "/v2/del/blobs/" + other.layer.String()}).do(t, base); r.status != 202 {
		t.Fatalf("delete blob: %d", r.status)
	}
	if r := (call{method: "HEAD", path: "/v2/del/blobs/" + other.layer.String()}).do(t, base); r.status != 404 {
		t.Fatalf("deleted blob: %d", r.status)
	}
}

// TestPagination lists tags and the catalog page by page through the Link
// headers and checks n is bounded.
func TestPagination(t *testing.T) {
	base, _ := newServer(t, fsDriver(t))
	img := pushImage(t, base, "pages/a", "t0")
	for i := 1; i < 7; i++ {
		r := call{method: "PUT", path: fmt.Sprintf("/v2/pages/a/manifests/t%d", i), header: map[string]string{"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, body: img.manifest}.do(t, base)
		if r.status != 201 {
			t.Fatal(r.status)
		}
	}
	for _, name := range []string{"pages/b", "pages-c", "pages/a/d"} {
		pushImage(t, base, name, "x")
	}
	follow := func(path, field string) []string {
		var all []string
		for path != "" {
			r := call{method: "GET", path: path}.do(t, base)
			var page map[string]json.RawMessage
			if r.status != http.StatusOK || json.Unmarshal(r.body, &page) != nil {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			var items []string
			json.Unmarshal(page[field], &items)
			if len(items) > 2 {
				t.Fatalf("page of %d items with n=2", len(items))
			}
			all = append(all, items...)
			path = ""
			if link := r.header.Get("Link"); link != "" {
				fmt.Sscanf(link, "<%s", &path)
				path = path[:len(path)-2] // drop `>;`
			}
		}
		return all
	}
	tags := follow("/v2/pages/a/tags/list?n=2", "tags")
	if fmt.Sprint(tags) != "[t0 t1 t2 t3 t4 t5 t6]" {
		t.Fatalf("tags %v", tags)
	}
	repos := follow("/v2/_catalog?n=2", "repositories")
	if fmt.Sprint(repos) != "[pages-c pages/a pages/a/d pages/b]" {
		t.Fatalf("catalog %v", repos)
	}
	r := call{method: "GET", path: "/v2/pages/a/tags/list?n=0"}.do(t, base)
	if r.status != 200 || string(r.body) != `{"name":"pages/a","tags":[]}` {
		t.Fatalf("n=0: %s", r.body)
	}
	r = call{method: "GET", path: "/v2/pages/a/tags/list?n=1000000"}.do(t, base)
	if r.status != 200 {
		t.Fatalf("huge n: %d", r.status)
	}
}
