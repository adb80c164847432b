package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// lockDir opens dir and takes an exclusive flock on it, which the kernel
// drops when the process dies: a .tmp-* or .rm-* directory whose lock can
// be taken belongs to no live Prepare or Remove. The caller closes the
// file to release the lock.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// cleanGrace is how old a .tmp-* or .rm-* directory must be before Clean
// looks at it: it covers the moment between its creation and its lock.
const cleanGrace = 10 * time.Second

// Clean removes what interrupted work left in the store root: .tmp-*
// directories of a Prepare whose process died before Commit or Abort
// (an unpack cut short by a crash or SIGKILL) and .rm-* directories of an
// interrupted Remove. Work in progress, in this process or another, holds
// a lock on its directory and is left alone. It returns the names
// removed; ctl calls it before a pull unpacks and in Prune.
func (s *Store) Clean(ctx context.Context) ([]string, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("snapshot: clean: %w", err)
	}
	var removed []string
	var errs []error
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || !(strings.HasPrefix(name, ".tmp-") || strings.HasPrefix(name, ".rm-")) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < cleanGrace {
			continue // just made: its lock may not be taken yet
		}
		dir := filepath.Join(s.root, name)
		lock, err := lockDir(dir)
		if err != nil {
			continue // in use (or gone meanwhile)
		}
		err = os.RemoveAll(dir)
		lock.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf("snapshot: clean %s: %w", name, err))
			continue
		}
		removed = append(removed, name)
	}
	return removed, errors.Join(errs...)
}
