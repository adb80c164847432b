package container

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupParent is the group, under a hierarchy's root, holding one group
// per limited container.
const cgroupParent = "ctl"

// memoryHierarchy finds where the memory controller is: a cgroup2 mount
// that offers it (v2), else the cgroup v1 memory hierarchy (hybrid hosts
// bind the controller there), else cgroup2 mounted by ctl at fallback
// when nothing is mounted at all.
func memoryHierarchy(fallback string) (dir string, v2 bool, err error) {
	mounts, err := cgroupMounts()
	if err != nil {
		return "", false, err
	}
	var v1 string
	for _, m := range mounts {
		switch {
		case m.fstype == "cgroup2" && hasController(m.dir, "memory"):
			return m.dir, true, nil
		case m.fstype == "cgroup" && slices.Contains(strings.Split(m.opts, ","), "memory") && v1 == "":
			v1 = m.dir
		}
	}
	if v1 != "" {
		return v1, false, nil
	}
	if len(mounts) > 0 {
		return "", false, errors.New("--memory: no cgroup hierarchy here has the memory controller")
	}
	if err := os.MkdirAll(fallback, 0o700); err != nil {
		return "", false, err
	}
	if err := unix.Mount("cgroup2", fallback, "cgroup2", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return "", false, fmt.Errorf("--memory: no cgroup hierarchy is mounted, and mounting cgroup2 at %s: %w", fallback, err)
	}
	if !hasController(fallback, "memory") {
		return "", false, errors.New("--memory: cgroup2 has no memory controller on this host")
	}
	return fallback, true, nil
}

type cgroupMount struct{ dir, fstype, opts string }

// cgroupMounts lists the cgroup and cgroup2 mounts of /proc/self/mountinfo.
func cgroupMounts() ([]cgroupMount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []cgroupMount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		a, b := strings.Fields(pre), strings.Fields(post)
		if !ok || len(a) < 5 || len(b) < 3 || (b[0] != "cgroup" && b[0] != "cgroup2") {
			continue
		}
		out = append(out, cgroupMount{dir: unescapeMountinfo(a[4]), fstype: b[0], opts: b[2]})
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func hasController(dir, name string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	return err == nil && slices.Contains(strings.Fields(string(b)), name)
}

// enableMemory turns the memory controller on for dir's children (v2).
func enableMemory(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
	if err == nil && slices.Contains(strings.Fields(string(b)), "memory") {
		return nil
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte("+memory"), 0); err != nil {
		return fmt.Errorf("enabling the memory controller in %s: %w", dir, err)
	}
	return nil
}

// newCgroup makes the cgroup of container id with a memory limit of
// limit bytes and returns its directory. fallback is where to mount
// cgroup2 if no cgroup hierarchy is mounted.
func newCgroup(fallback, id string, limit int64) (string, error) {
	root, v2, err := memoryHierarchy(fallback)
	if err != nil {
		return "", err
	}
	parent := filepath.Join(root, cgroupParent)
	dir := filepath.Join(parent, id)
	if v2 {
		err = enableMemory(root)
		if err == nil {
			err = os.MkdirAll(parent, 0o755)
		}
		if err == nil {
			err = enableMemory(parent)
		}
	} else {
		err = os.MkdirAll(parent, 0o755)
	}
	if err != nil {
		return "", fmt.Errorf("--memory: %w", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("--memory: creating cgroup %s: %w", dir, err)
	}
	file, val := "memory.max", strconv.FormatInt(limit, 10)
	if !v2 {
		file = "memory.limit_in_bytes"
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(val), 0); err != nil {
		_ = removeCgroup(dir)
		return "", fmt.Errorf("--memory: setting %s to %s: %w", file, val, err)
	}
	return dir, nil
}

// removeCgroup removes the cgroup dir once its processes are gone (the
// last ones of a pid namespace take a moment to exit after its init). A
// missing one is not an error.
func removeCgroup(dir string) error {
	if dir == "" {
		return nil
	}
	var err error
	for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			return fmt.Errorf("removing cgroup %s: %w", dir, err)
		}
	}
}
