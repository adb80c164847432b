package storage_test

import (
	"bytes"
	"path"
	"slices"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
)

// TestReadsRegistry2Tree writes a repository the way registry:2 lays it out
// (paths.go), straight through the driver, and reads it with a Store. The
// manifests include ones registry:2 accepted but Berth's stricter checks
// would refuse: they are served as they are.
func TestReadsRegistry2Tree(t *testing.T) {
	layer := []byte("layer written by registry:2")
	ld := digest.FromBytes(layer)
	cases := []struct {
		name     string
		content  string
		wantType string
		link     func(d digest.Digest) string // link file content
	}{
		{"Docker manifest", `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` + ld.String() + `","size":27},"layers":[]}`,
			storage.MediaTypeDockerManifest, func(d digest.Digest) string { return d.String() }},
		{"link with a trailing newline", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + ld.String() + `","size":27},"layers":[]}`,
			storage.MediaTypeOCIManifest, func(d digest.Digest) string { return d.String() + "\n" }},
		{"index with a child lacking mediaType", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"digest":"` + ld.String() + `","size":27}]}`,
			storage.MediaTypeOCIIndex, func(d digest.Digest) string { return d.String() }},
		{"manifest without mediaType, layer lacking one", `{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"` + ld.String() + `","size":27},"layers":[{"digest":"` + ld.String() + `","size":27}]}`,
			storage.MediaTypeOCIManifest, func(d digest.Digest) string { return d.String() }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				ctx := t.Context()
				content := []byte(tc.content)
				md := digest.FromBytes(content)
				repo := repoDir("lib/r2")
				put := func(p string, b []byte) {
					t.Helper()
					if err := e.d.PutContent(ctx, p, b); err != nil {
						t.Fatal(err)
					}
				}
				put(blobData(ld), layer)
				put(path.Join(repo, "_layers/sha256", ld.Encoded(), "link"), []byte(tc.link(ld)))
				put(blobData(md), content)
				put(path.Join(repo, "_manifests/revisions/sha256", md.Encoded(), "link"), []byte(tc.link(md)))
				put(path.Join(repo, "_manifests/tags/latest/index/sha256", md.Encoded(), "link"), []byte(tc.link(md)))
				put(path.Join(repo, "_manifests/tags/latest/current/link"), []byte(tc.link(md)))

				r := e.repo(t, "lib/r2")
				for _, ref := range []string{"latest", md.String()} {
					m, err := r.GetManifest(ctx, ref)
					if err != nil {
						t.Fatalf("GetManifest(%s): %v", ref, err)
					}
					checkManifest(t, "GetManifest("+ref+")", m, md, tc.wantType, content)
					desc, err := r.StatManifest(ctx, ref)
					if err != nil || desc.MediaType != tc.wantType || desc.Size != int64(len(content)) {
						t.Errorf("StatManifest(%s) = %+v, %v", ref, desc, err)
					}
				}
				if got := readBlob(t, r, ld); !bytes.Equal(got, layer) {
					t.Errorf("layer reads %q", got)
				}
				if tags, _, err := r.Tags(ctx, "", -1); err != nil || !slices.Equal(tags, []string{"latest"}) {
					t.Errorf("Tags = %q, %v", tags, err)
				}
				if repos, _, err := e.s.Catalog(ctx, "", -1); err != nil || !slices.Equal(repos, []string{"lib/r2"}) {
					t.Errorf("Catalog = %q, %v", repos, err)
				}
				// Berth's own writes land where registry:2 looks.
				if err := r.Tag(ctx, "v2", md); err != nil {
					t.Fatal(err)
				}
				link, err := e.d.GetContent(ctx, path.Join(repo, "_manifests/tags/v2/current/link"))
				if err != nil || string(link) != md.String() {
					t.Errorf("tag link = %q, %v; want %q", link, err, md)
				}
				if err := r.DeleteManifest(ctx, md); err != nil {
					t.Fatalf("DeleteManifest: %v", err)
				}
				assertAbsent(t, e.d, path.Join(repo, "_manifests/revisions/sha256", md.Encoded()))
				assertAbsent(t, e.d, path.Join(repo, "_manifests/tags/latest"))
			})
		})
	}
}
