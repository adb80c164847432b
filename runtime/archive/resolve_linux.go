package archive

import (
	"fmt"
	"os"
	"path"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// rootDir resolves cleaned, relative paths beneath root. Every fd it
// returns is an O_PATH directory fd inside root; the caller closes it.
type rootDir struct {
	path      string
	fd        int
	noOpenat2 bool
}

func openRoot(root string, noOpenat2 bool) (*rootDir, error) {
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: root, Err: err}
	}
	return &rootDir{path: root, fd: fd, noOpenat2: noOpenat2}, nil
}

func (r *rootDir) Close() error { return unix.Close(r.fd) }

// resolve opens rel (relative, cleaned; "" is root) as a directory, with
// every symlink on the way resolved as if root were "/".
func (r *rootDir) resolve(rel string) (int, error) {
	if rel == "" {
		rel = "."
	}
	if !r.noOpenat2 {
		how := unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		}
		for {
			fd, err := unix.Openat2(r.fd, rel, &how)
			if err == unix.EINTR || err == unix.EAGAIN {
				continue
			}
			if err == unix.ENOSYS {
				r.noOpenat2 = true
				break
			}
			return fd, err
		}
	}
	// Kernels before 5.6: securejoin resolves symlinks lexically inside
	// root; O_NOFOLLOW refuses a last component swapped for a symlink.
	p, err := securejoin.SecureJoin(r.path, rel)
	if err != nil {
		return -1, err
	}
	return unix.Open(p, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}

// mkdirAll resolves rel, creating missing directories (0755, owned by the
// caller) one component at a time relative to the already resolved parent.
func (r *rootDir) mkdirAll(rel string) (int, error) {
	fd, err := r.resolve(rel)
	if err != unix.ENOENT {
		return fd, wrapPath("resolve", rel, err)
	}
	fd, err = r.resolve("")
	if err != nil {
		return -1, err
	}
	comps := strings.Split(rel, "/")
	for i, c := range comps {
		sub := strings.Join(comps[:i+1], "/")
		next, err := r.resolve(sub)
		if err == unix.ENOENT {
			if err := unix.Mkdirat(fd, c, 0o755); err != nil && err != unix.EEXIST {
				unix.Close(fd)
				return -1, wrapPath("mkdir", sub, err)
			}
			next, err = r.resolve(sub)
		}
		unix.Close(fd)
		if err != nil {
			return -1, wrapPath("resolve", sub, err)
		}
		fd = next
	}
	return fd, nil
}

func wrapPath(op, p string, err error) error {
	if err == nil {
		return nil
	}
	return &os.PathError{Op: op, Path: "/" + p, Err: err}
}

// removeAt removes name (one component) from the directory dirfd, a
// directory with everything below it; a missing name is not an error.
// It never follows a symlink.
func removeAt(dirfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(dirfd, name, 0)
	}
	names, err := readDirNames(dirfd, name)
	if err != nil {
		return err
	}
	sub, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(sub)
	for _, n := range names {
		if err := removeAt(sub, n); err != nil {
			return err
		}
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// readDirNames lists the directory name inside dirfd without following a
// symlink.
func readDirNames(dirfd int, name string) ([]string, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return f.Readdirnames(-1)
}

// cleanName turns a tar name into a relative, cleaned path ("" is root).
// A leading "/" is dropped; ".." that would climb above root is refused.
func cleanName(name string) (string, error) {
	if len(name) > MaxNameLen {
		return "", fmt.Errorf("%w: name of %d bytes is longer than %d", ErrUnsafePath, len(name), MaxNameLen)
	}
	if strings.IndexByte(name, 0) >= 0 {
		return "", fmt.Errorf("%w: %q contains a NUL byte", ErrUnsafePath, name)
	}
	depth := 0
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
		case "..":
			depth--
			if depth < 0 {
				return "", fmt.Errorf("%w: %q climbs above the root", ErrUnsafePath, name)
			}
		default:
			depth++
		}
	}
	p := path.Clean("/" + name)[1:]
	return p, nil
}

// splitName splits a cleaned relative name into its parent and base.
func splitName(name string) (dir, base string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return "", name
	}
	return name[:i], name[i+1:]
}
