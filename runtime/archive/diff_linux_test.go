package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"golang.org/x/sys/unix"
)

// overlayFixture builds a lower tree, mounts it under an overlay, makes
// changes through the merged view and unmounts. It returns the lower and
// upper directories and a listing of the merged view taken before unmount.
func overlayFixture(t *testing.T) (lower, upper string, merged map[string]string) {
	t.Helper()
	requireRoot(t)
	base := t.TempDir()
	lower, upper = filepath.Join(base, "lower"), filepath.Join(base, "upper")
	work, mnt := filepath.Join(base, "work"), filepath.Join(base, "merged")
	for _, d := range []string{lower, upper, work, mnt} {
		must(t, os.MkdirAll(d, 0o755))
	}
	write := func(root, name, body string) {
		p := filepath.Join(root, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(body), 0o644))
	}
	write(lower, "a", "a")
	write(lower, "b", "b")
	write(lower, "d/x", "x")
	write(lower, "d/y", "y")
	write(lower, "keep/sub/file", "old")
	write(lower, "keep/other", "other")
	write(lower, "e/f", "f")

	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", mnt, "overlay", 0, opts); err != nil {
		t.Fatalf("mounting overlay: %v", err)
	}
	mounted := true
	unmount := func() {
		if mounted {
			mounted = false
			if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", mnt, err)
			}
		}
	}
	t.Cleanup(unmount)

	write(mnt, "keep/sub/file", "new")                          // copies up keep/ and keep/sub/
	must(t, os.Remove(filepath.Join(mnt, "b")))                 // whiteout
	must(t, os.RemoveAll(filepath.Join(mnt, "d")))              // replaced by an opaque dir
	must(t, os.Mkdir(filepath.Join(mnt, "d"), 0o750))           //
	write(mnt, "d/z", "z")                                      //
	write(mnt, "new/n", "n")                                    // a new dir
	must(t, os.Symlink("../a", filepath.Join(mnt, "new/link"))) //
	must(t, os.Link(filepath.Join(mnt, "new/n"), filepath.Join(mnt, "new/hard")))
	must(t, unix.Setxattr(filepath.Join(mnt, "new/n"), "user.note", []byte("hi"), 0))
	must(t, os.Chmod(filepath.Join(mnt, "e"), 0o700)) // a real metadata change on a dir
	merged = listTree(t, mnt)
	unmount()
	return lower, upper, merged
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// listTree maps each path below root to its type, mode and content.
func listTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, de fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		out[rel] = desc
		return nil
	})
	must(t, err)
	return out
}

type diffEntry struct {
	Name, Link string
	Type       byte
	Body       string
	Xattrs     map[string]string
}

func readDiff(t *testing.T, b []byte) []diffEntry {
	t.Helper()
	var out []diffEntry
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		must(t, err)
		body, err := io.ReadAll(tr)
		must(t, err)
		e := diffEntry{Name: h.Name, Link: h.Linkname, Type: h.Typeflag, Body: string(body)}
		for k, v := range h.PAXRecords {
			if len(k) > 13 && k[:13] == "SCHILY.xattr." {
				if e.Xattrs == nil {
					e.Xattrs = map[string]string{}
				}
				e.Xattrs[k[13:]] = v
			}
		}
		out = append(out, e)
	}
}

func TestDiffOverlayUpper(t *testing.T) {
	lower, upper, merged := overlayFixture(t)
	base := []diffEntry{
		{Name: ".wh.b", Type: tar.TypeReg},
		{Name: "d/", Type: tar.TypeDir},
		{Name: "d/.wh..wh..opq", Type: tar.TypeReg},
		{Name: "d/z", Type: tar.TypeReg, Body: "z"},
		{Name: "e/", Type: tar.TypeDir},
	}
	tail := []diffEntry{
		{Name: "keep/sub/file", Type: tar.TypeReg, Body: "new"},
		{Name: "new/", Type: tar.TypeDir},
		{Name: "new/hard", Type: tar.TypeReg, Body: "n", Xattrs: map[string]string{"user.note": "hi"}},
		{Name: "new/link", Type: tar.TypeSymlink, Link: "../a"},
		{Name: "new/n", Type: tar.TypeLink, Link: "new/hard", Xattrs: map[string]string{"user.note": "hi"}},
	}
	tests := []struct {
		name  string
		lower []string
		want  []diffEntry
	}{
		{"with lower: copied-up parents left out", []string{lower}, append(append([]diffEntry{}, base...), tail...)},
		{"without lower: copied-up parents kept", nil, append(append(append([]diffEntry{}, base...),
			diffEntry{Name: "keep/", Type: tar.TypeDir}, diffEntry{Name: "keep/sub/", Type: tar.TypeDir}), tail...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			must(t, Diff(context.Background(), upper, tc.lower, &buf))
			got := readDiff(t, buf.Bytes())
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("diff entries:\n got %+v\nwant %+v", got, tc.want)
			}
			var again bytes.Buffer
			must(t, Diff(context.Background(), upper, tc.lower, &again))
			if !bytes.Equal(buf.Bytes(), again.Bytes()) {
				t.Fatal("Diff is not deterministic")
			}
			// Round trip: the diff applied flat onto a copy of lower is the merged view.
			dst := filepath.Join(t.TempDir(), "dst")
			if out, err := exec.Command("cp", "-a", lower, dst).CombinedOutput(); err != nil {
				t.Fatalf("cp -a: %v: %s", err, out)
			}
			if _, err := Apply(context.Background(), dst, bytes.NewReader(buf.Bytes()), WithWhiteoutMode(Remove)); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got := listTree(t, dst); !reflect.DeepEqual(got, merged) {
				t.Fatalf("applied tree differs from the merged view:\n got %v\nwant %v", sortedKV(got), sortedKV(merged))
			}
		})
	}
}

func sortedKV(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
