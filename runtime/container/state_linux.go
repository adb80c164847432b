package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockContainer takes the runner's flock on a container's directory; the
// kernel drops it when the runner dies. The caller closes the file to
// release it.
func lockContainer(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("container %s is being run by another process", filepath.Base(dir))
		}
		return nil, err
	}
	return f, nil
}

// reconcile marks a "running" record exited (255) when nobody runs it any
// more: its runner's lock is free and its process is gone. It removes
// the container's cgroup and saves the record, best effort.
func (r *Runtime) reconcile(rec *Record) {
	if rec.Status != "running" {
		return
	}
	dir := r.Dir(rec.ID)
	lock, err := lockContainer(dir)
	if err != nil {
		return // its runner is alive and will record the exit
	}
	defer lock.Close()
	if rec.Pid > 0 && processAlive(rec.Pid, rec.PidStart) {
		return // orphaned but running: ctl rm -f kills it
	}
	// Re-read under the lock: the runner may have recorded the exit
	// after our caller read the record.
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		var cur Record
		if json.Unmarshal(b, &cur) == nil && cur.Status != "running" {
			*rec = cur
			return
		}
	}
	rec.Status, rec.ExitCode, rec.Pid, rec.PidStart = "exited", 255, 0, 0
	_ = removeCgroup(rec.Cgroup)
	_ = r.writeRecord(rec)
}

// processAlive reports whether pid runs (a zombie does not: the one whose
// parent was killed waits for an init that may be slow to reap it) and,
// when start is not 0, is the process that started then (not a later one
// given the same PID).
func processAlive(pid int, start uint64) bool {
	got, state, err := processStat(pid)
	if err != nil || state == "Z" || state == "X" {
		return false
	}
	return start == 0 || got == start
}

// processStart is when the process started, in clock ticks since boot.
func processStart(pid int) (uint64, error) {
	start, _, err := processStat(pid)
	return start, err
}

// processStat reads fields 22 (start time) and 3 (state) of /proc/PID/stat.
func processStat(pid int) (start uint64, state string, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, "", fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:])) // from field 3
	if len(f) < 20 {
		return 0, "", fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	start, err = strconv.ParseUint(f[19], 10, 64)
	return start, f[0], err
}
