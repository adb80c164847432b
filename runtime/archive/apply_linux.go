package archive

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type dirTimes struct{ atime, mtime time.Time }

type applier struct {
	root    *rootDir
	o       options
	tr      *tar.Reader
	st      Stats
	written map[string]bool     // Remove mode: names this layer wrote, parents included
	skipped map[string]bool     // device nodes not created (unprivileged)
	dirs    map[string]dirTimes // directory times, set last
}

func apply(ctx context.Context, root string, lr *limitReader, o options) (Stats, error) {
	rd, err := openRoot(root, o.noOpenat2)
	if err != nil {
		return Stats{}, err
	}
	defer rd.Close()
	a := &applier{root: rd, o: o, tr: tar.NewReader(lr), written: map[string]bool{}, skipped: map[string]bool{}, dirs: map[string]dirTimes{}}
	for {
		if err := ctx.Err(); err != nil {
			return a.st, err
		}
		hdr, err := a.tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return a.st, fmt.Errorf("archive: reading tar: %w", err)
		}
		a.st.Entries++
		if a.st.Entries > o.maxEntries {
			return a.st, fmt.Errorf("%w: more than %d entries", ErrTooManyEntries, o.maxEntries)
		}
		if err := a.entry(hdr); err != nil {
			return a.st, fmt.Errorf("archive: %s: %w", hdr.Name, err)
		}
	}
	return a.st, a.setDirTimes()
}

func (a *applier) entry(hdr *tar.Header) error {
	name, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		// The root's own owner, mode and times are the caller's.
		if hdr.Typeflag != tar.TypeDir {
			return fmt.Errorf("%w: the root can only be a directory", ErrUnsafePath)
		}
		return nil
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	dir, base := splitName(name)
	pfd, err := a.root.mkdirAll(dir)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return a.whiteout(pfd, dir, base)
	}
	a.markWritten(name)
	switch hdr.Typeflag {
	case tar.TypeReg:
		return a.file(pfd, base, hdr)
	case tar.TypeDir:
		return a.dir(pfd, name, base, hdr)
	case tar.TypeSymlink:
		return a.symlink(pfd, base, hdr)
	case tar.TypeLink:
		return a.hardlink(pfd, base, hdr)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return a.device(pfd, name, base, hdr)
	default:
		return fmt.Errorf("%w: tar type %q", ErrUnsupported, hdr.Typeflag)
	}
}

// markWritten records name and its parents for an opaque marker in Remove
// mode, which keeps what this layer wrote.
func (a *applier) markWritten(name string) {
	if a.o.whiteout != Remove {
		return
	}
	for name != "" && !a.written[name] {
		a.written[name] = true
		name, _ = splitName(name)
	}
}

// replace clears base in pfd for a new entry: an existing directory is
// kept when keepDir (the result says so), anything else is removed.
func replace(pfd int, base string, keepDir bool) (bool, error) {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if err == unix.ENOENT {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if keepDir && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return true, nil
	}
	return false, removeAt(pfd, base)
}

func (a *applier) file(pfd int, base string, hdr *tar.Header) error {
	if _, err := replace(pfd, base, false); err != nil {
		return err
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if _, err := io.Copy(f, a.tr); err != nil {
		return err
	}
	if err := a.meta(fd, hdr); err != nil {
		return err
	}
	a.st.Files++
	return setTimes(pfd, base, hdr)
}

func (a *applier) dir(pfd int, name, base string, hdr *tar.Header) error {
	exists, err := replace(pfd, base, true)
	if err != nil {
		return err
	}
	if !exists {
		if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
			return err
		}
	}
	fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := a.meta(fd, hdr); err != nil {
		return err
	}
	a.st.Dirs++
	a.dirs[name] = dirTimes{atimeOf(hdr), hdr.ModTime}
	return nil
}

func (a *applier) symlink(pfd int, base string, hdr *tar.Header) error {
	if _, err := replace(pfd, base, false); err != nil {
		return err
	}
	if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
		return err
	}
	if !a.o.unprivileged {
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	a.st.XattrsSkipped += len(xattrs(hdr)) // no fd-based setxattr on a symlink
	a.st.Symlinks++
	return setTimes(pfd, base, hdr)
}

func (a *applier) hardlink(pfd int, base string, hdr *tar.Header) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target: %w", err)
	}
	if target == "" {
		return fmt.Errorf("%w: hardlink to the root", ErrUnsafePath)
	}
	if a.skipped[target] {
		a.st.DevicesSkipped++ // a link to a device node that was skipped
		return nil
	}
	tdir, tbase := splitName(target)
	tfd, err := a.root.resolve(tdir)
	if err != nil {
		return wrapPath("hardlink target", target, err)
	}
	defer unix.Close(tfd)
	var st unix.Stat_t
	if err := unix.Fstatat(tfd, tbase, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return wrapPath("hardlink target", target, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("%w: hardlink to directory %q", ErrUnsafePath, hdr.Linkname)
	}
	var cur unix.Stat_t
	if unix.Fstatat(pfd, base, &cur, unix.AT_SYMLINK_NOFOLLOW) == nil && cur.Dev == st.Dev && cur.Ino == st.Ino {
		a.st.Hardlinks++
		return nil // already that file
	}
	if _, err := replace(pfd, base, false); err != nil {
		return err
	}
	// Flags 0: a symlink target is linked itself, never followed.
	if err := unix.Linkat(tfd, tbase, pfd, base, 0); err != nil {
		return err
	}
	a.st.Hardlinks++
	return nil
}

func (a *applier) device(pfd int, name, base string, hdr *tar.Header) error {
	if a.o.unprivileged {
		a.skipped[name] = true
		a.st.DevicesSkipped++
		return nil
	}
	if _, err := replace(pfd, base, false); err != nil {
		return err
	}
	kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
	dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
	if err := unix.Mknodat(pfd, base, kind|0o600, int(dev)); err != nil {
		return err
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	// Just created as a node, not a symlink: fchmodat cannot be led astray.
	if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode)&0o7777, 0); err != nil {
		return err
	}
	a.st.Devices++
	return setTimes(pfd, base, hdr)
}

// meta sets owner (before the mode, so setuid/setgid survive), mode and
// xattrs on an open file or directory.
func (a *applier) meta(fd int, hdr *tar.Header) error {
	if !a.o.unprivileged {
		if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode)&0o7777); err != nil {
		return err
	}
	for k, v := range xattrs(hdr) {
		if !a.xattrAllowed(k) || unix.Fsetxattr(fd, k, []byte(v), 0) != nil {
			a.st.XattrsSkipped++
		}
	}
	return nil
}

func (a *applier) xattrAllowed(k string) bool {
	switch {
	case strings.HasPrefix(k, "user."):
		return true
	case strings.HasPrefix(k, "trusted."), k == "security.capability":
		return !a.o.unprivileged
	}
	return false
}

func xattrs(hdr *tar.Header) map[string]string {
	const prefix = "SCHILY.xattr."
	var m map[string]string
	for k, v := range hdr.PAXRecords {
		if strings.HasPrefix(k, prefix) {
			if m == nil {
				m = map[string]string{}
			}
			m[k[len(prefix):]] = v
		}
	}
	return m
}

func atimeOf(hdr *tar.Header) time.Time {
	if hdr.AccessTime.IsZero() {
		return hdr.ModTime
	}
	return hdr.AccessTime
}

func setTimes(pfd int, base string, hdr *tar.Header) error {
	return utimes(pfd, base, atimeOf(hdr), hdr.ModTime)
}

func utimes(pfd int, base string, atime, mtime time.Time) error {
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	return unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// setDirTimes sets directory times deepest first, after every child was
// written; a directory a later entry replaced is skipped.
func (a *applier) setDirTimes() error {
	names := make([]string, 0, len(a.dirs))
	for n := range a.dirs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		di, dj := strings.Count(names[i], "/"), strings.Count(names[j], "/")
		if di != dj {
			return di > dj
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		dir, base := splitName(n)
		pfd, err := a.root.resolve(dir)
		if err == unix.ENOENT || err == unix.ENOTDIR {
			continue
		}
		if err != nil {
			return wrapPath("resolve", dir, err)
		}
		var st unix.Stat_t
		if unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			t := a.dirs[n]
			err = utimes(pfd, base, t.atime, t.mtime)
		}
		unix.Close(pfd)
		if err != nil {
			return wrapPath("utimes", n, err)
		}
	}
	return nil
}
