//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// dockerClient is the docker CLI with a config directory of its own, so
// its logins are its own (the daemon is the suite's).
type dockerClient struct {
	cfg string
}

func newDockerClient(t testing.TB) dockerClient { return dockerClient{cfg: t.TempDir()} }

func (c dockerClient) try(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	return runWith([]string{"DOCKER_HOST=" + dockerHost(t), "DOCKER_CONFIG=" + c.cfg}, stdin, "docker", args...)
}

func (c dockerClient) run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := c.try(t, "", args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// login runs docker login as account, password on stdin.
func (c dockerClient) login(t testing.TB, reg *authRegistry, account string) {
	t.Helper()
	out, err := c.try(t, reg.pw[account]+"\n", "login", reg.Host, "-u", account, "--password-stdin")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Login Succeeded") {
		t.Errorf("docker login as %s printed no \"Login Succeeded\":\n%s", account, out)
	}
}

// push pushes name and returns the digest docker reports.
func (c dockerClient) push(t testing.TB, name string) v1.Hash {
	t.Helper()
	out := c.run(t, "push", name)
	m := pushDigest.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("docker push %s printed no digest:\n%s", name, out)
	}
	h, err := v1.NewHash(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// expectRefused fails unless err is a refusal mentioning one of words.
func expectRefused(t testing.TB, what string, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: succeeded, want it refused", what)
		return
	}
	msg := strings.ToLower(err.Error())
	for _, w := range words {
		if strings.Contains(msg, w) {
			return
		}
	}
	t.Errorf("%s: failed, but the error mentions none of %q:\n%v", what, words, err)
}

// TestAuthDocker logs in, pushes and pulls with the docker CLI and daemon
// against a registry with token auth, as each kind of user.
func TestAuthDocker(t *testing.T) {
	t.Parallel()
	dockerHost(t)
	reg := startAuth(t)
	var made []string
	t.Cleanup(func() {
		if len(made) > 0 {
			tryDocker(t, append([]string{"image", "rm", "-f"}, made...)...)
		}
	})
	local := func(repoTag string) string { made = append(made, reg.Ref(repoTag)); return reg.Ref(repoTag) }
	alice, bob, carol, admin, anon := newDockerClient(t), newDockerClient(t), newDockerClient(t), newDockerClient(t), newDockerClient(t)

	img := dockerImage(t, 32<<10, 2)
	cfgDigest, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	name := local("alice/app:v1")
	tarPath := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(tarPath, tagRef(t, name), img); err != nil {
		t.Fatal(err)
	}
	docker(t, "load", "-i", tarPath)

	t.Run("login with a wrong password fails", func(t *testing.T) {
		c := newDockerClient(t)
		_, err := c.try(t, "not-alices-password\n", "login", reg.Host, "-u", "alice", "--password-stdin")
		expectRefused(t, "docker login with a wrong password", err, "unauthorized", "incorrect")
	})

	t.Run("push before login is refused", func(t *testing.T) {
		_, err := anon.try(t, "", "push", name)
		expectRefused(t, "anonymous docker push", err, "unauthorized", "denied", "authentication required")
	})

	var pushed v1.Hash
	t.Run("login push rmi pull", func(t *testing.T) {
		alice.login(t, reg, "alice")
		b, err := os.ReadFile(filepath.Join(alice.cfg, "config.json"))
		if err != nil || !strings.Contains(string(b), reg.Host) {
			t.Errorf("config.json after login lacks %s: %s %v", reg.Host, b, err)
		}
		pushed = alice.push(t, name)
		alice.run(t, "image", "rm", name)
		out := alice.run(t, "pull", name)
		if !strings.Contains(out, "Digest: "+pushed.String()) {
			t.Errorf("docker pull reports another digest than pushed %s:\n%s", pushed, out)
		}
		if id := imageID(t, name); id != cfgDigest.String() {
			t.Errorf("pulled image ID %s, want config digest %s", id, cfgDigest)
		}
		if d, err := reg.pullAs(t, "alice", "alice/app:v1"); err != nil || d != pushed {
			t.Errorf("alice/app:v1 as served: %s, %v; want %s", d, err, pushed)
		}
	})

	t.Run("personal namespaces", func(t *testing.T) {
		bobApp := local("bob/app:v1")
		docker(t, "tag", name, bobApp)
		_, err := alice.try(t, "", "push", bobApp)
		expectRefused(t, "alice pushing bob/app", err, "denied")
		bob.login(t, reg, "bob")
		if d := bob.push(t, bobApp); d != pushed {
			t.Errorf("bob pushed digest %s, want %s", d, pushed)
		}
	})

	t.Run("pull-only user", func(t *testing.T) {
		lib := local("library/x:v1")
		docker(t, "tag", name, lib)
		carol.login(t, reg, "carol")
		_, err := carol.try(t, "", "push", lib)
		expectRefused(t, "carol pushing library/x", err, "denied")
		admin.login(t, reg, "admin")
		d := admin.push(t, lib)
		docker(t, "image", "rm", lib)
		if out := carol.run(t, "pull", lib); !strings.Contains(out, "Digest: "+d.String()) {
			t.Errorf("carol's pull of library/x reports another digest than %s:\n%s", d, out)
		}
	})

	t.Run("anonymous pull of public only", func(t *testing.T) {
		pub := local("public/x:v1")
		docker(t, "tag", name, pub)
		d := admin.push(t, pub)
		docker(t, "image", "rm", pub, name)
		if out := anon.run(t, "pull", pub); !strings.Contains(out, "Digest: "+d.String()) {
			t.Errorf("anonymous pull of public/x reports another digest than %s:\n%s", d, out)
		}
		_, err := anon.try(t, "", "pull", name)
		expectRefused(t, "anonymous pull of alice/app", err, "denied", "unauthorized")
	})
}

// TestAuthSkopeo copies and inspects with skopeo's --creds flags.
func TestAuthSkopeo(t *testing.T) {
	t.Parallel()
	bin := skopeoBin(t)
	reg := startAuth(t)
	dockerRef := func(repoTag string) string { return "docker://" + reg.Ref(repoTag) }
	skopeoTry := func(args ...string) (string, error) { return runWith(nil, "", bin, args...) }
	img := ociImage(t, 16<<10, 2)
	want := digestOf(t, img)
	src := "oci:" + ociLayout(t, img, "v1") + ":v1"

	t.Run("copy with dest-creds", func(t *testing.T) {
		skopeoCopy(t, src, dockerRef("alice/app:v1"), "--preserve-digests", "--dest-creds", reg.creds("alice"))
		if d, err := reg.pullAs(t, "alice", "alice/app:v1"); err != nil || d != want {
			t.Fatalf("alice/app:v1: %s, %v; want %s", d, err, want)
		}
	})

	t.Run("inspect with creds", func(t *testing.T) {
		out := skopeo(t, "inspect", "--tls-verify=false", "--creds", reg.creds("alice"), dockerRef("alice/app:v1"))
		var info struct{ Digest string }
		if err := json.Unmarshal([]byte(out), &info); err != nil || info.Digest != want.String() {
			t.Errorf("inspect: digest %q (%v), want %s", info.Digest, err, want)
		}
	})

	t.Run("private repository without creds", func(t *testing.T) {
		_, err := skopeoTry("inspect", "--tls-verify=false", dockerRef("alice/app:v1"))
		expectRefused(t, "skopeo inspect alice/app without creds", err, "unauthorized", "denied", "authentication required")
		_, err = skopeoTry("copy", "--quiet", "--dest-tls-verify=false", src, dockerRef("alice/app:v2"))
		expectRefused(t, "skopeo copy to alice/app without creds", err, "unauthorized", "denied", "authentication required")
	})

	t.Run("copy between accounts with src-creds and dest-creds", func(t *testing.T) {
		skopeoCopy(t, dockerRef("alice/app:v1"), dockerRef("bob/app:v1"), "--preserve-digests",
			"--src-creds", reg.creds("alice"), "--dest-creds", reg.creds("bob"))
		if d, err := reg.pullAs(t, "bob", "bob/app:v1"); err != nil || d != want {
			t.Errorf("bob/app:v1: %s, %v; want %s", d, err, want)
		}
		_, err := skopeoTry("copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
			"--dest-creds", reg.creds("alice"), src, dockerRef("bob/app:v2"))
		expectRefused(t, "alice copying to bob/app", err, "denied", "unauthorized")
	})

	t.Run("public repository without creds", func(t *testing.T) {
		skopeoCopy(t, src, dockerRef("public/x:v1"), "--preserve-digests", "--dest-creds", reg.creds("admin"))
		out := skopeo(t, "inspect", "--tls-verify=false", dockerRef("public/x:v1"))
		var info struct{ Digest string }
		if err := json.Unmarshal([]byte(out), &info); err != nil || info.Digest != want.String() {
			t.Errorf("anonymous inspect of public/x: digest %q (%v), want %s", info.Digest, err, want)
		}
	})
}

// TestAuthCrane pushes and pulls with crane logged in through `crane auth
// login`, and with go-containerregistry in-process with Basic credentials.
func TestAuthCrane(t *testing.T) {
	t.Parallel()
	bin := craneBin(t)
	reg := startAuth(t)
	aliceCfg, anonCfg := t.TempDir(), t.TempDir()
	craneAs := func(cfg string, args ...string) (string, error) {
		out, err := runWith([]string{"DOCKER_CONFIG=" + cfg}, "", bin, append([]string{"--insecure"}, args...)...)
		return strings.TrimSpace(out), err
	}
	img := dockerImage(t, 8<<10, 2)
	want := digestOf(t, img)

	t.Run("auth login push pull", func(t *testing.T) {
		if _, err := runWith([]string{"DOCKER_CONFIG=" + aliceCfg}, reg.pw["alice"], bin,
			"auth", "login", reg.Host, "-u", "alice", "--password-stdin"); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(aliceCfg, "config.json")); err != nil || !strings.Contains(string(b), reg.Host) {
			t.Fatalf("config.json after crane auth login lacks %s: %s %v", reg.Host, b, err)
		}
		tarPath := filepath.Join(t.TempDir(), "push.tar")
		if err := tarball.WriteToFile(tarPath, tagRef(t, "example.com/push:v1"), img); err != nil {
			t.Fatal(err)
		}
		if _, err := craneAs(aliceCfg, "push", tarPath, reg.Ref("alice/app:v1")); err != nil {
			t.Fatal(err)
		}
		if got, err := craneAs(aliceCfg, "digest", reg.Ref("alice/app:v1")); err != nil || got != want.String() {
			t.Fatalf("crane digest: %q (%v), pushed %s", got, err, want)
		}
		dir := filepath.Join(t.TempDir(), "pulled")
		if _, err := craneAs(aliceCfg, "pull", "--format=oci", reg.Ref("alice/app:v1"), dir); err != nil {
			t.Fatal(err)
		}
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		if im, err := idx.IndexManifest(); err != nil || len(im.Manifests) != 1 || im.Manifests[0].Digest != want {
			t.Fatalf("pulled layout holds %+v (%v), want %s", im, err, want)
		}
		if got, err := craneAs(aliceCfg, "ls", reg.Ref("alice/app")); err != nil || got != "v1" {
			t.Errorf("crane ls alice/app: %q (%v), want v1", got, err)
		}
	})

	t.Run("logged-in user outside her namespace", func(t *testing.T) {
		_, err := craneAs(aliceCfg, "copy", reg.Ref("alice/app:v1"), reg.Ref("bob/app:v1"))
		expectRefused(t, "crane copy by alice to bob/app", err, "denied", "unauthorized")
	})

	t.Run("go-containerregistry with Basic credentials", func(t *testing.T) {
		d := reg.pushAs(t, "bob", "bob/app:v1", img)
		if got, err := reg.pullAs(t, "bob", "bob/app:v1"); err != nil || got != d {
			t.Errorf("bob pulling bob/app: %s, %v; want %s", got, err, d)
		}
		_, err := reg.pullAs(t, "alice", "bob/app:v1")
		expectRefused(t, "alice pulling bob/app", err, "denied", "unauthorized")
		_, err = reg.pullAs(t, "", "bob/app:v1")
		expectRefused(t, "anonymous pull of bob/app", err, "denied", "unauthorized")
	})

	t.Run("anonymous crane", func(t *testing.T) {
		reg.pushAs(t, "admin", "public/x:v1", img)
		dir := filepath.Join(t.TempDir(), "public")
		if _, err := craneAs(anonCfg, "pull", "--format=oci", reg.Ref("public/x:v1"), dir); err != nil {
			t.Fatalf("anonymous crane pull of public/x: %v", err)
		}
		_, err := craneAs(anonCfg, "manifest", reg.Ref("alice/app:v1"))
		expectRefused(t, "anonymous crane manifest alice/app", err, "denied", "unauthorized")
		_, err = craneAs(anonCfg, "push", filepath.Join(dir), reg.Ref("public/y:v1"))
		expectRefused(t, "anonymous crane push to public/y", err, "denied", "unauthorized")
	})
}
