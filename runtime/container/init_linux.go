package container

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// Init is the container's init stage: main calls it, before anything
// else, when argv[1] is InitArg, and exits with the code it returns. On
// success it does not return: it execs the container's process.
func Init(args []string) int {
	if len(args) < 3 || args[1] != InitArg {
		fmt.Fprintln(os.Stderr, "ctl: bad container init invocation")
		return 127
	}
	// The parent-death signal is per thread and does not survive an exec
	// from another thread than the one it was set on: set it again on the
	// thread that will exec, so the container dies with ctl (or its
	// monitor) even when it is SIGKILLed.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container init: prctl:", err)
		return 127
	}
	var cfg initConfig
	if err := json.Unmarshal([]byte(args[2]), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container init:", err)
		return 127
	}
	if cfg.CgroupFd != 0 {
		// Join the container's cgroup before anything is allocated.
		procs := os.NewFile(uintptr(cfg.CgroupFd), "cgroup.procs")
		_, err := procs.WriteString("0")
		procs.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, "ctl: container init: joining the cgroup:", err)
			return 127
		}
	}
	if err := setup(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container init:", err)
		return 127
	}
	env, uid, gid, groups, err := identity(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container init:", err)
		return 127
	}
	if cfg.ConsoleFd != 0 {
		if err := openConsole(os.NewFile(uintptr(cfg.ConsoleFd), "console"), uid, gid); err != nil {
			fmt.Fprintln(os.Stderr, "ctl: container init:", err)
			return 127
		}
	}
	if err := enter(cfg, uid, gid, groups); err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container init:", err)
		return 127
	}
	argv := cfg.Spec.Args()
	path, err := lookPath(argv[0], env)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ctl: container init:", err)
		return 127
	}
	err = unix.Exec(path, argv, env)
	fmt.Fprintf(os.Stderr, "ctl: container init: exec %s: %v\n", argv[0], err)
	return 126
}

// setup builds the container's filesystem and pivots into it.
func setup(cfg initConfig) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	root := cfg.Rootfs
	for _, m := range cfg.Mounts {
		if err := m.Mount(root); err != nil {
			return fmt.Errorf("mounting the root filesystem: %w", err)
		}
	}
	if err := mountProcSys(root, cfg.Spec.Network); err != nil {
		return err
	}
	if err := mountDev(root); err != nil {
		return err
	}
	for _, b := range cfg.Spec.Binds {
		if err := bindMount(root, b); err != nil {
			return fmt.Errorf("volume %s:%s: %w", b.Source, b.Destination, err)
		}
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching the old root: %w", err)
	}
	return os.Chdir("/")
}

func mountProcSys(root, network string) error {
	proc := filepath.Join(root, "proc")
	if err := os.MkdirAll(proc, 0o555); err != nil {
		return err
	}
	if err := unix.Mount("proc", proc, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	sys := filepath.Join(root, "sys")
	if err := os.MkdirAll(sys, 0o555); err != nil {
		return err
	}
	ro := uintptr(unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := unix.Mount("sysfs", sys, "sysfs", ro, ""); err != nil {
		if network == NetworkNone {
			return fmt.Errorf("mounting /sys: %w", err)
		}
		// Sharing the host's network namespace: a read-only bind of it.
		if err := unix.Mount("/sys", sys, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("mounting /sys: %w", err)
		}
		if err := unix.Mount("", sys, "", unix.MS_BIND|unix.MS_REMOUNT|ro, ""); err != nil {
			return fmt.Errorf("mounting /sys read-only: %w", err)
		}
	}
	return nil
}

// mountDev gives the container a tmpfs /dev with the host's harmless
// devices bound in, a private devpts and /dev/shm.
func mountDev(root string) error {
	dev := filepath.Join(root, "dev")
	if err := os.MkdirAll(dev, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dev, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size=65536k"); err != nil {
		return fmt.Errorf("mounting /dev: %w", err)
	}
	for _, name := range []string{"null", "zero", "full", "random", "urandom", "tty"} {
		target := filepath.Join(dev, name)
		if err := os.WriteFile(target, nil, 0o666); err != nil {
			return err
		}
		if err := unix.Mount("/dev/"+name, target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("binding /dev/%s: %w", name, err)
		}
	}
	pts := filepath.Join(dev, "pts")
	if err := os.MkdirAll(pts, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("devpts", pts, "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mounting /dev/pts: %w", err)
	}
	shm := filepath.Join(dev, "shm")
	if err := os.MkdirAll(shm, 0o1777); err != nil {
		return err
	}
	if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=65536k"); err != nil {
		return fmt.Errorf("mounting /dev/shm: %w", err)
	}
	links := [][2]string{{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}}
	for _, l := range links {
		if err := os.Symlink(l[0], filepath.Join(dev, l[1])); err != nil {
			return err
		}
	}
	return nil
}

// bindMount binds b.Source at b.Destination inside root, creating the
// destination (a directory, or an empty file for a file source) when
// missing. The destination is resolved inside root (symlinks cannot
// lead out of it) and mounted through an O_PATH handle of it.
func bindMount(root string, b Bind) error {
	fi, err := os.Stat(b.Source)
	if err != nil {
		return err
	}
	target, err := securejoin.SecureJoin(root, b.Destination)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
		if err != nil {
			return err
		}
		_ = f.Close()
	}
	fd, err := unix.Open(target, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	// The handle must still be inside root.
	real, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
	if err != nil {
		return err
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	if real == realRoot || !strings.HasPrefix(real, realRoot+"/") {
		return fmt.Errorf("%s resolves outside the container's root", b.Destination)
	}
	via := fmt.Sprintf("/proc/self/fd/%d", fd)
	if err := unix.Mount(b.Source, via, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind mount: %w", err)
	}
	if b.ReadOnly {
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("remounting read-only: %w", err)
		}
	}
	return nil
}

// enter changes to the working directory and drops to the user.
func enter(cfg initConfig, uid, gid int, groups []int) error {
	wd := cfg.Spec.WorkingDir
	if wd == "" {
		wd = "/"
	}
	if err := os.MkdirAll(wd, 0o755); err != nil {
		return fmt.Errorf("working directory %s: %w", wd, err)
	}
	if err := os.Chdir(wd); err != nil {
		return fmt.Errorf("working directory %s: %w", wd, err)
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := unix.Setgid(gid); err != nil {
		return fmt.Errorf("setgid %d: %w", gid, err)
	}
	if err := unix.Setuid(uid); err != nil {
		return fmt.Errorf("setuid %d: %w", uid, err)
	}
	return nil
}

// lookPath finds file in the container's PATH (already inside its root).
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, file)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: executable file not found in $PATH", file)
}
