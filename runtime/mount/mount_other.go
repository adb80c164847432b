//go:build !linux

package mount

import "fmt"

// Mount mounts m at target. Not supported on this OS.
func (m Mount) Mount(target string) error {
	return fmt.Errorf("mount %s at %s: %w", m.Type, target, ErrNotSupported)
}

// Unmount unmounts target. Not supported on this OS.
func Unmount(target string, flags int) error {
	return fmt.Errorf("unmount %s: %w", target, ErrNotSupported)
}
