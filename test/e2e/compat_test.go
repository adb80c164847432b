//go:build e2e

package e2e

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// view is everything a registry serves for a fixture: each reference's
// digest, media type and manifest bytes, the catalog and every tag list.
type view struct {
	Refs    map[string]served
	Catalog []string
	Tags    map[string][]string
}

func takeView(t testing.TB, reg *Registry, f fixture) view {
	t.Helper()
	v := view{Refs: map[string]served{}, Tags: map[string][]string{}}
	for r := range f.refs {
		v.Refs[r] = pull(t, reg.Ref(r))
	}
	v.Catalog, _ = reg.API(t).paginate("/v2/_catalog", "repositories")
	for repo := range f.tags {
		v.Tags[repo] = tags(t, reg, repo)
	}
	return v
}

// sameView fails unless b serves exactly what a served.
func sameView(t testing.TB, a, b view, aName, bName string) {
	t.Helper()
	for _, r := range slices.Sorted(maps.Keys(a.Refs)) {
		x, y := a.Refs[r], b.Refs[r]
		if x.Digest != y.Digest || x.MediaType != y.MediaType || !bytes.Equal(x.Manifest, y.Manifest) {
			t.Errorf("%s: %s serves %s (%s), %s serves %s (%s)", r, aName, x.Digest, x.MediaType, bName, y.Digest, y.MediaType)
		}
	}
	if !slices.Equal(a.Catalog, b.Catalog) {
		t.Errorf("catalog: %s lists %v, %s lists %v", aName, a.Catalog, bName, b.Catalog)
	}
	for repo, ts := range a.Tags {
		if !slices.Equal(ts, b.Tags[repo]) {
			t.Errorf("%s tags: %s lists %v, %s lists %v", repo, aName, ts, bName, b.Tags[repo])
		}
	}
}

// TestCompatibility checks DESIGN.md's promise that Berth and the CNCF
// Distribution registry (registry:2) read each other's storage unchanged.
func TestCompatibility(t *testing.T) {
	t.Parallel()
	berthBin(t)
	distributionBin(t)

	for _, tc := range []struct {
		name           string
		writer, reader Flavor
	}{
		{"distribution writes berth serves", Distribution, Berth},
		{"berth writes distribution serves", Berth, Distribution},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := storageUnderTest(t)
			w := startRegistry(t, tc.writer, st, startOptions{})
			f := pushFixture(t, w)
			before := takeView(t, w, f)
			w.Stop(t)

			r := startRegistry(t, tc.reader, st, startOptions{})
			f.verify(t, r)
			sameView(t, before, takeView(t, r, f), string(tc.writer), string(tc.reader))

			// The reader writes too (a new tag, a deletion); the writer,
			// started again, must see exactly that.
			extra := push(t, r.Ref("fixture/oci:v3"), ociImage(t, 1024, 1))
			del := f.refs["fixture/docker:v1"]
			deleteManifest(t, r, "fixture/docker", del.String())
			r.Stop(t)
			w2 := startRegistry(t, tc.writer, st, startOptions{})
			expectServed(t, w2.Ref("fixture/oci:v3"), extra)
			expectServed(t, w2.Ref("fixture/oci:v1"), f.refs["fixture/oci:v1"])
			resp := w2.API(t).do("GET", "/v2/fixture/docker/manifests/"+del.String(), nil, nil)
			resp.expectError(t, 404, "MANIFEST_UNKNOWN")
			if got := tags(t, w2, "fixture/oci"); !slices.Equal(got, []string{"v1", "v2", "v3"}) {
				t.Errorf("%s after %s added a tag: %v", tc.writer, tc.reader, got)
			}
		})
	}

	t.Run("same tree on disk", func(t *testing.T) {
		t.Parallel()
		dRoot, bRoot := t.TempDir(), t.TempDir()
		d := startRegistry(t, Distribution, Filesystem(dRoot), startOptions{})
		b := startRegistry(t, Berth, Filesystem(bRoot), startOptions{})
		img, idx := ociImage(t, 2048, 2), multiArch(t, "linux/amd64", "linux/arm64/v8")
		docker := dockerImage(t, 1024, 1)
		for _, reg := range []*Registry{d, b} {
			push(t, reg.Ref("tree/img:v1"), img)
			push(t, reg.Ref("tree/img:v2"), img)
			push(t, reg.Ref("tree/multi:latest"), idx)
			push(t, reg.Ref("tree/nested/docker:1"), docker)
		}
		d.Stop(t)
		b.Stop(t)
		dt, bt := readTree(t, dRoot), readTree(t, bRoot)
		for _, p := range slices.Sorted(maps.Keys(dt)) {
			if bv, ok := bt[p]; !ok {
				t.Errorf("Berth lacks %s (Distribution wrote it)", p)
			} else if bv != dt[p] {
				t.Errorf("%s: Distribution wrote %q, Berth %q", p, dt[p], bv)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(bt)) {
			if _, ok := dt[p]; !ok {
				t.Errorf("Berth wrote %s, which Distribution does not", p)
			}
		}
	})
}

// deleteManifest deletes repo@digest through the API.
func deleteManifest(t testing.TB, reg *Registry, repo, digest string) {
	t.Helper()
	reg.API(t).do("DELETE", "/v2/"+repo+"/manifests/"+digest, nil, nil).expect(t, 202)
}

// readTree maps each file under root/docker/registry/v2 to its content
// (links) or size marker (blob data), leaving out in-flight uploads.
func readTree(t testing.TB, root string) map[string]string {
	t.Helper()
	base := filepath.Join(root, "docker", "registry", "v2")
	out := map[string]string{}
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(base, p)
		if d.IsDir() {
			if d.Name() == "_uploads" {
				return filepath.SkipDir
			}
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(rel, "/data") {
			out[rel] = sha256Digest(b)
		} else {
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
