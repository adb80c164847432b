//go:build e2e

package e2e

import (
	"slices"
	"strings"
	"testing"
)

// TestCtlCopy: ctl copy moves a multi-arch index between repositories
// with its digest and every platform's image, and --all-tags copies each
// tag of a repository; crane checks the result. The local store is not
// used.
func TestCtlCopy(t *testing.T) {
	t.Parallel()
	craneBin(t)
	ctlModes(t, func(t *testing.T, m ctlMode) {
		c := m.workstation(t)

		t.Run("multi-arch index keeps its digest", func(t *testing.T) {
			t.Parallel()
			idx := multiArch(t, "linux/amd64", "linux/arm64/v8", "linux/s390x")
			want := m.put(t, "alice/multi:v1", idx)
			src, dst := m.reg.Ref("alice/multi:v1"), m.reg.Ref("alice/multi-copy:v1")
			c.run(t, "copy", src, dst)
			for _, r := range []string{src, dst} {
				if got := c.crane(t, "digest", r); got != want {
					t.Errorf("crane digest %s: %s, want %s", r, got, want)
				}
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			for _, child := range im.Manifests {
				plat := child.Platform.String()
				if got := c.crane(t, "digest", "--platform", plat, dst); got != child.Digest.String() {
					t.Errorf("%s of the copy: %s, want %s", plat, got, child.Digest)
				}
			}
			c.crane(t, "validate", "--remote", dst)
			if got := c.images(t); len(got) != 0 {
				t.Errorf("ctl copy put images in the local store: %+v", got)
			}
		})

		t.Run("all tags", func(t *testing.T) {
			t.Parallel()
			img := dockerImage(t, 4<<10, 2)
			want := map[string]string{
				"a":      m.put(t, "alice/tagged:a", img),
				"b":      m.put(t, "alice/tagged:b", img),
				"index":  m.put(t, "alice/tagged:index", multiArch(t, "linux/amd64", "linux/arm/v7")),
				"oci-v2": m.put(t, "alice/tagged:oci-v2", ociImage(t, 8<<10, 1)),
			}
			out := c.run(t, "copy", "--all-tags", m.reg.Ref("alice/tagged"), m.reg.Ref("alice/tagged-copy"))
			tagList := lines(c.crane(t, "ls", m.reg.Ref("alice/tagged-copy")))
			slices.Sort(tagList)
			if wantTags := []string{"a", "b", "index", "oci-v2"}; !slices.Equal(tagList, wantTags) {
				t.Errorf("tags of the copy %v, want %v; ctl copy printed:\n%s", tagList, wantTags, out)
			}
			for tag, d := range want {
				if got := c.crane(t, "digest", m.reg.Ref("alice/tagged-copy:"+tag)); got != d {
					t.Errorf("tagged-copy:%s is %s, want %s", tag, got, d)
				}
				if line := tag + ": digest: " + d; !strings.Contains(out, line) {
					t.Errorf("ctl copy --all-tags printed no %q:\n%s", line, out)
				}
			}
		})
	})
}
