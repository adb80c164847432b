package snapshot_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
)

// age sets the mtime of path an hour back, past Clean's grace period.
func age(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// TestCleanStale: Clean (and Prune) remove the .tmp-* and .rm-* dirs a
// crashed unpack or removal left, but not a Prepare in progress nor one
// made a moment ago.
func TestCleanStale(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := snapshot.New(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{".tmp-crashed", ".rm-crashed"} {
		if err := os.MkdirAll(filepath.Join(root, name, "fs", "half"), 0o755); err != nil {
			t.Fatal(err)
		}
		age(t, filepath.Join(root, name))
	}
	if err := os.Mkdir(filepath.Join(root, ".tmp-fresh"), 0o755); err != nil {
		t.Fatal(err)
	}
	live, err := s.Prepare(ctx, digest.FromString("live"), "")
	if err != nil {
		t.Fatal(err)
	}
	age(t, filepath.Dir(live.Dir()))

	removed, err := s.Clean(ctx)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if want := []string{".rm-crashed", ".tmp-crashed"}; !slices.Equal(removed, want) {
		t.Errorf("Clean removed %q, want %q", removed, want)
	}
	for _, name := range []string{".tmp-crashed", ".rm-crashed"} {
		if _, err := os.Lstat(filepath.Join(root, name)); !os.IsNotExist(err) {
			t.Errorf("%s still there (%v)", name, err)
		}
	}
	if _, err := os.Lstat(filepath.Join(root, ".tmp-fresh")); err != nil {
		t.Errorf("a fresh .tmp- dir was removed: %v", err)
	}
	if err := os.WriteFile(filepath.Join(live.Dir(), "f"), []byte("x"), 0o644); err != nil {
		t.Fatalf("the pending snapshot was removed: %v", err)
	}
	if err := live.Commit(ctx); err != nil {
		t.Fatalf("Commit after Clean: %v", err)
	}

	age(t, filepath.Join(root, ".tmp-fresh"))
	if _, err := s.Prune(ctx, map[digest.Digest]bool{digest.FromString("live"): true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(root, ".tmp-fresh")); !os.IsNotExist(err) {
		t.Errorf("Prune left a stale .tmp- dir (%v)", err)
	}
	if _, err := s.Stat(ctx, digest.FromString("live")); err != nil {
		t.Errorf("Prune removed a kept snapshot: %v", err)
	}
}
