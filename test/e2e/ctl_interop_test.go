//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/opencontainers/go-digest"
)

// TestCtlPushOthersPull: an image ctl loads and pushes is pulled by
// docker, skopeo and crane, each seeing the manifest digest ctl printed
// and the config ctl loaded. With auth on they use the credentials ctl
// login saved.
func TestCtlPushOthersPull(t *testing.T) {
	t.Parallel()
	dockerHost(t)
	craneBin(t)
	skopeoBin(t)
	ctlModes(t, func(t *testing.T, m ctlMode) {
		c := m.workstation(t)
		img := dockerImage(t, 96<<10, 2)
		cfg, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		name := m.reg.Ref("alice/by-ctl:v1")
		tarPath := filepath.Join(t.TempDir(), "image.tar")
		if err := tarball.WriteToFile(tarPath, tagRef(t, name), img); err != nil {
			t.Fatal(err)
		}
		if out := c.run(t, "load", "-i", tarPath); !strings.Contains(out, "Loaded image: "+name) {
			t.Errorf("ctl load printed no \"Loaded image: %s\":\n%s", name, out)
		}
		c.expectImage(t, name, cfg.String())
		pushed := c.push(t, name)

		t.Run("docker", func(t *testing.T) {
			t.Parallel()
			t.Cleanup(func() { tryDocker(t, "image", "rm", "-f", name) })
			out := c.docker().run(t, "pull", name)
			if !strings.Contains(out, "Digest: "+pushed) {
				t.Errorf("docker pull reports another digest than ctl pushed (%s):\n%s", pushed, out)
			}
			if id := imageID(t, name); id != cfg.String() {
				t.Errorf("docker's image ID %s, want the config ctl loaded %s", id, cfg)
			}
		})

		t.Run("skopeo", func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "dir")
			c.skopeo(t, "copy", "--quiet", "--src-tls-verify=false", "docker://"+name, "dir:"+dir)
			raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
			if err != nil {
				t.Fatal(err)
			}
			if got := digest.FromBytes(raw).String(); got != pushed {
				t.Errorf("skopeo copied a manifest of digest %s, ctl pushed %s", got, pushed)
			}
			if _, err := os.Stat(filepath.Join(dir, cfg.Hex)); err != nil {
				t.Errorf("skopeo's copy lacks the config: %v", err)
			}
			var info struct{ Digest string }
			out := c.skopeo(t, "inspect", "--tls-verify=false", "docker://"+name)
			if err := json.Unmarshal([]byte(out), &info); err != nil || info.Digest != pushed {
				t.Errorf("skopeo inspect: digest %q (%v), ctl pushed %s", info.Digest, err, pushed)
			}
		})

		t.Run("crane", func(t *testing.T) {
			t.Parallel()
			if got := c.crane(t, "digest", name); got != pushed {
				t.Errorf("crane digest %s, ctl pushed %s", got, pushed)
			}
			dir := filepath.Join(t.TempDir(), "pulled")
			c.crane(t, "pull", "--format=oci", name, dir)
			idx, err := layout.ImageIndexFromPath(dir)
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil || len(im.Manifests) != 1 || im.Manifests[0].Digest.String() != pushed {
				t.Fatalf("crane pulled %+v (%v), ctl pushed %s", im, err, pushed)
			}
			got, err := idx.Image(im.Manifests[0].Digest)
			if err != nil {
				t.Fatal(err)
			}
			sameDiffIDs(t, got, img)
			c.crane(t, "validate", "--remote", name)
		})
	})
}

// TestCtlPullFromOthers: images docker (docker load + push, docker import
// + push) and skopeo (copy from an OCI layout) pushed are pulled by ctl,
// which prints their digests and lists them with their image IDs.
func TestCtlPullFromOthers(t *testing.T) {
	t.Parallel()
	dockerHost(t)
	skopeoBin(t)
	ctlModes(t, func(t *testing.T, m ctlMode) {
		c := m.workstation(t)
		d := c.docker()
		var made []string
		t.Cleanup(func() {
			if len(made) > 0 {
				tryDocker(t, append([]string{"image", "rm", "-f"}, made...)...)
			}
		})
		type pushed struct{ name, digest, config string }
		var all []pushed

		// docker load of a go-containerregistry image, then docker push.
		img := dockerImage(t, 64<<10, 2)
		cfg, err := img.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		loaded := m.reg.Ref("alice/docker-loaded:v1")
		made = append(made, loaded)
		tarPath := filepath.Join(t.TempDir(), "image.tar")
		if err := tarball.WriteToFile(tarPath, tagRef(t, loaded), img); err != nil {
			t.Fatal(err)
		}
		docker(t, "load", "-i", tarPath)
		all = append(all, pushed{loaded, d.push(t, loaded).String(), cfg.String()})

		// docker import of a rootfs tar, then docker push.
		imported := m.reg.Ref("alice/docker-imported:v2")
		made = append(made, imported)
		rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
		writeTar(t, rootfs, map[string]string{"etc/hello": "imported by docker for ctl\n"})
		docker(t, "import", rootfs, imported)
		all = append(all, pushed{imported, d.push(t, imported).String(), imageID(t, imported)})

		// skopeo copy from an OCI layout.
		oci := ociImage(t, 48<<10, 3)
		ociCfg, err := oci.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		bySkopeo := m.reg.Ref("alice/skopeo:v3")
		c.skopeo(t, "copy", "--quiet", "--dest-tls-verify=false", "--preserve-digests",
			"oci:"+ociLayout(t, oci, "v3")+":v3", "docker://"+bySkopeo)
		all = append(all, pushed{bySkopeo, digestOf(t, oci).String(), ociCfg.String()})

		for _, p := range all {
			if got := c.pull(t, p.name); got != p.digest {
				t.Errorf("ctl pull %s: digest %s, pushed %s", p.name, got, p.digest)
			}
		}
		if n := len(c.images(t)); n != len(all) {
			t.Errorf("ctl images lists %d images, want %d", n, len(all))
		}
		for _, p := range all {
			c.expectImage(t, p.name, p.config)
		}
		// Pulled again, everything is there already.
		if out := c.run(t, "pull", all[0].name); !strings.Contains(out, "Image is up to date for "+all[0].name) {
			t.Errorf("second ctl pull of %s:\n%s", all[0].name, out)
		}
	})
}
