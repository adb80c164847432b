package archive

import (
	"fmt"
	"path"

	"golang.org/x/sys/unix"
)

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
	opaqueXattr    = "trusted.overlay.opaque"
)

// whiteout applies the OCI whiteout base found in directory dir (pfd).
func (a *applier) whiteout(pfd int, dir, base string) error {
	if base == whiteoutOpaque {
		a.st.Opaques++
		if a.o.whiteout == Remove {
			return a.removeUnwritten(pfd, dir)
		}
		fd, err := unix.Openat(pfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := unix.Fsetxattr(fd, opaqueXattr, []byte("y"), 0); err != nil {
			return fmt.Errorf("setting %s on /%s (needs root and a filesystem with trusted xattrs): %w", opaqueXattr, dir, err)
		}
		return nil
	}
	name := base[len(whiteoutPrefix):]
	if name == "" || name == "." || name == ".." || path.Base(name) != name {
		return fmt.Errorf("%w: whiteout %q names no sibling", ErrUnsafePath, base)
	}
	a.st.Whiteouts++
	if err := removeAt(pfd, name); err != nil {
		return err
	}
	if a.o.whiteout == Remove {
		return nil
	}
	if err := unix.Mknodat(pfd, name, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("creating overlay whiteout /%s (needs root; use WithWhiteoutMode(Remove) otherwise): %w", path.Join(dir, name), err)
	}
	return nil
}

// removeUnwritten deletes everything below dir (pfd) that this layer did
// not write: what an opaque marker hides in a flat unpack.
func (a *applier) removeUnwritten(pfd int, dir string) error {
	names, err := readDirNames(pfd, ".")
	if err != nil {
		return err
	}
	for _, n := range names {
		p := path.Join(dir, n)
		if !a.written[p] {
			if err := removeAt(pfd, n); err != nil {
				return err
			}
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(pfd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			continue
		}
		sub, err := unix.Openat(pfd, n, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		err = a.removeUnwritten(sub, p)
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}
