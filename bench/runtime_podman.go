package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// podman is the second reference of the runtime scenarios: podman from Debian's package, as root,
// each pull into a store of its own (--root, --runroot under a fresh temporary directory, overlay
// driver) so every pull starts empty, with no systemd (cgroupfs, file events).
type podman struct {
	bin     string
	version string
	pullErr string // why podman is not measured at all ("" when it is)
	runErr  string // why podman is not in rt-start ("" when it is)
}

// podmanRunFlags make `podman run` work in this sandbox and compare with the other two: no
// network, like the ctl and docker runs; explicit rlimits because podman's defaults (nofile
// 1048576) exceed what this sandbox lets root raise its hard limit to (runc fails "error setting
// rlimit type 7: operation not permitted").
var podmanRunFlags = []string{"--network", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"}

// newPodman finds podman; a missing one is recorded, not an error.
func newPodman(ctx context.Context) *podman {
	p := &podman{}
	bin, err := exec.LookPath("podman")
	if err != nil {
		p.pullErr = "podman not on PATH (scripts/install-tools.sh installs it)"
		p.runErr = p.pullErr
		return p
	}
	p.bin = bin
	out, err := exec.CommandContext(ctx, bin, "--version").Output()
	if err != nil {
		p.pullErr = fmt.Sprintf("podman --version: %v", err)
		p.runErr = p.pullErr
		return p
	}
	p.version = strings.TrimSpace(string(out))
	return p
}

// ok reports whether podman is measured in rt-pull.
func (p *podman) ok() bool { return p.pullErr == "" }

// podmanStore is a private podman store: images under root (beside the other tools' stores),
// state under run, a short path of its own because podman refuses a runroot longer than 50
// characters.
type podmanStore struct{ root, run string }

// newPodmanStore makes an empty store with its root under dir.
func newPodmanStore(dir string) (*podmanStore, error) {
	root, err := os.MkdirTemp(dir, "podman-")
	if err != nil {
		return nil, err
	}
	run, err := os.MkdirTemp("/tmp", "podrun-")
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	return &podmanStore{root: root, run: run}, nil
}

// remove deletes the store.
func (st *podmanStore) remove() error {
	return errors.Join(os.RemoveAll(st.root), os.RemoveAll(st.run))
}

// args are the global flags that keep podman's store in st and away from systemd.
func (st *podmanStore) args(args ...string) []string {
	return append([]string{
		"--root", st.root, "--runroot", st.run,
		"--storage-driver", "overlay", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
	}, args...)
}

// pull pulls ref over plain HTTP into a fresh store under dir and returns how long the pull took;
// the store is removed afterwards.
func (p *podman) pull(ctx context.Context, dir, ref string) (time.Duration, error) {
	st, err := newPodmanStore(dir)
	if err != nil {
		return 0, err
	}
	defer st.remove()
	syscall.Sync()
	start := time.Now()
	err = runTool(ctx, os.Environ(), p.bin, st.args("pull", "-q", "--tls-verify=false", ref)...)
	return time.Since(start), err
}

// run runs `podman run --rm IMAGE args...` from st.
func (p *podman) run(ctx context.Context, st *podmanStore, ref string, args ...string) error {
	a := append(append([]string{"run", "--rm"}, podmanRunFlags...), ref)
	return runTool(ctx, os.Environ(), p.bin, st.args(append(a, args...)...)...)
}

// prepareRun pulls ref into a store under dir for rt-start and checks a container starts; when
// it cannot, podman stays out of rt-start and runErr says why.
func (p *podman) prepareRun(ctx context.Context, dir, ref string) *podmanStore {
	if !p.ok() {
		return nil
	}
	st, err := newPodmanStore(dir)
	if err != nil {
		p.runErr = err.Error()
	} else if err := runTool(ctx, os.Environ(), p.bin, st.args("pull", "-q", "--tls-verify=false", ref)...); err != nil {
		p.runErr = err.Error()
	} else if err := p.run(ctx, st, ref, "/probe", "0"); err != nil {
		p.runErr = err.Error()
	}
	if p.runErr != "" {
		fmt.Fprintln(os.Stderr, "podman cannot run containers here, rt-start leaves it out:", p.runErr)
	}
	return st
}

// Note implements noter: how podman was run, or why it was not.
func (p *podman) Note() string {
	if !p.ok() {
		return "podman: not measured: " + p.pullErr
	}
	n := fmt.Sprintf("podman: %s (`%s`), as root with `%s`, a fresh --root per pull; runs add `%s`",
		p.version, p.bin, strings.Join((&podmanStore{}).args()[4:], " "), strings.Join(podmanRunFlags, " "))
	if p.runErr != "" {
		n += "; left out of rt-start: " + p.runErr
	}
	return n
}

// faster runs both references in turn, in the order flip says, and returns each one's value and
// the smaller (docker's alone when podman is not measured).
func faster(flip bool, withPodman bool, docker, podman func() (float64, error)) (d, p, best float64, err error) {
	order := []func() error{
		func() (err error) { d, err = docker(); return err },
		func() (err error) { p, err = podman(); return err },
	}
	if !withPodman {
		order = order[:1]
	} else if flip {
		order[0], order[1] = order[1], order[0]
	}
	for _, f := range order {
		if err := f(); err != nil {
			return 0, 0, 0, err
		}
	}
	best = d
	if withPodman && p < d {
		best = p
	}
	return d, p, best, nil
}
