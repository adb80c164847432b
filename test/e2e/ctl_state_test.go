//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCtlCleansStaleSnapshots: the .tmp-* directory an unpack killed
// mid-way leaves in the snapshot store goes at the next pull, and at
// ctl image prune; snapshots in use stay.
func TestCtlCleansStaleSnapshots(t *testing.T) {
	requireRootE2E(t)
	reg := startTarget(t)
	c := newCtl(t)
	name := reg.Ref("ctl/stale:v1")
	push(t, name, whiteoutImage(t))
	snaps := filepath.Join(c.root, "snapshots")
	stale := func(n string) string {
		dir := filepath.Join(snaps, n)
		if err := os.MkdirAll(filepath.Join(dir, "fs", "usr"), 0o755); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	first := stale(".tmp-0123456789ab-1")
	c.run(t, "pull", "-q", name)
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Errorf("ctl pull left %s (%v)", first, err)
	}
	second := stale(".tmp-0123456789ab-2")
	c.run(t, "image", "prune", "-f")
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Errorf("ctl image prune left %s (%v)", second, err)
	}
	if r := c.try(t, "", "run", "--rm", name); r.code != 0 {
		t.Errorf("the image no longer runs:\n%s", r)
	}
}

// TestCtlRunKilled: when ctl run is SIGKILLed, its container dies with it
// and ctl ps -a shows it exited (255, as docker shows a container whose
// state was lost) instead of running forever; ctl rm removes it without
// -f.
func TestCtlRunKilled(t *testing.T) {
	requireRootE2E(t)
	reg := startTarget(t)
	c := newCtl(t)
	name := reg.Ref("ctl/killed:v1")
	push(t, name, whiteoutImage(t))
	c.run(t, "pull", "-q", name)
	t.Cleanup(func() { c.try(t, "", "rm", "-f", "victim") })

	cmd := c.command(t, "", "run", "--name", "victim", "--memory", "64m", name, "sleep")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ps string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ps = c.run(t, "ps"); strings.Contains(ps, "victim") {
			break
		}
	}
	if !strings.Contains(ps, "Up ") {
		t.Fatalf("ctl ps while it runs:\n%s", ps)
	}
	rec := ctlContainer(t, c, "victim")
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ps = c.run(t, "ps", "-a"); !strings.Contains(ps, "Up ") {
			break
		}
	}
	if !strings.Contains(ps, "Exited (255)") || !strings.Contains(ps, "victim") {
		stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", rec.Pid))
		t.Fatalf("ctl ps -a after ctl run was killed:\n%s\nits process: %s", ps, stat)
	}
	if ps := c.run(t, "ps"); strings.Contains(ps, "victim") {
		t.Errorf("ctl ps lists the dead container as running:\n%s", ps)
	}
	c.run(t, "rm", "victim")
	if out := c.run(t, "ps", "-a"); strings.Contains(out, "victim") {
		t.Errorf("ctl rm left it:\n%s", out)
	}
	if rec.Cgroup != "" {
		if _, err := os.Stat(rec.Cgroup); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left (%v)", rec.Cgroup, err)
		}
	}
}
