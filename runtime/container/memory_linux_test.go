package container_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/runtime/container"
)

// memoryLimit reads the limit of a cgroup, v2 or v1.
func memoryLimit(t *testing.T, dir string) string {
	t.Helper()
	for _, f := range []string{"memory.max", "memory.limit_in_bytes"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	t.Fatalf("cgroup %q has no memory limit file", dir)
	return ""
}

// waitRunning polls the record of id until it says running.
func waitRunning(t *testing.T, rt *container.Runtime, id string) container.Record {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		rec, err := rt.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status == "running" {
			return rec
		}
	}
	t.Fatalf("container %s never ran", id)
	return container.Record{}
}

// TestRunMemory: with Spec.Memory the process runs in a cgroup with that
// limit, is OOM-killed (137) when it needs more, and the cgroup goes with
// the container.
func TestRunMemory(t *testing.T) {
	requireRoot(t)
	rt, chain, _ := newRuntime(t)
	base := container.Spec{Image: "probe", ChainIDs: chain, Entrypoint: []string{"/bin/probe"}, Remove: true, Cmd: []string{"alloc", "200"}}
	for _, tc := range []struct {
		name   string
		memory int64
		code   int
	}{
		{"no limit", 0, 0},
		{"big limit", 1 << 30, 0},
		{"32m", 32 << 20, 137},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := base
			spec.Memory = tc.memory
			var out, errOut bytes.Buffer
			code, err := rt.Run(context.Background(), spec, container.Stdio{Out: &out, Err: &errOut})
			if err != nil || code != tc.code {
				t.Fatalf("code %d, err %v (want %d); stdout %q stderr %q", code, err, tc.code, out.String(), errOut.String())
			}
			if got := strings.Contains(out.String(), "allocated"); got != (tc.code == 0) {
				t.Errorf("allocated: %t, stdout %q", got, out.String())
			}
		})
	}
	t.Run("limit while running, cgroup removed", func(t *testing.T) {
		spec := base
		spec.Memory, spec.Remove, spec.Cmd = 64<<20, false, []string{"sleep"}
		id, err := rt.RunDetached(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		rec := waitRunning(t, rt, id)
		if rec.Cgroup == "" {
			t.Fatal("the record names no cgroup")
		}
		if got := memoryLimit(t, rec.Cgroup); got != strconv.Itoa(64<<20) {
			t.Errorf("memory limit %s, want %d", got, 64<<20)
		}
		var procs []byte
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			// Init joins as its first step, just after the record says running.
			if procs, _ = os.ReadFile(filepath.Join(rec.Cgroup, "cgroup.procs")); len(procs) > 0 {
				break
			}
		}
		if !strings.Contains(string(procs), strconv.Itoa(rec.Pid)) {
			t.Errorf("pid %d not in the cgroup's processes %q", rec.Pid, procs)
		}
		if _, err := rt.Remove(id, true); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(rec.Cgroup); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left after rm -f (%v)", rec.Cgroup, err)
		}
	})
}
