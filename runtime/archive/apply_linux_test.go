package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestApplyRoundTrip(t *testing.T) {
	requireRoot(t)
	resolvers(t, func(t *testing.T, opts ...Option) {
		s := newSandbox(t)
		hosts := reg("etc/hosts", "127.0.0.1 localhost\n", 0o640)
		hosts.hdr.Uid, hosts.hdr.Gid = 1000, 1001
		hosts.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.note": "hi", "SCHILY.xattr.trusted.t": "tv", "SCHILY.xattr.system.nope": "x"}
		su := reg("bin/su", "#!su", 0o4755)
		sg := reg("bin/sg", "#!sg", 0o2755)
		sg.hdr.Gid = 50
		etc := dir("etc/", 0o750)
		etc.hdr.ModTime = time.Unix(1_500_000_000, 0)
		nul := ent{hdr: tar.Header{Typeflag: tar.TypeChar, Name: "dev/null", Mode: 0o666, Devmajor: 1, Devminor: 3}}
		fifo := ent{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "dev/fifo", Mode: 0o600}}
		layer := mkTar(t, dir("./", 0o755), etc, hosts, dir("bin/", 0o755), su, sg,
			symlink("bin/sh", "/bin/busybox"), hardlink("bin/su2", "bin/su"), nul, fifo,
			reg("etc/later", "x", 0o644))
		st, err := Apply(context.Background(), s.root, bytes.NewReader(layer), opts...)
		if err != nil {
			t.Fatal(err)
		}
		want := Stats{Entries: 11, Files: 4, Dirs: 2, Symlinks: 1, Hardlinks: 1, Devices: 2, XattrsSkipped: 1, Bytes: int64(len(layer))}
		if st != want {
			t.Errorf("stats %+v, want %+v", st, want)
		}
		p := func(n string) string { return filepath.Join(s.root, n) }
		if got := readFile(t, p("etc/hosts")); got != "127.0.0.1 localhost\n" {
			t.Errorf("etc/hosts = %q", got)
		}
		h := lstat(t, p("etc/hosts"))
		if h.Mode&0o7777 != 0o640 || h.Uid != 1000 || h.Gid != 1001 || h.Mtim.Sec != epoch.Unix() {
			t.Errorf("etc/hosts mode %o uid %d gid %d mtime %d", h.Mode&0o7777, h.Uid, h.Gid, h.Mtim.Sec)
		}
		for k, v := range map[string]string{"user.note": "hi", "trusted.t": "tv"} {
			buf := make([]byte, 64)
			n, err := unix.Lgetxattr(p("etc/hosts"), k, buf)
			if err != nil || string(buf[:n]) != v {
				t.Errorf("xattr %s = %q, %v; want %q", k, buf[:max(n, 0)], err, v)
			}
		}
		if m := lstat(t, p("bin/su")).Mode & 0o7777; m != 0o4755 {
			t.Errorf("bin/su mode %o, want 4755", m)
		}
		if g := lstat(t, p("bin/sg")); g.Mode&0o7777 != 0o2755 || g.Gid != 50 {
			t.Errorf("bin/sg mode %o gid %d, want 2755 gid 50", g.Mode&0o7777, g.Gid)
		}
		if e := lstat(t, p("etc")); e.Mode&0o7777 != 0o750 || e.Mtim.Sec != 1_500_000_000 {
			t.Errorf("etc mode %o mtime %d (dir times must be set after its children)", e.Mode&0o7777, e.Mtim.Sec)
		}
		buf := make([]byte, 64)
		if n, err := unix.Readlink(p("bin/sh"), buf); err != nil || string(buf[:n]) != "/bin/busybox" {
			t.Errorf("bin/sh -> %q, %v", buf[:max(n, 0)], err)
		}
		if a, b := lstat(t, p("bin/su")), lstat(t, p("bin/su2")); a.Ino != b.Ino || a.Nlink != 2 {
			t.Errorf("bin/su2 not a hardlink of bin/su (inodes %d %d, nlink %d)", a.Ino, b.Ino, a.Nlink)
		}
		if d := lstat(t, p("dev/null")); d.Mode&unix.S_IFMT != unix.S_IFCHR || d.Rdev != unix.Mkdev(1, 3) || d.Mode&0o777 != 0o666 {
			t.Errorf("dev/null mode %o rdev %d", d.Mode, d.Rdev)
		}
		if d := lstat(t, p("dev/fifo")); d.Mode&unix.S_IFMT != unix.S_IFIFO {
			t.Errorf("dev/fifo mode %o", d.Mode)
		}
		if r := lstat(t, s.root); r.Mode&0o7777 != 0o755 {
			t.Errorf("root mode %o changed", r.Mode&0o7777)
		}
		s.checkOutside(t)
	})
}

func TestApplyWhiteouts(t *testing.T) {
	requireRoot(t)
	layer := func(t *testing.T) []byte {
		return mkTar(t, dir("d/", 0o755), reg("d/.wh..wh..opq", "", 0o644), reg("d/keep", "new", 0o644),
			dir("d/sub/", 0o755), reg(".wh.gone", "", 0o644), reg("s/.wh.x", "", 0o644))
	}
	t.Run("overlay", func(t *testing.T) {
		s := newSandbox(t)
		st, err := Apply(context.Background(), s.root, bytes.NewReader(layer(t)))
		if err != nil {
			t.Fatal(err)
		}
		if st.Whiteouts != 2 || st.Opaques != 1 {
			t.Errorf("stats %+v", st)
		}
		for _, n := range []string{"gone", "s/x"} {
			w := lstat(t, filepath.Join(s.root, n))
			if w.Mode&unix.S_IFMT != unix.S_IFCHR || w.Rdev != 0 {
				t.Errorf("%s: mode %o rdev %d, want a 0:0 char device", n, w.Mode, w.Rdev)
			}
		}
		buf := make([]byte, 8)
		n, err := unix.Lgetxattr(filepath.Join(s.root, "d"), "trusted.overlay.opaque", buf)
		if err != nil || string(buf[:n]) != "y" {
			t.Errorf("d opaque xattr %q, %v", buf[:max(n, 0)], err)
		}
		if readFile(t, filepath.Join(s.root, "d/keep")) != "new" || exists(filepath.Join(s.root, "d/.wh..wh..opq")) {
			t.Error("d/keep missing or the opaque marker was written as a file")
		}
		s.checkOutside(t)
	})
	t.Run("remove", func(t *testing.T) {
		s := newSandbox(t)
		lower := mkTar(t, reg("gone", "old", 0o644), reg("d/old", "old", 0o644), reg("d/keep", "old", 0o644),
			reg("d/sub/old", "old", 0o644), reg("d/impl/old", "old", 0o644), reg("e/impl/old", "old", 0o644), reg("e/other", "old", 0o644), reg("s/x", "old", 0o644), reg("s/y", "old", 0o644))
		if _, err := Apply(context.Background(), s.root, bytes.NewReader(lower)); err != nil {
			t.Fatal(err)
		}
		upper := mkTar(t, dir("d/", 0o755), reg("d/.wh..wh..opq", "", 0o644), reg("d/keep", "new", 0o644),
			dir("d/sub/", 0o755), reg("d/impl/new", "new", 0o644), reg(".wh.gone", "", 0o644), reg("s/.wh.x", "", 0o644),
			reg("e/impl/new", "new", 0o644), reg("e/.wh..wh..opq", "", 0o644)) // marker after the children
		if _, err := Apply(context.Background(), s.root, bytes.NewReader(upper), WithWhiteoutMode(Remove)); err != nil {
			t.Fatal(err)
		}
		for n, want := range map[string]bool{"gone": false, "d/old": false, "d/sub/old": false, "d/sub": true, "d/keep": true, "d/impl/old": false, "d/impl/new": true,
			"e/impl/old": false, "e/impl/new": true, "e/other": false, "s/x": false, "s/y": true} {
			if got := exists(filepath.Join(s.root, n)); got != want {
				t.Errorf("%s exists %v, want %v", n, got, want)
			}
		}
		if readFile(t, filepath.Join(s.root, "d/keep")) != "new" {
			t.Error("d/keep is not this layer's")
		}
		s.checkOutside(t)
	})
}

func TestApplyDuplicates(t *testing.T) {
	requireRoot(t)
	s := newSandbox(t)
	layer := mkTar(t, reg("x", "one", 0o644), reg("x", "two", 0o600),
		dir("d/", 0o755), reg("d/c", "c", 0o644), reg("d", "now a file", 0o644),
		reg("f", "file", 0o644), dir("f/", 0o700), reg("f/c", "c", 0o644),
		reg("a", "a", 0o644), hardlink("b", "a"), reg("b", "b replaced", 0o644),
		symlink("l", "x"), reg("l", "not a link", 0o644),
		dir("k/", 0o755), reg("k/child", "stays", 0o644), dir("k/", 0o711))
	if _, err := Apply(context.Background(), s.root, bytes.NewReader(layer)); err != nil {
		t.Fatal(err)
	}
	p := func(n string) string { return filepath.Join(s.root, n) }
	for n, want := range map[string]string{"x": "two", "d": "now a file", "f/c": "c", "a": "a", "b": "b replaced", "l": "not a link", "k/child": "stays"} {
		if got := readFile(t, p(n)); got != want {
			t.Errorf("%s = %q, want %q", n, got, want)
		}
	}
	if m := lstat(t, p("x")).Mode & 0o777; m != 0o600 {
		t.Errorf("x mode %o, want the later entry's 600", m)
	}
	if m := lstat(t, p("k")).Mode & 0o777; m != 0o711 {
		t.Errorf("k mode %o, want the later entry's 711", m)
	}
	if lstat(t, p("l")).Mode&unix.S_IFMT != unix.S_IFREG {
		t.Error("l is still a symlink")
	}
	s.checkOutside(t)
}
