// Package snapshottest is the shared test suite every
// snapshot.Snapshotter implementation passes (STYLE.md rule 4).
package snapshottest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
)

type testCase struct {
	name string
	fn   func(t *testing.T, s snapshot.Snapshotter)
}

// Run runs the suite; newStore returns a fresh, empty Snapshotter for
// each subtest (and cleans it up with t.Cleanup). After each passing
// subtest that leaves nothing behind, the suite checks List is empty.
func Run(t *testing.T, newStore func(t *testing.T) snapshot.Snapshotter) {
	t.Helper()
	var cases []testCase
	cases = append(cases, lifecycleCases()...)
	cases = append(cases, removeCases()...)
	cases = append(cases, mountsCases()...)
	cases = append(cases, overlayCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// id returns a distinct sha256 digest for name.
func id(name string) digest.Digest { return digest.FromString(name) }

// commit prepares chainID on parent, writes files (path -> body) and
// commits it.
func commit(t *testing.T, s snapshot.Snapshotter, chainID, parent digest.Digest, files map[string]string) snapshot.Info {
	t.Helper()
	ctx := context.Background()
	p, err := s.Prepare(ctx, chainID, parent)
	if err != nil {
		t.Fatalf("Prepare(%s): %v", chainID, err)
	}
	writeFiles(t, p.Dir(), files)
	if err := p.Commit(ctx); err != nil {
		t.Fatalf("Commit(%s): %v", chainID, err)
	}
	in, err := s.Stat(ctx, chainID)
	if err != nil {
		t.Fatalf("Stat(%s) after commit: %v", chainID, err)
	}
	return in
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func ids(t *testing.T, s snapshot.Snapshotter) []digest.Digest {
	t.Helper()
	all, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var out []digest.Digest
	for _, in := range all {
		out = append(out, in.ChainID)
	}
	return out
}

func sorted(ds ...digest.Digest) []digest.Digest {
	out := slices.Clone(ds)
	slices.Sort(out)
	return out
}

func lifecycleCases() []testCase {
	ctx := context.Background()
	return []testCase{
		{"prepare is invisible until commit", func(t *testing.T, s snapshot.Snapshotter) {
			p, err := s.Prepare(ctx, id("a"), "")
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, p.Dir(), map[string]string{"etc/hostname": "a"})
			_, err = s.Stat(ctx, id("a"))
			wantErr(t, "Stat before commit", err, snapshot.ErrNotFound)
			if got := ids(t, s); len(got) != 0 {
				t.Fatalf("List before commit = %v", got)
			}
			if err := p.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			in, err := s.Stat(ctx, id("a"))
			if err != nil {
				t.Fatal(err)
			}
			if in.ChainID != id("a") || in.Parent != "" {
				t.Fatalf("Stat = %+v", in)
			}
			if b, err := os.ReadFile(filepath.Join(in.Dir, "etc/hostname")); err != nil || string(b) != "a" {
				t.Fatalf("committed file: %q, %v", b, err)
			}
			if got := ids(t, s); !slices.Equal(got, []digest.Digest{id("a")}) {
				t.Fatalf("List = %v", got)
			}
			if err := p.Commit(ctx); err == nil {
				t.Fatal("second Commit succeeded")
			}
			if err := p.Abort(); err != nil {
				t.Fatalf("Abort after Commit: %v", err)
			}
			if _, err := s.Stat(ctx, id("a")); err != nil {
				t.Fatalf("Abort after Commit removed the snapshot: %v", err)
			}
		}},
		{"abort leaves nothing", func(t *testing.T, s snapshot.Snapshotter) {
			p, err := s.Prepare(ctx, id("a"), "")
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, p.Dir(), map[string]string{"x/y": "half"})
			if err := p.Abort(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(p.Dir()); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("pending dir after Abort: %v", err)
			}
			_, err = s.Stat(ctx, id("a"))
			wantErr(t, "Stat after abort", err, snapshot.ErrNotFound)
			if err := p.Commit(ctx); err == nil {
				t.Fatal("Commit after Abort succeeded")
			}
			commit(t, s, id("a"), "", nil)
		}},
		{"existing chain ID", func(t *testing.T, s snapshot.Snapshotter) {
			p1, err := s.Prepare(ctx, id("a"), "")
			if err != nil {
				t.Fatal(err)
			}
			p2, err := s.Prepare(ctx, id("a"), "")
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, p1.Dir(), map[string]string{"f": "1"})
			writeFiles(t, p2.Dir(), map[string]string{"f": "2"})
			if err := p1.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			wantErr(t, "losing Commit", p2.Commit(ctx), snapshot.ErrExists)
			_, err = s.Prepare(ctx, id("a"), "")
			wantErr(t, "Prepare of a committed ID", err, snapshot.ErrExists)
			in, err := s.Stat(ctx, id("a"))
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(in.Dir, "f")); string(b) != "1" {
				t.Fatalf("winner's file = %q, want 1", b)
			}
		}},
		{"invalid chain IDs", func(t *testing.T, s snapshot.Snapshotter) {
			for _, bad := range []digest.Digest{"", "sha256:nothex", "nope", "../../etc"} {
				_, err := s.Prepare(ctx, bad, "")
				wantErr(t, "Prepare("+string(bad)+")", err, snapshot.ErrInvalid)
				_, err = s.Prepare(ctx, id("a"), bad+"x")
				wantErr(t, "Prepare with parent "+string(bad)+"x", err, snapshot.ErrInvalid)
				_, err = s.Stat(ctx, bad)
				wantErr(t, "Stat("+string(bad)+")", err, snapshot.ErrInvalid)
			}
			_, err := s.Stat(ctx, id("missing"))
			wantErr(t, "Stat of a missing ID", err, snapshot.ErrNotFound)
		}},
		{"parent is recorded, committed in any order", func(t *testing.T, s snapshot.Snapshotter) {
			diffs := []digest.Digest{id("l1"), id("l2"), id("l3")}
			chain := snapshot.ChainIDs(diffs)
			for i := len(chain) - 1; i >= 0; i-- {
				var parent digest.Digest
				if i > 0 {
					parent = chain[i-1]
				}
				if in := commit(t, s, chain[i], parent, nil); in.Parent != parent {
					t.Fatalf("layer %d parent = %q, want %q", i, in.Parent, parent)
				}
			}
			if got := ids(t, s); !slices.Equal(got, sorted(chain...)) {
				t.Fatalf("List = %v, want %v", got, sorted(chain...))
			}
		}},
	}
}

func removeCases() []testCase {
	ctx := context.Background()
	return []testCase{
		{"remove", func(t *testing.T, s snapshot.Snapshotter) {
			commit(t, s, id("a"), "", nil)
			commit(t, s, id("b"), id("a"), nil)
			wantErr(t, "Remove of a parent", s.Remove(ctx, id("a")), snapshot.ErrInUse)
			if err := s.Remove(ctx, id("b")); err != nil {
				t.Fatal(err)
			}
			if err := s.Remove(ctx, id("a")); err != nil {
				t.Fatal(err)
			}
			wantErr(t, "Remove again", s.Remove(ctx, id("a")), snapshot.ErrNotFound)
			wantErr(t, "Remove of a bad ID", s.Remove(ctx, "bad"), snapshot.ErrInvalid)
			if got := ids(t, s); len(got) != 0 {
				t.Fatalf("List after removing all = %v", got)
			}
		}},
		{"prune keeps ancestors", func(t *testing.T, s snapshot.Snapshotter) {
			commit(t, s, id("a"), "", nil)
			commit(t, s, id("b"), id("a"), nil)
			commit(t, s, id("c"), id("b"), nil)
			commit(t, s, id("d"), id("a"), nil)
			commit(t, s, id("e"), "", nil)
			removed, err := s.Prune(ctx, map[digest.Digest]bool{id("c"): true})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sorted(removed...), sorted(id("d"), id("e")); !slices.Equal(got, want) {
				t.Fatalf("Prune removed %v, want %v", got, want)
			}
			if got, want := ids(t, s), sorted(id("a"), id("b"), id("c")); !slices.Equal(got, want) {
				t.Fatalf("left %v, want %v", got, want)
			}
			if _, err := s.Prune(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if got := ids(t, s); len(got) != 0 {
				t.Fatalf("List after Prune(nil) = %v", got)
			}
		}},
	}
}
