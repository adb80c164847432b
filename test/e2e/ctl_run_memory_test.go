//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ctlContainer reads the record of the one container named name under
// c's store (containers/<id>/config.json).
func ctlContainer(t *testing.T, c *ctlEnv, name string) (rec struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Pid    int    `json:"pid"`
	Cgroup string `json:"cgroup"`
	Spec   struct {
		Name string `json:"name"`
	} `json:"spec"`
}) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(c.root, "containers"))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(c.root, "containers", e.Name(), "config.json"))
		if err != nil {
			continue
		}
		if err := json.Unmarshal(b, &rec); err == nil && rec.Spec.Name == name {
			return rec
		}
	}
	t.Fatalf("no container %q in %s", name, c.root)
	return rec
}

// TestCtlRunMemory: ctl run --memory puts the container in a cgroup with
// that limit while it runs; a process that needs more is OOM-killed and
// ctl exits 137, as docker run --memory does; without a limit, or with a
// big one, the same process succeeds; the cgroup goes with the container.
func TestCtlRunMemory(t *testing.T) {
	requireRootE2E(t)
	reg := startTarget(t)
	c := newCtl(t)
	name := reg.Ref("ctl/memory:v1")
	push(t, name, whiteoutImage(t))
	c.run(t, "pull", "-q", name)
	t.Cleanup(func() { c.try(t, "", "rm", "-f", "limited") })

	for _, tc := range []struct {
		flags []string
		code  int
	}{
		{nil, 0},
		{[]string{"--memory", "1g"}, 0},
		{[]string{"--memory", "32m"}, 137},
		{[]string{"-m", "33554432"}, 137},
	} {
		args := append(append([]string{"run", "--rm"}, tc.flags...), name, "alloc", "200")
		r := c.try(t, "", args...)
		if r.code != tc.code || strings.Contains(r.stdout, "allocated") != (tc.code == 0) {
			t.Errorf("want exit %d:\n%s", tc.code, r)
		}
	}
	if r := c.try(t, "", "run", "--rm", "--memory", "5m", name); r.code == 0 || !strings.Contains(r.stderr, "6MB") {
		t.Errorf("a limit below docker's minimum was not refused:\n%s", r)
	}

	c.run(t, "run", "-d", "--name", "limited", "--memory", "64m", name, "sleep")
	var rec = ctlContainer(t, c, "limited")
	for deadline := time.Now().Add(10 * time.Second); rec.Status != "running" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		rec = ctlContainer(t, c, "limited")
	}
	if rec.Cgroup == "" {
		t.Fatalf("the running container has no cgroup: %+v", rec)
	}
	limit := ""
	for _, f := range []string{"memory.max", "memory.limit_in_bytes"} { // cgroup v2, or v1 on hybrid hosts
		if b, err := os.ReadFile(filepath.Join(rec.Cgroup, f)); err == nil {
			limit = strings.TrimSpace(string(b))
			break
		}
	}
	if limit != strconv.Itoa(64<<20) {
		t.Errorf("the container's cgroup %s has limit %q, want %d", rec.Cgroup, limit, 64<<20)
	}
	c.run(t, "rm", "-f", "limited")
	if _, err := os.Stat(rec.Cgroup); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after ctl rm -f (%v)", rec.Cgroup, err)
	}
}

// TestCtlRunMemoryLikeDocker: docker run --memory 32m kills the same
// process with the same status.
func TestCtlRunMemoryLikeDocker(t *testing.T) {
	requireRootE2E(t)
	dockerHost(t)
	reg := startTarget(t)
	name := reg.Ref("ctl/memory:docker")
	push(t, name, whiteoutImage(t))
	t.Cleanup(func() { tryDocker(t, "image", "rm", "-f", name) })
	docker(t, "pull", "-q", name)
	_, err := tryDocker(t, "run", "--rm", "--memory", "32m", name, "alloc", "200")
	if err == nil || !strings.Contains(err.Error(), "exit status 137") {
		t.Errorf("docker run --memory 32m: %v, want exit status 137", err)
	}
}
