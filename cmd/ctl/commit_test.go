package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseCmdChange(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      bool
	}{
		{"exec form", `CMD ["/bin/probe", "7"]`, []string{"/bin/probe", "7"}, false},
		{"shell form", `cmd echo hi`, []string{"/bin/sh", "-c", "echo hi"}, false},
		{"other instruction", `ENV A=1`, nil, true},
		{"bad json", `CMD ["x"`, nil, true},
		{"empty", `CMD`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseCmdChange(tc.in)
			if (err != nil) != tc.err || strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("parseCmdChange(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestCommitRoundTrip runs the probe, changes the container's upper
// directory (a new file, a changed file, a deletion as an overlay
// whiteout), commits it, pushes, pulls into a clean store and runs the
// committed image.
func TestCommitRoundTrip(t *testing.T) {
	requireRoot(t)
	reg := newTestRegistry(t)
	reg.push(t, "team/probe:v1", probeImage(t))
	e := newTestEnv(t)
	ref := reg.ref("team/probe:v1")
	e.ok("", "pull", "-q", ref)
	if r := e.run("", "run", "--name", "box", ref, "0"); r.code != 0 {
		t.Fatalf("run: exit %d, stderr %s", r.code, r.stderr)
	}
	e.fails("no such container", "commit", "nope", reg.ref("team/probe:x"))

	ents, err := os.ReadDir(filepath.Join(e.root, "containers"))
	if err != nil || len(ents) != 1 {
		t.Fatalf("container dirs: %v, %v", ents, err)
	}
	upper := filepath.Join(e.root, "containers", ents[0].Name(), "upper")
	must(t, os.MkdirAll(filepath.Join(upper, "srv"), 0o755))
	must(t, os.WriteFile(filepath.Join(upper, "srv", "new.txt"), []byte("hello"), 0o644))
	must(t, os.MkdirAll(filepath.Join(upper, "etc"), 0o755))
	must(t, os.WriteFile(filepath.Join(upper, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644))
	must(t, unix.Mknod(filepath.Join(upper, "etc", "group"), unix.S_IFCHR, 0))

	committed := reg.ref("team/probe:committed")
	out := e.ok("", "commit", "-m", "add new.txt", "-a", "Jane <jane@example.com>", "-c", `CMD ["7"]`, "box", committed)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}\n$`).MatchString(out) {
		t.Fatalf("commit printed %q, want an image ID", out)
	}
	inspect := e.ok("", "inspect", committed)
	for _, w := range []string{"add new.txt", "Jane", "ctl commit"} {
		if !strings.Contains(inspect, w) {
			t.Errorf("inspect lacks %q:\n%s", w, inspect)
		}
	}

	check := func(t *testing.T, e *testEnv) {
		t.Helper()
		r := e.run("", "run", "--rm", "-e", "PROBE_CAT=/srv/new.txt,/etc/passwd,/etc/group,/bin/probe", committed)
		if r.code != 7 {
			t.Fatalf("run committed: exit %d, want 7 (the new CMD)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		for _, w := range []string{"cat:/srv/new.txt=hello\n", "cat:/etc/passwd=root:x:0:0:root:/root:/bin/sh\n\n", "cat:/etc/group=<missing>\n"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("output lacks %q:\n%s", w, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "cat:/bin/probe=<missing>") {
			t.Errorf("the base layer is gone:\n%s", r.stdout)
		}
	}
	t.Run("runs without a pull", func(t *testing.T) { check(t, e) })
	e.ok("", "push", "-q", committed)
	e.ok("", "rm", "box")

	clean := newTestEnv(t)
	clean.ok("", "pull", "-q", committed)
	t.Run("runs after push and pull", func(t *testing.T) { check(t, clean) })

	mounts, _ := os.ReadFile("/proc/self/mounts")
	if strings.Contains(string(mounts), e.root) || strings.Contains(string(mounts), clean.root) {
		t.Errorf("mounts left behind:\n%s", mounts)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
