package snapshottest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berthhq/berth/runtime/archive"
	"github.com/berthhq/berth/runtime/mount"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"
)

// requireRoot stops a privileged test: a failure in CI (which runs as
// root), a skip elsewhere.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (overlay mounts, whiteout devices); CI runs as root")
	}
	t.Skip("needs root")
}

// tarEntry is a directory (body "/"), a file, or a whiteout name.
type tarEntry struct{ name, body string }

func layerTar(t *testing.T, ents ...tarEntry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Typeflag: tar.TypeReg, Size: int64(len(e.body))}
		if e.body == "/" {
			hdr = &tar.Header{Name: e.name, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// unpackChain applies each layer tar into its own snapshot.
func unpackChain(t *testing.T, s snapshot.Snapshotter, layers ...*bytes.Buffer) []digest.Digest {
	t.Helper()
	ctx := context.Background()
	diffs := make([]digest.Digest, len(layers))
	for i, l := range layers {
		diffs[i] = digest.FromBytes(l.Bytes())
	}
	ids := snapshot.ChainIDs(diffs)
	for i, l := range layers {
		var parent digest.Digest
		if i > 0 {
			parent = ids[i-1]
		}
		p, err := s.Prepare(ctx, ids[i], parent)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := archive.Apply(ctx, p.Dir(), l); err != nil {
			_ = p.Abort()
			t.Fatalf("apply layer %d: %v", i, err)
		}
		if err := p.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// mountAt performs ms on a fresh target and unmounts it at cleanup.
func mountAt(t *testing.T, ms []mount.Mount) string {
	t.Helper()
	target := t.TempDir()
	for _, m := range ms {
		if err := m.Mount(target); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := mount.Unmount(target, unix.MNT_DETACH); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
	}
	return target
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func overlayCases() []testCase {
	ctx := context.Background()
	return []testCase{
		{"overlay of a 3-layer chain with whiteout and opaque dir", func(t *testing.T, s snapshot.Snapshotter) {
			requireRoot(t)
			ids := unpackChain(t, s,
				layerTar(t, tarEntry{"etc/", "/"}, tarEntry{"etc/keep", "keep"}, tarEntry{"etc/gone", "gone"},
					tarEntry{"data/", "/"}, tarEntry{"data/old1", "1"}, tarEntry{"data/sub/old2", "2"}),
				layerTar(t, tarEntry{"etc/.wh.gone", ""}, tarEntry{"etc/added", "l2"}),
				layerTar(t, tarEntry{"data/", "/"}, tarEntry{"data/.wh..wh..opq", ""}, tarEntry{"data/new", "l3"}),
			)
			upper, work := t.TempDir(), t.TempDir()
			ms, err := s.Mounts(ctx, ids, upper, work)
			if err != nil {
				t.Fatal(err)
			}
			merged := mountAt(t, ms)
			if got, want := names(t, filepath.Join(merged, "etc")), []string{"added", "keep"}; !slices.Equal(got, want) {
				t.Errorf("etc = %q, want %q", got, want)
			}
			if _, err := os.Lstat(filepath.Join(merged, "etc/gone")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("whited-out etc/gone: %v", err)
			}
			if got, want := names(t, filepath.Join(merged, "data")), []string{"new"}; !slices.Equal(got, want) {
				t.Errorf("opaque data = %q, want %q", got, want)
			}
			if err := os.WriteFile(filepath.Join(merged, "etc/keep"), []byte("changed"), 0o644); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(filepath.Join(upper, "etc/keep")); err != nil || string(b) != "changed" {
				t.Errorf("upper etc/keep = %q, %v", b, err)
			}
			base, err := s.Stat(ctx, ids[0])
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(base.Dir, "etc/keep")); string(b) != "keep" {
				t.Errorf("write through the overlay changed the base snapshot: %q", b)
			}
		}},
		{"read-only views mount", func(t *testing.T, s snapshot.Snapshotter) {
			requireRoot(t)
			ids := unpackChain(t, s,
				layerTar(t, tarEntry{"a", "1"}, tarEntry{"b", "1"}),
				layerTar(t, tarEntry{".wh.b", ""}, tarEntry{"c", "2"}),
			)
			for n, want := range map[int][]string{1: {"a", "b"}, 2: {"a", "c"}} {
				ms, err := s.Mounts(ctx, ids[:n], "", "")
				if err != nil {
					t.Fatal(err)
				}
				merged := mountAt(t, ms)
				if got := names(t, merged); !slices.Equal(got, want) {
					t.Errorf("%d-layer view = %q, want %q", n, got, want)
				}
				if err := os.WriteFile(filepath.Join(merged, "x"), nil, 0o644); !errors.Is(err, unix.EROFS) {
					t.Errorf("%d-layer view: write = %v, want EROFS", n, err)
				}
			}
		}},
	}
}
