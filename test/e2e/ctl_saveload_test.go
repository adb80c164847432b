//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCtlSaveLoad: ctl save writes what docker load accepts (same image
// ID); after ctl rmi and image prune -a leave the store empty, ctl load of
// the same file restores the image with the same digests; and what docker
// save writes loads into ctl.
func TestCtlSaveLoad(t *testing.T) {
	t.Parallel()
	dockerHost(t)
	ctlModes(t, func(t *testing.T, m ctlMode) {
		c := m.workstation(t)
		var made []string
		t.Cleanup(func() {
			if len(made) > 0 {
				tryDocker(t, append([]string{"image", "rm", "-f"}, made...)...)
			}
		})

		img := ociImage(t, 64<<10, 2)
		cfg, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		name := m.reg.Ref("alice/saved:v1")
		m.put(t, "alice/saved:v1", img)
		c.pull(t, name)
		before := c.state(t)

		archive := filepath.Join(t.TempDir(), "x.tar")
		c.run(t, "save", "-o", archive, name)

		t.Run("docker load of ctl save", func(t *testing.T) {
			made = append(made, name)
			out := docker(t, "load", "-i", archive)
			if !strings.Contains(out, "Loaded image: "+name) {
				t.Errorf("docker load printed no \"Loaded image: %s\":\n%s", name, out)
			}
			if id := imageID(t, name); id != cfg.String() {
				t.Errorf("docker's image ID %s, want the config %s", id, cfg)
			}
			// docker's own image store keeps no manifest digest for a
			// loaded image (<none>); the containerd store keeps ctl's.
			rows := strings.Fields(docker(t, "images", "--digests", "--no-trunc", "--format", "{{.ID}} {{.Digest}}", name))
			if len(rows) != 2 || rows[0] != cfg.String() ||
				(rows[1] != "<none>" && rows[1] != digestOf(t, img).String()) {
				t.Errorf("docker images --digests %s: %q; want ID %s and digest <none> or %s", name, rows, cfg, digestOf(t, img))
			}
		})

		t.Run("ctl load after rmi and prune", func(t *testing.T) {
			c.run(t, "rmi", name)
			c.run(t, "image", "prune", "-a", "-f")
			if got := c.images(t); len(got) != 0 {
				t.Fatalf("images after rmi and prune -a: %+v", got)
			}
			blobs, err := os.ReadDir(filepath.Join(c.root, "content", "blobs", "sha256"))
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if len(blobs) != 0 {
				t.Errorf("%d blobs left after rmi and image prune -a", len(blobs))
			}
			if out := c.run(t, "load", "-i", archive); out != "Loaded image: "+name+"\n" {
				t.Errorf("ctl load printed %q, want \"Loaded image: %s\"", out, name)
			}
			if after := c.state(t); after != before {
				t.Errorf("the store after save, rmi, prune and load differs:\nbefore %s\nafter  %s", before, after)
			}
			c.run(t, "inspect", name)
		})

		t.Run("ctl load of docker save", func(t *testing.T) {
			rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
			writeTar(t, rootfs, map[string]string{"srv/data": "from docker save\n"})
			imported := m.reg.Ref("alice/from-docker:v1")
			made = append(made, imported)
			docker(t, "import", rootfs, imported)
			id := imageID(t, imported)
			saved := filepath.Join(t.TempDir(), "docker.tar")
			docker(t, "save", "-o", saved, imported)
			if out := c.run(t, "load", "-i", saved); !strings.Contains(out, "Loaded image: "+imported) {
				t.Errorf("ctl load of docker save printed no \"Loaded image: %s\":\n%s", imported, out)
			}
			c.expectImage(t, imported, id)
			// What docker saved, ctl can push, and docker sees it as its own.
			c.push(t, imported)
			docker(t, "image", "rm", imported)
			c.docker().run(t, "pull", imported)
			if got := imageID(t, imported); got != id {
				t.Errorf("docker pulled what ctl pushed as image ID %s, want %s", got, id)
			}
		})
	})
}
