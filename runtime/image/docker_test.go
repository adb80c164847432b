package image_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/opencontainers/go-digest"
)

// TestDockerInterop hands an archive of ours to a real `docker load` and
// loads what `docker save` writes back. It needs a docker daemon it may
// load images into: set BERTH_TEST_DOCKER_HOST (scripts/dockerd.sh start
// prints one); it is skipped otherwise.
func TestDockerInterop(t *testing.T) {
	host := os.Getenv("BERTH_TEST_DOCKER_HOST")
	if host == "" {
		t.Skip("BERTH_TEST_DOCKER_HOST not set")
	}
	docker := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("docker", args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+host)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		return out.String()
	}
	ctx := context.Background()
	img, err := random.Image(32<<10, 2)
	if err != nil {
		t.Fatal(err)
	}
	reg := newRegistry(t)
	writeImage(t, reg, "berth-test/app:v1", img)
	s := newService(t)
	if _, err := s.Pull(ctx, newClient(t, reg), reg.host+"/berth-test/app:v1"); err != nil {
		t.Fatal(err)
	}
	const name = "berth-interop/app:v1"
	if err := s.Tag(ctx, reg.host+"/berth-test/app:v1", name); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.tar")
	f, err := os.Create(ours)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, f, name); err != nil {
		t.Fatal(err)
	}
	f.Close()

	out := docker("load", "-i", ours)
	t.Cleanup(func() { _ = exec.Command("docker", "-H", host, "rmi", "-f", name).Run() })
	if !strings.Contains(out, "Loaded image: "+name) {
		t.Fatalf("docker load said %q", out)
	}
	cfg, _ := img.ConfigName()
	if id := strings.TrimSpace(docker("image", "inspect", "--format", "{{.ID}}", name)); id != cfg.String() {
		t.Errorf("docker has image ID %s, want %s", id, cfg)
	}

	theirs := filepath.Join(dir, "theirs.tar")
	docker("save", "-o", theirs, name)
	f2, err := os.Open(theirs)
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	s2 := newService(t)
	loaded, err := s2.Load(ctx, f2)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0].Name != "docker.io/"+name {
		t.Fatalf("loaded %+v", loaded)
	}
	validate(t, s2)
	d, err := s2.Inspect(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != digest.Digest(cfg.String()) {
		t.Errorf("loaded config %s, want %s", d.ID, cfg)
	}
}
