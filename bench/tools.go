package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// imageTool is an image client the ctl scenarios compare: ctl or crane, each run as a process of
// its own, as a user runs it. Both keep what they pull in an OCI image layout.
type imageTool interface {
	Name() string
	// Binary is the tool's executable.
	Binary() string
	// Hint says how to get the binary when it is missing.
	Hint() string
	// Pull downloads ref into dir, a path that does not exist yet, and nothing more: no unpacking.
	Pull(ctx context.Context, ref, dir string) error
	// BlobPath is where the blob with digest ("sha256:<hex>") lies after a Pull into dir.
	BlobPath(dir, digest string) string
	// Push uploads to ref the image a Pull of staged put in dir, and returns how long the upload
	// took. Setup around it (ctl names the image ref first and drops the name after) is not
	// counted.
	Push(ctx context.Context, dir, staged, ref string) (time.Duration, error)
}

// toolEnv is the environment of every tool process: HOME, DOCKER_CONFIG and the XDG directories
// point at an empty directory under home, so that neither tool reads the user's credentials or
// ctl's config.
func toolEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "HOME", "DOCKER_CONFIG", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "CTL_ROOT":
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "DOCKER_CONFIG="+filepath.Join(home, "docker"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_DATA_HOME="+filepath.Join(home, "data"),
		"XDG_CACHE_HOME="+filepath.Join(home, "cache"))
}

// runTool runs bin with args and env in its own process group, which is killed when ctx ends or
// the bench dies. A failure quotes the end of the output.
func runTool(ctx context.Context, env []string, bin string, args ...string) error {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out := &tailBuffer{max: 4096}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(args, " "), err, bytes.TrimSpace([]byte(out.String())))
	}
	return nil
}

// ctlTool is Berth's bin/ctl. Its store is the directory given with --root; images are in the
// OCI layout under <root>/content.
type ctlTool struct {
	bin string
	env []string
}

func (t *ctlTool) Name() string   { return "ctl" }
func (t *ctlTool) Binary() string { return t.bin }
func (t *ctlTool) Hint() string {
	return "build it with `go build -o bin/ctl ./cmd/ctl` (or `make build`)"
}

// Pull runs `ctl --root DIR pull --quiet --no-unpack REF`: the download alone.
func (t *ctlTool) Pull(ctx context.Context, ref, dir string) error {
	return runTool(ctx, t.env, t.bin, "--root", dir, "pull", "--quiet", "--no-unpack", ref)
}

func (t *ctlTool) BlobPath(dir, digest string) string {
	return filepath.Join(dir, "content", "blobs", strings.Replace(digest, ":", string(filepath.Separator), 1))
}

// Push tags staged as ref (untimed), runs `ctl --root DIR push --quiet REF` (timed) and removes
// the name ref again (untimed), which leaves the content to staged.
func (t *ctlTool) Push(ctx context.Context, dir, staged, ref string) (time.Duration, error) {
	if ref != staged {
		if err := runTool(ctx, t.env, t.bin, "--root", dir, "tag", staged, ref); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	err := runTool(ctx, t.env, t.bin, "--root", dir, "push", "--quiet", ref)
	took := time.Since(start)
	if ref != staged {
		if rerr := runTool(ctx, t.env, t.bin, "--root", dir, "rmi", ref); err == nil {
			err = rerr
		}
	}
	return took, err
}

// craneTool is go-containerregistry's crane. It pulls with --format=oci: each blob is written
// straight to an OCI layout's blobs/ directory (all layers at once), where the default tarball
// format would copy the layers into one docker-save tar, sequentially.
type craneTool struct {
	bin string
	env []string
}

func (t *craneTool) Name() string   { return "crane" }
func (t *craneTool) Binary() string { return t.bin }
func (t *craneTool) Hint() string {
	return "run `make tools` (scripts/install-tools.sh installs the pinned crane)"
}

// Pull runs `crane pull REF DIR --format=oci`.
func (t *craneTool) Pull(ctx context.Context, ref, dir string) error {
	return runTool(ctx, t.env, t.bin, "pull", ref, dir, "--format=oci")
}

func (t *craneTool) BlobPath(dir, digest string) string {
	return filepath.Join(dir, "blobs", strings.Replace(digest, ":", string(filepath.Separator), 1))
}

// Push runs `crane push DIR REF`, which reads the layout's one image.
func (t *craneTool) Push(ctx context.Context, dir, _, ref string) (time.Duration, error) {
	start := time.Now()
	err := runTool(ctx, t.env, t.bin, "push", dir, ref)
	return time.Since(start), err
}

var (
	_ imageTool = (*ctlTool)(nil)
	_ imageTool = (*craneTool)(nil)
)

// toolKind is a contender of the ctl scenarios: an image tool rather than a registry. Start
// starts the registry the tool is measured against (the embedded Kind, Berth), afresh for each
// measurement as the registry scenarios do; the scenario finds the tool through target.kind.
type toolKind struct {
	Kind
	tool imageTool
}

// Name implements Kind: the tool's name.
func (k *toolKind) Name() string { return k.tool.Name() }
