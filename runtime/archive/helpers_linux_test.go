package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// requireRoot stops a privileged test: a failure in CI (which runs as
// root), a skip elsewhere.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("this test needs root (chown, mknod, trusted xattrs); CI runs as root")
	}
	t.Skip("needs root")
}

type ent struct {
	hdr  tar.Header
	body string
}

func reg(name, body string, mode int64) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode}, body: body}
}
func dir(name string, mode int64) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode}}
}
func symlink(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777}}
}
func hardlink(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target}}
}

var epoch = time.Unix(1_600_000_000, 0)

// mkTar writes entries as a PAX tar; ModTime defaults to epoch.
func mkTar(t *testing.T, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := e.hdr
		h.Format = tar.FormatPAX
		if h.ModTime.IsZero() {
			h.ModTime = epoch
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("tar header %s: %v", h.Name, err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// sandbox is a target dir and a sibling dir holding a sentinel file that no
// layer may touch.
type sandbox struct {
	base, root, outside, sentinel string
}

func newSandbox(t *testing.T) sandbox {
	t.Helper()
	base := t.TempDir()
	s := sandbox{base: base, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	s.sentinel = filepath.Join(s.outside, "sentinel")
	for _, d := range []string{s.root, s.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.sentinel, []byte("sentinel"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := []unix.Timespec{unix.NsecToTimespec(epoch.UnixNano()), unix.NsecToTimespec(epoch.UnixNano())}
	for _, p := range []string{s.sentinel, s.outside, s.base} {
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// checkOutside fails unless base holds only root and outside, outside only
// the sentinel, all as newSandbox left them.
func (s sandbox) checkOutside(t *testing.T) {
	t.Helper()
	names := func(d string) []string {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, e := range es {
			n = append(n, e.Name())
		}
		return n
	}
	if got := names(s.base); len(got) != 2 || got[0] != "outside" || got[1] != "root" {
		t.Errorf("base dir holds %v, want [outside root]", got)
	}
	if got := names(s.outside); len(got) != 1 || got[0] != "sentinel" {
		t.Errorf("outside dir holds %v, want [sentinel]", got)
	}
	for _, p := range []string{s.outside, s.sentinel, s.base} {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Mtim.Sec != epoch.Unix() || st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s changed: mtime %d uid %d gid %d", p, st.Mtim.Sec, st.Uid, st.Gid)
		}
		wantMode := uint32(0o755)
		if p == s.sentinel {
			wantMode = 0o644
			if st.Nlink != 1 {
				t.Errorf("sentinel has %d links, want 1", st.Nlink)
			}
		}
		if p != s.base && st.Mode&0o7777 != wantMode {
			t.Errorf("%s mode %o, want %o", p, st.Mode&0o7777, wantMode)
		}
	}
	if b, err := os.ReadFile(s.sentinel); err != nil || string(b) != "sentinel" {
		t.Errorf("sentinel reads %q, %v", b, err)
	}
}

func lstat(t *testing.T, p string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat: %v", err)
	}
	return st
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return !errors.Is(err, fs.ErrNotExist)
}

// resolvers runs f with openat2 and with the securejoin fallback.
func resolvers(t *testing.T, f func(t *testing.T, opts ...Option)) {
	t.Run("openat2", func(t *testing.T) { f(t) })
	t.Run("securejoin", func(t *testing.T) { f(t, func(o *options) { o.noOpenat2 = true }) })
}
