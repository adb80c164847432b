package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// dockerDaemon is a private dockerd from scripts/dockerd.sh, with its own data root under dir.
type dockerDaemon struct {
	dir  string
	host string
	env  []string
}

const dockerdScript = "scripts/dockerd.sh"

func startDockerd(ctx context.Context, dir string) (*dockerDaemon, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the runtime scenarios need root (ctl unpacks and runs as root; the private dockerd needs it)")
	}
	for _, b := range []string{"docker", "dockerd"} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("%s not on PATH: run scripts/install-tools.sh as root", b)
		}
	}
	d := &dockerDaemon{dir: dir}
	env := append(os.Environ(), "BERTH_DOCKERD_DIR="+dir)
	cmd := exec.CommandContext(ctx, dockerdScript, "start")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		d.stop()
		return nil, fmt.Errorf("%s start: %w", dockerdScript, err)
	}
	d.host = strings.TrimSpace(string(out))
	d.env = append(env, "DOCKER_HOST="+d.host)
	return d, nil
}

// docker runs the docker CLI against the daemon.
func (d *dockerDaemon) docker(ctx context.Context, args ...string) error {
	return runTool(ctx, d.env, "docker", args...)
}

// empty removes every image from the daemon's store.
func (d *dockerDaemon) empty(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "docker", "-H", d.host, "image", "ls", "-aq").Output()
	if err != nil {
		return fmt.Errorf("docker image ls: %w", err)
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		if err := d.docker(ctx, append([]string{"rmi", "-f"}, ids...)...); err != nil {
			return err
		}
	}
	if err := d.docker(ctx, "image", "prune", "-af"); err != nil {
		return err
	}
	out, err = exec.CommandContext(ctx, "docker", "-H", d.host, "image", "ls", "-aq").Output()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		return fmt.Errorf("docker image store not empty after prune: %q %v", out, err)
	}
	return nil
}

// stop stops the daemon and removes its directory.
func (d *dockerDaemon) stop() error {
	cmd := exec.Command(dockerdScript, "stop")
	cmd.Env = append(os.Environ(), "BERTH_DOCKERD_DIR="+d.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%s stop: %w: %s", dockerdScript, err, out)
	}
	return errors.Join(err, os.RemoveAll(d.dir))
}
