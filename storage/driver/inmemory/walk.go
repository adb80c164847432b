package inmemory

import (
	"context"
	"errors"

	"github.com/berthhq/berth/storage/driver"
)

// Walk calls fn for every object and directory below the directory at p,
// depth first, siblings in lexical order. If fn returns driver.ErrSkipDir
// for a directory, Walk does not descend into it; for an object, Walk skips
// its remaining siblings. Any other error from fn stops the walk and is
// returned unchanged. fn may call the driver; entries removed meanwhile are
// skipped. A missing directory, or an object at p, wraps driver.ErrNotFound.
func (d *Driver) Walk(ctx context.Context, p string, fn driver.WalkFn) error {
	if err := check(ctx, p); err != nil {
		return err
	}
	d.mu.RLock()
	children, ok := d.children(p)
	d.mu.RUnlock()
	if !ok {
		return pathErr("walk", p, driver.ErrNotFound)
	}
	return d.walk(ctx, children, fn)
}

func (d *Driver) walk(ctx context.Context, children []string, fn driver.WalkFn) error {
	for _, c := range children {
		if err := ctx.Err(); err != nil {
			return err
		}
		d.mu.RLock()
		fi, ok := d.stat(c)
		d.mu.RUnlock()
		if !ok {
			continue
		}
		if err := fn(fi); err != nil {
			if !errors.Is(err, driver.ErrSkipDir) {
				return err
			}
			if !fi.IsDir() {
				return nil
			}
			continue
		}
		if !fi.IsDir() {
			continue
		}
		d.mu.RLock()
		grand, ok := d.children(c)
		d.mu.RUnlock()
		if ok {
			if err := d.walk(ctx, grand, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
