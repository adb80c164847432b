//go:build unix

package layout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// lockPoll is how often a busy lock is tried again while waiting.
const lockPoll = 20 * time.Millisecond

// flockFile takes an flock of kind how (unix.LOCK_SH or unix.LOCK_EX) on
// the open file f, trying again until ctx is done.
func flockFile(ctx context.Context, f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("flock %s: %w", f.Name(), err)
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("waiting for lock %s: %w", f.Name(), ctx.Err())
		case <-t.C:
		}
	}
}

// lockPath opens (creating) the lock file p and takes an flock of kind how
// on it. The returned function releases it.
func lockPath(ctx context.Context, p string, how int) (func(), error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := flockFile(ctx, f, how); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing the descriptor drops the flock
}

const (
	lockShared    = unix.LOCK_SH
	lockExclusive = unix.LOCK_EX
)
