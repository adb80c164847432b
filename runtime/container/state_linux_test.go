package container_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
)

// parentPid reads the parent of pid from /proc/PID/stat.
func parentPid(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	return ppid
}

// TestRunnerKilled: when the monitor of a detached container is
// SIGKILLed (its process dies with it), the record that still says
// running shows as exited (255), and the container can be removed
// without --force, its cgroup with it.
func TestRunnerKilled(t *testing.T) {
	requireRoot(t)
	rt, chain, dir := newRuntime(t)
	spec := container.Spec{Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe"}, Cmd: []string{"sleep"}, Memory: 64 << 20}
	id, err := rt.RunDetached(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = rt.Remove(id, true) })
	rec := waitRunning(t, rt, id)
	if err := syscall.Kill(parentPid(t, rec.Pid), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if rec, err = rt.Lookup(id); err != nil || rec.Status != "running" {
			break
		}
	}
	if err != nil || rec.Status != "exited" || rec.ExitCode != 255 {
		t.Fatalf("after the monitor was killed: %+v, %v", rec, err)
	}
	if _, err := rt.Remove(id, false); err != nil {
		t.Fatalf("rm without -f: %v", err)
	}
	if rec.Cgroup == "" {
		t.Error("the record lost its cgroup")
	} else if _, err := os.Stat(rec.Cgroup); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left (%v)", rec.Cgroup, err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("%d container dirs left", len(left))
	}
}
