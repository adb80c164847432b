package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/berthhq/berth/runtime/container"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/spf13/cobra"
)

// runOptions are the flags of ctl run.
type runOptions struct {
	rm         bool
	name       string
	env        []string
	workdir    string
	user       string
	hostname   string
	network    string
	entrypoint string
	entrySet   bool
	volumes    []string
	detach     bool
	stdin      bool
	tty        bool
	memory     string
}

func newRunCmd(a *app) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Use:   "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
		Short: "Run a command in a new container",
		Long: "Run a command in a new container, in the foreground, from an image in the local store that\n" +
			"'ctl pull' unpacked (as root). ctl exits with the container's exit status.",
		Args: args(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.entrySet = cmd.Flags().Changed("entrypoint")
			return a.run(cmd.Context(), args[0], args[1:], o)
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false) // flags after IMAGE belong to the command
	f.BoolVar(&o.rm, "rm", false, "automatically remove the container when it exits")
	f.StringVar(&o.name, "name", "", "assign a name to the container")
	f.StringArrayVarP(&o.env, "env", "e", nil, "set environment variables (KEY=VALUE, or KEY to pass ctl's)")
	f.StringVarP(&o.workdir, "workdir", "w", "", "working directory inside the container")
	f.StringVarP(&o.user, "user", "u", "", "username or UID (format: <name|uid>[:<group|gid>])")
	f.StringVar(&o.hostname, "hostname", "", "container host name (default the container ID's first 12 digits)")
	f.StringVar(&o.network, "network", container.NetworkHost, "network: host (share the host's) or none (loopback only)")
	f.StringVar(&o.entrypoint, "entrypoint", "", "overwrite the default ENTRYPOINT of the image")
	f.BoolVarP(&o.detach, "detach", "d", false, "run the container in the background and print its ID (output goes to 'ctl logs')")
	f.BoolVarP(&o.stdin, "interactive", "i", false, "keep STDIN attached (without it the container reads /dev/null)")
	f.BoolVarP(&o.tty, "tty", "t", false, "allocate a pseudo-TTY (with -i: an interactive terminal)")
	f.StringVarP(&o.memory, "memory", "m", "", "memory limit (bytes, or with a unit: 64m, 1g), a cgroup limit")
	f.StringArrayVarP(&o.volumes, "volume", "v", nil, "bind mount a host directory or file (HOST:CONTAINER[:ro])")
	return cmd
}

// containers opens the container runtime over <root>/containers and
// <root>/snapshots.
func (a *app) containers() (*container.Runtime, *snapshot.Store, error) {
	root, err := a.rootDir()
	if err != nil {
		return nil, nil, err
	}
	snaps, err := snapshot.New(filepath.Join(root, "snapshots"))
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot store: %w", err)
	}
	rt, err := container.New(filepath.Join(root, "containers"), snaps)
	return rt, snaps, err
}

// run resolves ref to an unpacked image, builds the spec and runs it.
func (a *app) run(ctx context.Context, ref string, cmdArgs []string, o runOptions) error {
	if o.network != container.NetworkHost && o.network != container.NetworkNone {
		return fmt.Errorf("invalid --network %q: only host and none are supported", o.network)
	}
	var binds []container.Bind
	for _, v := range o.volumes {
		b, err := container.ParseBind(v)
		if err != nil {
			return err
		}
		if _, err := os.Stat(b.Source); err != nil {
			return fmt.Errorf("invalid volume %q: %w", v, err)
		}
		binds = append(binds, b)
	}
	if o.stdin && o.tty && !isTerminal(a.in) {
		return errors.New("the input device is not a TTY (-i -t needs a terminal on stdin; drop -t to pipe input)")
	}
	var memory int64
	if o.memory != "" {
		m, err := container.ParseMemory(o.memory)
		if err != nil {
			return fmt.Errorf("invalid --memory: %w", err)
		}
		memory = m
	}
	if os.Geteuid() != 0 {
		return errors.New("ctl run needs root (namespaces and overlay mounts)")
	}
	svc, err := a.images()
	if err != nil {
		return err
	}
	d, err := svc.Inspect(ctx, ref)
	if err != nil {
		return fmt.Errorf("unable to find image '%s' locally (run 'ctl pull %s' first): %w", ref, ref, err)
	}
	rt, snaps, err := a.containers()
	if err != nil {
		return err
	}
	chain := snapshot.ChainIDs(d.Config.RootFS.DiffIDs)
	for _, id := range chain {
		if _, err := snaps.Stat(ctx, id); err != nil {
			return fmt.Errorf("image '%s' is not unpacked: run 'ctl pull %s' as root to unpack it", ref, ref)
		}
	}
	c := d.Config.Config
	spec := container.Spec{
		Name: o.name, Image: ref, ChainIDs: chain,
		Entrypoint: c.Entrypoint, Cmd: c.Cmd, Env: c.Env, WorkingDir: c.WorkingDir, User: c.User,
		Hostname: o.hostname, Network: o.network, Remove: o.rm, Binds: binds,
		TTY: o.tty, Memory: memory,
	}
	if o.entrySet {
		spec.Entrypoint, spec.Cmd = nil, nil
		if o.entrypoint != "" {
			spec.Entrypoint = []string{o.entrypoint}
		}
	}
	if len(cmdArgs) > 0 {
		spec.Cmd = cmdArgs
	}
	spec.Env = append(append([]string{}, spec.Env...), a.envFlags(o.env)...)
	if o.workdir != "" {
		spec.WorkingDir = o.workdir
	}
	if o.user != "" {
		spec.User = o.user
	}
	if o.detach {
		id, err := rt.RunDetached(ctx, spec)
		if err != nil {
			return err
		}
		fmt.Fprintln(a.out, id)
		return nil
	}
	stdio := container.Stdio{Out: a.out, Err: a.errOut}
	if o.stdin {
		stdio.In = a.in
	}
	if o.tty {
		resize, restore := a.attachTerminal(o.stdin)
		defer restore()
		stdio.Resize = resize
	}
	code, err := rt.Run(context.WithoutCancel(ctx), spec, stdio)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitStatus(code)
	}
	return nil
}

// envFlags turns -e values into KEY=VALUE: a bare KEY takes ctl's own
// value, and is dropped when ctl has none.
func (a *app) envFlags(vals []string) []string {
	var out []string
	for _, v := range vals {
		if strings.Contains(v, "=") {
			out = append(out, v)
		} else if val := a.getenv(v); val != "" {
			out = append(out, v+"="+val)
		}
	}
	return out
}

// exitStatus ends ctl with a container's exit status, even when a
// signal (forwarded to the container) also cancelled the command.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("container exited with status %d", int(e)) }
