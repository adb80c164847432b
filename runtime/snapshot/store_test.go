package snapshot_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/berthhq/berth/runtime/snapshot/snapshottest"
	"github.com/opencontainers/go-digest"
)

func TestStore(t *testing.T) {
	snapshottest.Run(t, func(t *testing.T) snapshot.Snapshotter {
		root := t.TempDir()
		s, err := snapshot.New(root)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if t.Failed() {
				return
			}
			// Nothing half-done is left: only committed snapshots.
			ents, err := os.ReadDir(root)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), ".") {
					t.Errorf("left behind in the store root: %s", e.Name())
				}
			}
		})
		return s
	})
}

func TestNew(t *testing.T) {
	if _, err := snapshot.New(""); err == nil {
		t.Fatal("New(\"\") succeeded")
	}
	root := t.TempDir() + "/a/b"
	s, err := snapshot.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if s.Root() != root {
		t.Fatalf("Root = %q, want %q", s.Root(), root)
	}
}

func TestLayout(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s, err := snapshot.New(root)
	if err != nil {
		t.Fatal(err)
	}
	id := digest.FromString("layer")
	p, err := s.Prepare(ctx, id, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Dir(), root+"/.tmp-") {
		t.Fatalf("pending dir %q is not a hidden temp dir under the root", p.Dir())
	}
	if err := p.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	in, err := s.Stat(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := root + "/" + id.Encoded() + "/fs"; in.Dir != want {
		t.Fatalf("Dir = %q, want %q", in.Dir, want)
	}
	// A directory without the parent file (a foreign or broken entry)
	// is not a snapshot.
	if err := os.MkdirAll(root+"/"+digest.FromString("x").Encoded()+"/fs", 0o755); err != nil {
		t.Fatal(err)
	}
	all, err := s.List(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("List = %v, %v; want only the committed snapshot", all, err)
	}
}

func TestChainIDs(t *testing.T) {
	d1, d2, d3 := digest.FromString("1"), digest.FromString("2"), digest.FromString("3")
	c2 := digest.FromString(string(d1) + " " + string(d2))
	c3 := digest.FromString(string(c2) + " " + string(d3))
	tests := []struct {
		name  string
		diffs []digest.Digest
		want  []digest.Digest
	}{
		{"none", nil, []digest.Digest{}},
		{"base is its diff ID", []digest.Digest{d1}, []digest.Digest{d1}},
		{"three layers", []digest.Digest{d1, d2, d3}, []digest.Digest{d1, c2, c3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := snapshot.ChainIDs(tt.diffs)
			if len(got) != len(tt.want) {
				t.Fatalf("ChainIDs = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("ChainIDs[%d] = %s, want %s", i, got[i], tt.want[i])
				}
			}
			var top digest.Digest
			if len(tt.want) > 0 {
				top = tt.want[len(tt.want)-1]
			}
			if snapshot.ChainID(tt.diffs) != top {
				t.Fatalf("ChainID = %s, want %s", snapshot.ChainID(tt.diffs), top)
			}
		})
	}
}
