package main

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// platformImage is a random image whose config says os/arch.
func platformImage(t *testing.T, os, arch string) v1.Image {
	t.Helper()
	img := randomImage(t, 512, 1)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture = os, arch
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// pushIndex pushes an index of amd64 and arm64 images to repoTag and
// returns it and its images by architecture.
func (r *testRegistry) pushIndex(t *testing.T, repoTag string) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	imgs := map[string]v1.Image{}
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		imgs[arch] = platformImage(t, "linux", arch)
		adds = append(adds, mutate.IndexAddendum{Add: imgs[arch],
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	ref, err := name.ParseReference(r.ref(repoTag))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx); err != nil {
		t.Fatal(err)
	}
	return idx, imgs
}

func TestPlatforms(t *testing.T) {
	reg := newTestRegistry(t)
	other := newTestRegistry(t)
	idx, imgs := reg.pushIndex(t, "multi/app:v1")
	idxDigest, _ := idx.Digest()
	e := newTestEnv(t)

	out := e.ok("", "pull", "--platform", "linux/arm64", reg.ref("multi/app:v1"))
	if !strings.Contains(out, "Digest: "+idxDigest.String()+"\n") {
		t.Errorf("pull prints the index digest:\n%s", out)
	}
	if got := e.ok("", "images", "-q"); got != configDigest(t, imgs["arm64"]).Hex[:12]+"\n" {
		t.Errorf("images -q after an arm64 pull: %q", got)
	}
	if got := e.ok("", "inspect", "-f", "{{.Os}}/{{.Architecture}}", reg.ref("multi/app:v1")); got != "linux/arm64\n" {
		t.Errorf("inspect platform: %q", got)
	}

	before := e.storeSnapshot()
	e.fails("no matching manifest", "pull", "--platform", "windows/s390x", reg.ref("multi/app:v1"))
	if after := e.storeSnapshot(); strings.Join(before, "\n") != strings.Join(after, "\n") {
		t.Error("a failed platform pick changed the store")
	}
	e.fails("mutually exclusive", "pull", "--platform", "linux/amd64", "--all-platforms", reg.ref("multi/app:v1"))

	e.ok("", "pull", "-q", "--all-platforms", reg.ref("multi/app:v1"))
	if got := e.ok("", "images", "-q"); got != idxDigest.Hex[:12]+"\n" {
		t.Errorf("images -q after --all-platforms: %q, want the index's ID", got)
	}
	// The whole index pushes back.
	e.ok("", "tag", reg.ref("multi/app:v1"), other.ref("multi/app:v1"))
	e.ok("", "push", "-q", other.ref("multi/app:v1"))
	remoteDigest(t, other.ref("multi/app:v1"), idxDigest)

	// Copy keeps the index, or picks one platform.
	e.ok("", "copy", "-q", reg.ref("multi/app:v1"), other.ref("copy/all:v1"))
	remoteDigest(t, other.ref("copy/all:v1"), idxDigest)
	e.ok("", "copy", "-q", "--platform", "linux/amd64", reg.ref("multi/app:v1"), other.ref("copy/amd64:v1"))
	amd, _ := imgs["amd64"].Digest()
	remoteDigest(t, other.ref("copy/amd64:v1"), amd)
}
