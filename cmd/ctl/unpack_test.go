package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthhq/berth/runtime/snapshot"
)

// snapshotCount returns how many committed snapshots the env's store holds.
func (e *testEnv) snapshotCount() int {
	e.t.Helper()
	dir := filepath.Join(e.root, "snapshots")
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return 0
	}
	s, err := snapshot.New(dir)
	if err != nil {
		e.t.Fatal(err)
	}
	all, err := s.List(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return len(all)
}

func TestPullUnpack(t *testing.T) {
	reg := newTestRegistry(t)
	reg.push(t, "team/app:v1", randomImage(t, 1024, 3))

	e := newTestEnv(t)
	e.ok("", "pull", "-q", reg.ref("team/app:v1"))
	want := 3
	if os.Geteuid() != 0 {
		want = 0 // only root unpacks
	}
	if n := e.snapshotCount(); n != want {
		t.Fatalf("pull unpacked %d snapshots, want %d", n, want)
	}

	e = newTestEnv(t)
	e.ok("", "pull", "-q", "--no-unpack", reg.ref("team/app:v1"))
	if n := e.snapshotCount(); n != 0 {
		t.Fatalf("pull --no-unpack unpacked %d snapshots", n)
	}
	// A later pull of the image it has unpacks it.
	e.ok("", "pull", "-q", reg.ref("team/app:v1"))
	if n := e.snapshotCount(); n != want {
		t.Fatalf("second pull unpacked %d snapshots, want %d", n, want)
	}
}
