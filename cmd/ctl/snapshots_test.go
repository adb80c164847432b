package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
	digest "github.com/opencontainers/go-digest"
)

// chainIDs returns img's layers' chain IDs.
func chainIDs(t *testing.T, img v1.Image) []digest.Digest {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	var diffs []digest.Digest
	for _, h := range cf.RootFS.DiffIDs {
		diffs = append(diffs, digest.Digest(h.String()))
	}
	return snapshot.ChainIDs(diffs)
}

// hasSnapshot reports whether the env's store holds chainID.
func (e *testEnv) hasSnapshot(chainID digest.Digest) bool {
	e.t.Helper()
	s, err := snapshot.New(filepath.Join(e.root, "snapshots"))
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = s.Stat(context.Background(), chainID)
	return err == nil
}

func TestPruneReleasesSnapshots(t *testing.T) {
	requireRoot(t)
	base, err := random.Layer(2048, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	image := func() v1.Image {
		top, err := random.Layer(2048, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.AppendLayers(empty.Image, base, top)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	one, two := image(), image()
	reg := newTestRegistry(t)
	reg.push(t, "team/one:v1", one)
	reg.push(t, "team/two:v1", two)
	e := newTestEnv(t)
	e.ok("", "pull", "-q", reg.ref("team/one:v1"))
	e.ok("", "pull", "-q", reg.ref("team/two:v1"))
	c1, c2 := chainIDs(t, one), chainIDs(t, two)
	if c1[0] != c2[0] || e.snapshotCount() != 3 {
		t.Fatalf("want 3 snapshots sharing the base, have %d", e.snapshotCount())
	}

	e.ok("", "rmi", reg.ref("team/two:v1"))
	e.ok("", "image", "prune", "-f")
	if !e.hasSnapshot(c1[0]) || !e.hasSnapshot(c1[1]) {
		t.Errorf("prune removed a snapshot team/one still uses")
	}
	if e.hasSnapshot(c2[1]) {
		t.Errorf("prune kept team/two's top snapshot %s", c2[1])
	}

	e.ok("", "rmi", reg.ref("team/one:v1"))
	if n := e.snapshotCount(); n != 0 {
		t.Errorf("rmi of the last image left %d snapshots", n)
	}
}

func TestRmiImageInUse(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	img := probeImage(t)
	reg.push(t, "team/probe:v1", img)
	e := newTestEnv(t)
	ref := reg.ref("team/probe:v1")
	e.ok("", "pull", "-q", ref)
	if r := e.run("", "run", "--name", "box", ref, "0"); r.code != 0 {
		t.Fatalf("run: exit %d, stderr %s", r.code, r.stderr)
	}
	t.Cleanup(func() { e.run("", "rm", "-f", "box") })

	e.fails("conflict: unable to remove repository reference", "rmi", ref)
	if !strings.Contains(e.ok("", "images"), "team/probe") {
		t.Fatal("a refused rmi removed the image")
	}
	e.ok("", "rmi", "-f", ref)
	e.ok("", "image", "prune", "-f")
	top := chainIDs(t, img)[0]
	if !e.hasSnapshot(top) {
		t.Fatal("prune removed the snapshot of a container's image")
	}
	e.ok("", "rm", "box")
	e.ok("", "image", "prune", "-f")
	if e.hasSnapshot(top) {
		t.Error("prune kept a snapshot nothing uses")
	}
	if _, err := os.Stat(filepath.Join(e.root, "snapshots")); err != nil {
		t.Error(err)
	}
}
