package mount

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// flagOpts maps mount(8) flag options to mount(2) flags; clear reports
// options that turn a flag off.
var flagOpts = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro":         {false, unix.MS_RDONLY},
	"rw":         {true, unix.MS_RDONLY},
	"nosuid":     {false, unix.MS_NOSUID},
	"suid":       {true, unix.MS_NOSUID},
	"nodev":      {false, unix.MS_NODEV},
	"dev":        {true, unix.MS_NODEV},
	"noexec":     {false, unix.MS_NOEXEC},
	"exec":       {true, unix.MS_NOEXEC},
	"noatime":    {false, unix.MS_NOATIME},
	"relatime":   {false, unix.MS_RELATIME},
	"nodiratime": {false, unix.MS_NODIRATIME},
	"bind":       {false, unix.MS_BIND},
	"rbind":      {false, unix.MS_BIND | unix.MS_REC},
	"defaults":   {false, 0},
}

// parse splits options into mount(2) flags and filesystem data options.
func parse(opts []string) (uintptr, []string) {
	var flags uintptr
	var data []string
	for _, o := range opts {
		f, ok := flagOpts[o]
		switch {
		case !ok:
			data = append(data, o)
		case f.clear:
			flags &^= f.flag
		default:
			flags |= f.flag
		}
	}
	return flags, data
}

// Mount mounts m at target, which must exist. An overlay goes through
// the new mount API (fsopen, one "lowerdir+" per layer, fsmount,
// move_mount) so the number of layers is not bounded by the page-sized
// mount(2) data; when the kernel lacks that API or "lowerdir+" (before
// 6.8), it falls back to mount(2) with a joined lowerdir. Errors name
// the type and target.
func (m Mount) Mount(target string) error {
	flags, data := parse(m.Options)
	if m.Type == "overlay" && flags&unix.MS_BIND == 0 {
		err := m.mountFS(target, flags, data)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errFallback) {
			return fmt.Errorf("mount %s at %s: %w", m.Type, target, err)
		}
	}
	if err := m.classic(target, flags, data); err != nil {
		return fmt.Errorf("mount %s at %s: %w", m.Type, target, err)
	}
	return nil
}

// errFallback marks a failure of the new mount API that mount(2) may
// not share (missing syscall, missing "lowerdir+").
var errFallback = errors.New("new mount API unavailable")

func (m Mount) classic(target string, flags uintptr, data []string) error {
	typ := m.Type
	if flags&unix.MS_BIND != 0 {
		typ = ""
	}
	src := m.Source
	if src == "" {
		src = m.Type
	}
	if err := unix.Mount(src, target, typ, flags&^unix.MS_RDONLY|bindRO(flags), strings.Join(data, ",")); err != nil {
		return os.NewSyscallError("mount", err)
	}
	// A bind mount ignores MS_RDONLY until remounted.
	if flags&unix.MS_BIND != 0 && flags&unix.MS_RDONLY != 0 {
		if err := unix.Mount("", target, "", flags|unix.MS_REMOUNT, ""); err != nil {
			_ = unix.Unmount(target, unix.MNT_DETACH)
			return os.NewSyscallError("remount", err)
		}
	}
	return nil
}

// bindRO keeps MS_RDONLY on a non-bind mount; a bind is remounted.
func bindRO(flags uintptr) uintptr {
	if flags&unix.MS_BIND != 0 {
		return 0
	}
	return flags & unix.MS_RDONLY
}

// attrs maps mount(2) flags to fsmount attributes.
func attrs(flags uintptr) int {
	var a int
	for f, at := range map[uintptr]int{
		unix.MS_RDONLY: unix.MOUNT_ATTR_RDONLY, unix.MS_NOSUID: unix.MOUNT_ATTR_NOSUID,
		unix.MS_NODEV: unix.MOUNT_ATTR_NODEV, unix.MS_NOEXEC: unix.MOUNT_ATTR_NOEXEC,
		unix.MS_NOATIME: unix.MOUNT_ATTR_NOATIME, unix.MS_NODIRATIME: unix.MOUNT_ATTR_NODIRATIME,
	} {
		if flags&f != 0 {
			a |= at
		}
	}
	if flags&unix.MS_RELATIME != 0 {
		a = a&^unix.MOUNT_ATTR__ATIME | unix.MOUNT_ATTR_RELATIME
	}
	return a
}

// mountFS mounts through fsopen/fsconfig/fsmount/move_mount. Failures
// that mount(2) might not share wrap errFallback.
func (m Mount) mountFS(target string, flags uintptr, data []string) error {
	fd, err := unix.Fsopen(m.Type, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("%w: fsopen: %v", errFallback, err)
	}
	defer unix.Close(fd)
	if m.Source != "" {
		if err := unix.FsconfigSetString(fd, "source", m.Source); err != nil {
			return fmt.Errorf("%w: fsconfig source: %v", errFallback, err)
		}
	}
	for _, o := range data {
		k, v, hasV := strings.Cut(o, "=")
		switch {
		case k == "lowerdir":
			for _, d := range splitLower(v) {
				if err := unix.FsconfigSetString(fd, "lowerdir+", d); err != nil {
					return fmt.Errorf("%w: fsconfig lowerdir+ %s: %v", errFallback, d, err)
				}
			}
		case hasV:
			err = unix.FsconfigSetString(fd, k, v)
		default:
			err = unix.FsconfigSetFlag(fd, k)
		}
		if err != nil {
			return fmt.Errorf("%w: fsconfig %s: %v", errFallback, k, err)
		}
	}
	if err := unix.FsconfigCreate(fd); err != nil {
		return fmt.Errorf("%w: fsconfig create: %v", errFallback, err)
	}
	mfd, err := unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, attrs(flags))
	if err != nil {
		return fmt.Errorf("%w: fsmount: %v", errFallback, err)
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return os.NewSyscallError("move_mount", err)
	}
	return nil
}

// Unmount unmounts target with umount2(2) flags (unix.MNT_DETACH...).
// EBUSY is retried a few times, since a process that just left the
// mount may still hold it briefly.
func Unmount(target string, flags int) error {
	var err error
	for range 10 {
		if err = unix.Unmount(target, flags); !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("unmount %s: %w", target, os.NewSyscallError("umount2", err))
	}
	return nil
}
