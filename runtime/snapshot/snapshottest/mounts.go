package snapshottest

import (
	"context"
	"slices"
	"testing"

	"github.com/berthhq/berth/runtime/mount"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
)

// chain commits three layers with the given files and returns their
// chain IDs (base first) and infos.
func chain(t *testing.T, s snapshot.Snapshotter, layers ...map[string]string) ([]digest.Digest, []snapshot.Info) {
	t.Helper()
	diffs := make([]digest.Digest, len(layers))
	for i := range layers {
		diffs[i] = digest.FromString(t.Name() + string(rune('a'+i)))
	}
	chainIDs := snapshot.ChainIDs(diffs)
	infos := make([]snapshot.Info, len(layers))
	for i, files := range layers {
		var parent digest.Digest
		if i > 0 {
			parent = chainIDs[i-1]
		}
		infos[i] = commit(t, s, chainIDs[i], parent, files)
	}
	return chainIDs, infos
}

func one(t *testing.T, s snapshot.Snapshotter, ids []digest.Digest, upper, work string) mount.Mount {
	t.Helper()
	ms, err := s.Mounts(context.Background(), ids, upper, work)
	if err != nil {
		t.Fatalf("Mounts: %v", err)
	}
	if len(ms) != 1 {
		t.Fatalf("Mounts returned %d mounts, want 1: %+v", len(ms), ms)
	}
	return ms[0]
}

func mountsCases() []testCase {
	ctx := context.Background()
	return []testCase{
		{"mounts describe a writable overlay, topmost first", func(t *testing.T, s snapshot.Snapshotter) {
			ids, infos := chain(t, s, nil, nil, nil)
			m := one(t, s, ids, "/u", "/w")
			if m.Type != "overlay" {
				t.Fatalf("type %q, want overlay", m.Type)
			}
			want := []string{infos[2].Dir, infos[1].Dir, infos[0].Dir}
			if got := m.LowerDirs(); !slices.Equal(got, want) {
				t.Fatalf("lowerdirs %q, want %q", got, want)
			}
			for k, want := range map[string]string{"upperdir": "/u", "workdir": "/w"} {
				if v, ok := m.Option(k); !ok || v != want {
					t.Fatalf("%s = %q, %v; want %q", k, v, ok, want)
				}
			}
			if slices.Contains(m.Options, "ro") {
				t.Fatal("writable overlay has ro")
			}
		}},
		{"mounts describe read-only views", func(t *testing.T, s snapshot.Snapshotter) {
			ids, infos := chain(t, s, nil, nil)
			m := one(t, s, ids[:1], "", "")
			if m.Source != infos[0].Dir || !slices.Contains(m.Options, "ro") {
				t.Fatalf("one-layer read-only view = %+v", m)
			}
			m = one(t, s, ids, "", "")
			if !slices.Contains(m.Options, "ro") || !slices.Equal(m.LowerDirs(), []string{infos[1].Dir, infos[0].Dir}) {
				t.Fatalf("two-layer read-only view = %+v", m)
			}
			if _, ok := m.Option("upperdir"); ok {
				t.Fatalf("read-only view has an upperdir: %+v", m)
			}
		}},
		{"mounts reject bad chains", func(t *testing.T, s snapshot.Snapshotter) {
			ids, _ := chain(t, s, nil, nil)
			_, err := s.Mounts(ctx, []digest.Digest{ids[1], ids[0]}, "/u", "/w")
			wantErr(t, "chain out of order", err, snapshot.ErrInvalid)
			_, err = s.Mounts(ctx, ids[1:], "/u", "/w")
			wantErr(t, "chain without its base", err, snapshot.ErrInvalid)
			_, err = s.Mounts(ctx, []digest.Digest{id("missing")}, "/u", "/w")
			wantErr(t, "missing layer", err, snapshot.ErrNotFound)
			_, err = s.Mounts(ctx, nil, "/u", "/w")
			wantErr(t, "no layers", err, snapshot.ErrInvalid)
			_, err = s.Mounts(ctx, ids, "/u", "")
			wantErr(t, "upper without work", err, snapshot.ErrInvalid)
		}},
	}
}
