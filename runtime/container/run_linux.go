package container

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berthhq/berth/runtime/snapshot"
	"golang.org/x/sys/unix"
)

// Stdio are the container process's standard streams; nil ones read
// from or write to /dev/null. With Spec.TTY the process's stdin, stdout
// and stderr are one pseudo-terminal: In is copied to it, its output to
// Out (Err gets only ctl's own errors), and Resize sizes it: the value
// waiting when the process starts, then each one sent.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	Resize   <-chan WinSize
}

// Run creates a container from spec and runs it in the foreground,
// returning the exit status of its process (128+signal when a signal
// killed it). SIGINT and SIGTERM that reach this process are forwarded
// to the container's process (which, as pid 1 of its namespace, ignores
// those it has no handler for), the third one as SIGKILL; cancelling
// ctx kills it. With spec.Remove the
// container's directory is removed afterwards. The error is non-nil
// only when the container could not be set up or started.
func (r *Runtime) Run(ctx context.Context, spec Spec, stdio Stdio) (int, error) {
	rec, err := r.newContainer(ctx, spec)
	if err != nil {
		return 0, err
	}
	return r.runRecord(ctx, rec, stdio)
}

// newContainer checks spec and creates the container's directory and
// first record.
func (r *Runtime) newContainer(ctx context.Context, spec Spec) (*Record, error) {
	if spec.Network != "" && spec.Network != NetworkHost && spec.Network != NetworkNone {
		return nil, fmt.Errorf("network %q: only %q and %q are supported", spec.Network, NetworkHost, NetworkNone)
	}
	if len(spec.Args()) == 0 {
		return nil, errors.New("no command: the image has no entrypoint or cmd, and none was given")
	}
	if spec.Name != "" {
		if _, err := r.Lookup(spec.Name); err == nil {
			return nil, fmt.Errorf("the container name %q is already in use", spec.Name)
		}
	}
	rec := &Record{ID: newID(), Spec: spec, Created: time.Now().UTC(), Status: "created"}
	dir := r.Dir(rec.ID)
	if err := r.create(ctx, dir, rec); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return rec, nil
}

// runRecord runs a created container to its end and records its exit.
func (r *Runtime) runRecord(ctx context.Context, rec *Record, stdio Stdio) (int, error) {
	dir := r.Dir(rec.ID)
	lock, err := lockContainer(dir)
	if err != nil {
		return 0, err
	}
	defer lock.Close() // after the exit is recorded
	code, err := r.start(ctx, dir, rec, stdio)
	if cerr := removeCgroup(rec.Cgroup); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		rec.Status, rec.ExitCode, rec.FinishedAt = "exited", code, time.Now().UTC()
	} else {
		rec.Status, rec.ExitCode = "exited", -1
	}
	rec.Pid, rec.PidStart = 0, 0
	if rec.Spec.Remove {
		if rerr := r.removeDir(dir); rerr != nil && err == nil {
			err = rerr
		}
		return code, err
	}
	if werr := r.writeRecord(rec); werr != nil && err == nil {
		err = werr
	}
	return code, err
}

// LogFile is the name, in a container's directory, of a detached
// container's output (stdout and stderr, as written).
const LogFile = "log"

// RunDetached creates a container from spec and starts it in the
// background: a monitor process (ctl re-executed with MonitorArg, in a
// new session) runs it with its stdout and stderr appended to LogFile,
// and records its exit. It returns the container's ID once the monitor
// has started.
func (r *Runtime) RunDetached(ctx context.Context, spec Spec) (string, error) {
	rec, err := r.newContainer(ctx, spec)
	if err != nil {
		return "", err
	}
	dir := r.Dir(rec.ID)
	fail := func(err error) (string, error) {
		_ = r.removeDir(dir)
		return "", err
	}
	log, err := os.OpenFile(filepath.Join(dir, LogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fail(err)
	}
	defer log.Close()
	self, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command(self, MonitorArg, r.root, r.snaps.Root(), rec.ID)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("starting the container's monitor: %w", err))
	}
	_ = cmd.Process.Release()
	return rec.ID, nil
}

// Monitor is a detached container's monitor: main calls it, before
// anything else, when argv[1] is MonitorArg, and exits with the code it
// returns. It runs the container and records its exit.
func Monitor(args []string) int {
	if len(args) != 5 || args[1] != MonitorArg {
		fmt.Fprintln(os.Stderr, "ctl: bad container monitor invocation")
		return 2
	}
	snaps, err := snapshot.New(args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container monitor:", err)
		return 1
	}
	r, err := New(args[2], snaps)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container monitor:", err)
		return 1
	}
	rec, err := r.Lookup(args[4])
	if err != nil || rec.ID != args[4] {
		fmt.Fprintln(os.Stderr, "ctl: container monitor: no container", args[4])
		return 1
	}
	if _, err := r.runRecord(context.Background(), &rec, Stdio{Out: os.Stdout, Err: os.Stderr}); err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container monitor:", err)
		return 1
	}
	return 0
}

// create makes the container's directories and first record.
func (r *Runtime) create(ctx context.Context, dir string, rec *Record) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	// The upper dir is the container's / (overlay takes the root's
	// owner and mode from it): 0755 like an image's root.
	for _, d := range []string{"upper", "work", "rootfs"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if _, err := r.snaps.Mounts(ctx, rec.Spec.ChainIDs, filepath.Join(dir, "upper"), filepath.Join(dir, "work")); err != nil {
		return fmt.Errorf("image %s: %w", rec.Spec.Image, err)
	}
	return r.writeRecord(rec)
}

// start runs the init stage and waits for it.
func (r *Runtime) start(ctx context.Context, dir string, rec *Record, stdio Stdio) (int, error) {
	mounts, err := r.snaps.Mounts(ctx, rec.Spec.ChainIDs, filepath.Join(dir, "upper"), filepath.Join(dir, "work"))
	if err != nil {
		return 0, err
	}
	host := rec.Spec.Hostname
	if host == "" {
		host = rec.ID[:12]
	}
	ic := initConfig{Rootfs: filepath.Join(dir, "rootfs"), Mounts: mounts, Hostname: host, Spec: rec.Spec}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command(self, InitArg)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.In, stdio.Out, stdio.Err
	cmd.Env = []string{}
	if rec.Spec.Memory > 0 {
		procs, err := r.cgroup(rec)
		if err != nil {
			return 0, err
		}
		defer procs.Close()
		cmd.ExtraFiles = append(cmd.ExtraFiles, procs)
		ic.CgroupFd = 2 + len(cmd.ExtraFiles)
	}
	var console *os.File
	if rec.Spec.TTY {
		parentEnd, childEnd, err := newConsoleSocket()
		if err != nil {
			return 0, err
		}
		defer parentEnd.Close()
		defer childEnd.Close()
		console = parentEnd
		cmd.Stdin, cmd.Stdout = nil, nil // the process gets the pty
		cmd.ExtraFiles = append(cmd.ExtraFiles, childEnd)
		ic.ConsoleFd = 2 + len(cmd.ExtraFiles)
	}
	cfg, err := json.Marshal(ic)
	if err != nil {
		return 0, err
	}
	cmd.Args = append(cmd.Args, string(cfg))
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC)
	if rec.Spec.Network == NetworkNone {
		flags |= unix.CLONE_NEWNET
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting container: %w", err)
	}
	for _, f := range cmd.ExtraFiles {
		f.Close() // init's now: the console socket reads EOF if init dies
	}
	rec.Status, rec.Pid = "running", cmd.Process.Pid
	rec.PidStart, _ = processStart(rec.Pid)
	_ = r.writeRecord(rec)
	detach := func() {}
	if console != nil {
		if detach, err = attachConsole(console, stdio); err != nil && !errors.Is(err, errNoConsole) {
			_ = cmd.Process.Kill()
		}
	}
	done := make(chan struct{})
	go func() {
		forwarded := 0
		for {
			select {
			case s := <-sigs:
				// Pid 1 of a namespace ignores signals it has no
				// handler for: the third one kills it.
				if forwarded++; forwarded >= 3 {
					s = syscall.SIGKILL
				}
				_ = cmd.Process.Signal(s)
			case <-ctx.Done():
				_ = cmd.Process.Kill()
				return
			case <-done:
				return
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	detach()
	return exitCode(cmd, err)
}

// cgroup makes the cgroup of a --memory container, records it, and
// returns its cgroup.procs open for init to join.
func (r *Runtime) cgroup(rec *Record) (*os.File, error) {
	dir, err := newCgroup(filepath.Join(r.root, ".cgroup"), rec.ID, rec.Spec.Memory)
	if err != nil {
		return nil, err
	}
	rec.Cgroup = dir
	if err := r.writeRecord(rec); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(dir, "cgroup.procs"), os.O_WRONLY, 0)
}

// exitCode turns Wait's result into a shell-style exit status.
func exitCode(cmd *exec.Cmd, err error) (int, error) {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return 0, err
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return 0, err
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// removeDir unmounts whatever is left at the container's rootfs and
// removes its directory.
func (r *Runtime) removeDir(dir string) error {
	rootfs := filepath.Join(dir, "rootfs")
	for range 8 {
		if err := unix.Unmount(rootfs, unix.MNT_DETACH); err != nil {
			break
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing container: %w", err)
	}
	return nil
}

// Remove removes the container ref (name, ID or ID prefix). A running
// one is killed first with force, refused without.
func (r *Runtime) Remove(ref string, force bool) (string, error) {
	rec, err := r.Lookup(ref)
	if err != nil {
		return "", err
	}
	if rec.Status == "running" && rec.Pid > 0 && processAlive(rec.Pid, rec.PidStart) {
		if !force {
			return "", fmt.Errorf("container %s is running: stop it or use --force", ref)
		}
		_ = unix.Kill(rec.Pid, unix.SIGKILL)
		// Whoever runs it (ctl run, or a detached container's monitor)
		// records its exit: wait for that before removing the directory.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cur, err := r.Lookup(rec.ID); err != nil || cur.Status != "running" {
				break
			}
		}
	}
	if err := removeCgroup(rec.Cgroup); err != nil {
		return "", err
	}
	return rec.ID, r.removeDir(r.Dir(rec.ID))
}
