package mount

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (mount); CI runs as root")
	}
	t.Skip("needs root")
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParse(t *testing.T) {
	flags, data := parse([]string{"ro", "nosuid", "lowerdir=/a:/b", "index=off", "rw", "nodev"})
	if flags != unix.MS_NOSUID|unix.MS_NODEV {
		t.Fatalf("flags = %#x", flags)
	}
	if want := []string{"lowerdir=/a:/b", "index=off"}; !slices.Equal(data, want) {
		t.Fatalf("data = %q, want %q", data, want)
	}
}

func TestOverlay(t *testing.T) {
	requireRoot(t)
	paths := map[string]func(m Mount, target string) error{
		"Mount": func(m Mount, target string) error { return m.Mount(target) },
		"new mount API": func(m Mount, target string) error {
			flags, data := parse(m.Options)
			return m.mountFS(target, flags, data)
		},
		"mount(2)": func(m Mount, target string) error {
			flags, data := parse(m.Options)
			return m.classic(target, flags, data)
		},
	}
	for name, mountFn := range paths {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			low1, low2 := filepath.Join(dir, "l1"), filepath.Join(dir, "l2")
			upper, work, target := filepath.Join(dir, "upper"), filepath.Join(dir, "work"), filepath.Join(dir, "merged")
			for _, d := range []string{low1, low2, upper, work, target} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			write(t, filepath.Join(low2, "base"), "from l2")
			write(t, filepath.Join(low2, "shared"), "old")
			write(t, filepath.Join(low1, "shared"), "new")
			write(t, filepath.Join(low1, "d/top"), "from l1")
			m := Mount{Type: "overlay", Source: "overlay", Options: []string{
				"lowerdir=" + JoinLower([]string{low1, low2}), "upperdir=" + upper, "workdir=" + work,
			}}
			if err := mountFn(m, target); err != nil {
				t.Fatalf("mount: %v", err)
			}
			t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })

			for p, want := range map[string]string{"base": "from l2", "shared": "new", "d/top": "from l1"} {
				if got := read(t, filepath.Join(target, p)); got != want {
					t.Errorf("%s = %q, want %q", p, got, want)
				}
			}
			write(t, filepath.Join(target, "added"), "upper")
			if got := read(t, filepath.Join(upper, "added")); got != "upper" {
				t.Errorf("upper/added = %q", got)
			}
			if err := Unmount(target, 0); err != nil {
				t.Fatalf("Unmount: %v", err)
			}
			if _, err := os.Stat(filepath.Join(target, "base")); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("after unmount, merged/base: %v", err)
			}
		})
	}
}

func TestReadOnlyOverlay(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	low1, low2, target := filepath.Join(dir, "l1"), filepath.Join(dir, "l2"), filepath.Join(dir, "merged")
	for _, d := range []string{low1, low2, target} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(low2, "f"), "x")
	m := Mount{Type: "overlay", Source: "overlay", Options: []string{"ro", "lowerdir=" + JoinLower([]string{low1, low2})}}
	if err := m.Mount(target); err != nil {
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(target, unix.MNT_DETACH) })
	if got := read(t, filepath.Join(target, "f")); got != "x" {
		t.Fatalf("f = %q", got)
	}
	if err := os.WriteFile(filepath.Join(target, "g"), nil, 0o644); !errors.Is(err, unix.EROFS) {
		t.Fatalf("write on read-only overlay: %v, want EROFS", err)
	}
	if err := Unmount(target, 0); err != nil {
		t.Fatal(err)
	}
}

func TestUnmountNotMounted(t *testing.T) {
	requireRoot(t)
	if err := Unmount(t.TempDir(), 0); err == nil {
		t.Fatal("Unmount of a plain directory succeeded")
	}
}
