package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

type differ struct {
	ctx   context.Context
	upper string
	lower []string
	tw    *tar.Writer
	links map[[2]uint64]string // (dev, ino) -> first name written
}

func diff(ctx context.Context, upper string, lower []string, w io.Writer) error {
	d := &differ{ctx: ctx, upper: upper, lower: lower, tw: tar.NewWriter(w), links: map[[2]uint64]string{}}
	err := filepath.WalkDir(upper, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(upper, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		return d.entry(p, filepath.ToSlash(rel))
	})
	if err != nil {
		return fmt.Errorf("archive: diff of %s: %w", upper, err)
	}
	return d.tw.Close()
}

// entry writes the tar entries for one path of upper.
func (d *differ) entry(p, name string) error {
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	mtime := time.Unix(st.Mtim.Unix())
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: mtime,
		Format:  tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		if st.Rdev == 0 {
			dir, base := path.Split(name)
			return d.tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeReg, Name: dir + whiteoutPrefix + base,
				Mode: 0o644, ModTime: mtime, Format: tar.FormatPAX,
			})
		}
		hdr.Typeflag = tar.TypeChar
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		hdr.Typeflag = tar.TypeBlock
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFSOCK:
		return nil
	case unix.S_IFLNK:
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFDIR:
		return d.dir(p, hdr)
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := d.links[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				d.links[key] = name
			}
		}
	}
	xattrs, err := readXattrs(p)
	if err != nil {
		return err
	}
	setXattrs(hdr, xattrs)
	if err := d.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size == 0 {
		return nil
	}
	return copyFile(d.tw, p, hdr.Size)
}

// dir writes a directory entry (and its opaque marker), unless it was only
// copied up.
func (d *differ) dir(p string, hdr *tar.Header) error {
	opaque, err := isOpaque(p)
	if err != nil {
		return err
	}
	xattrs, err := readXattrs(p)
	if err != nil {
		return err
	}
	if !opaque {
		same, err := d.copiedUp(hdr, xattrs)
		if err != nil || same {
			return err
		}
	}
	hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
	setXattrs(hdr, xattrs)
	if err := d.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !opaque {
		return nil
	}
	return d.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: hdr.Name + whiteoutOpaque,
		Mode: 0o644, ModTime: hdr.ModTime, Format: tar.FormatPAX,
	})
}

// copiedUp reports whether the topmost lower entry for hdr.Name is a
// directory with the same mode, owner and xattrs.
func (d *differ) copiedUp(hdr *tar.Header, xattrs map[string]string) (bool, error) {
	for _, l := range d.lower {
		lp := filepath.Join(l, filepath.FromSlash(hdr.Name))
		var st unix.Stat_t
		err := unix.Lstat(lp, &st)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			continue
		}
		if err != nil {
			return false, &os.PathError{Op: "lstat", Path: lp, Err: err}
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR || int64(st.Mode&0o7777) != hdr.Mode ||
			int(st.Uid) != hdr.Uid || int(st.Gid) != hdr.Gid {
			return false, nil
		}
		lx, err := readXattrs(lp)
		if err != nil {
			return false, err
		}
		if len(lx) != len(xattrs) {
			return false, nil
		}
		for k, v := range lx {
			if xattrs[k] != v {
				return false, nil
			}
		}
		return true, nil
	}
	return false, nil
}

func isOpaque(p string) (bool, error) {
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(p, opaqueXattr, buf)
	if errors.Is(err, unix.ENODATA) || errors.Is(err, unix.ENOTSUP) {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "getxattr " + opaqueXattr, Path: p, Err: err}
	}
	return string(buf[:n]) == "y", nil
}

// readXattrs returns p's xattrs except trusted.overlay.*.
func readXattrs(p string) (map[string]string, error) {
	size, err := unix.Llistxattr(p, nil)
	if errors.Is(err, unix.ENOTSUP) || size == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, &os.PathError{Op: "listxattr", Path: p, Err: err}
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil, &os.PathError{Op: "listxattr", Path: p, Err: err}
	}
	out := map[string]string{}
	for _, k := range bytes.Split(buf[:size], []byte{0}) {
		key := string(k)
		if key == "" || strings.HasPrefix(key, "trusted.overlay.") {
			continue
		}
		v, err := getXattr(p, key)
		if err != nil {
			return nil, err
		}
		out[key] = v
	}
	return out, nil
}

func getXattr(p, key string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, key, buf)
		if errors.Is(err, unix.ERANGE) {
			buf = make([]byte, len(buf)*4)
			continue
		}
		if err != nil {
			return "", &os.PathError{Op: "getxattr " + key, Path: p, Err: err}
		}
		return string(buf[:n]), nil
	}
}

func setXattrs(hdr *tar.Header, xattrs map[string]string) {
	if len(xattrs) == 0 {
		return
	}
	keys := make([]string, 0, len(xattrs))
	for k := range xattrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	hdr.PAXRecords = map[string]string{}
	for _, k := range keys {
		hdr.PAXRecords["SCHILY.xattr."+k] = xattrs[k]
	}
}

func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s: file shrank while writing the diff (%d of %d bytes)", p, n, size)
	}
	return nil
}
