//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package credstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// lockPoll is how often lockDir retries a held lock.
const lockPoll = 10 * time.Millisecond

// lockDir takes an exclusive advisory lock (flock) on dir itself, so that
// writers in this package, in any process, update config.json one at a
// time without leaving a lock file behind. It waits for the lock until ctx
// ends. A missing dir, or a file system without flock, gives no lock and
// no error. The returned func releases the lock.
func lockDir(ctx context.Context, dir string) (func(), error) {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("credstore: %w", err)
	}
	fd := int(d.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return func() {
				_ = syscall.Flock(fd, syscall.LOCK_UN)
				d.Close()
			}, nil
		case errors.Is(err, syscall.EINTR):
			continue
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return func() { d.Close() }, nil // no flock here: go on unlocked
		}
		select {
		case <-ctx.Done():
			d.Close()
			return nil, fmt.Errorf("credstore: waiting for the lock on %s: %w", dir, ctx.Err())
		case <-time.After(lockPoll):
		}
	}
}
