package inmemory

import (
	"context"
	"errors"
	"time"

	"github.com/berthhq/berth/storage/driver"
)

var (
	errClosed    = errors.New("writer is closed")
	errCommitted = errors.New("writer is committed")
	errCancelled = errors.New("writer is cancelled")
)

// Writer opens the object at p for writing. With append false it replaces
// the object with an empty one; with append true the object must exist (a
// missing one wraps driver.ErrNotFound) and writing continues at its end.
// Written bytes are visible at once. The caller must Close or Cancel.
func (d *Driver) Writer(ctx context.Context, p string, append bool) (driver.FileWriter, error) {
	if err := check(ctx, p); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	obj, ok := d.objects[p]
	switch {
	case append && !ok:
		return nil, pathErr("writer", p, driver.ErrNotFound)
	case !append:
		if err := d.creatable(p); err != nil {
			return nil, pathErr("writer", p, err)
		}
		obj = &object{modTime: time.Now()}
		d.objects[p] = obj
	}
	return &writer{d: d, path: p, obj: obj, size: int64(len(obj.data))}, nil
}

// writer appends to one object. It is not safe for concurrent use.
type writer struct {
	d    *Driver
	path string
	obj  *object
	size int64

	closed, committed, cancelled bool
}

var _ driver.FileWriter = (*writer)(nil)

// Write appends b to the object.
func (w *writer) Write(b []byte) (int, error) {
	if err := w.writable("write"); err != nil {
		return 0, err
	}
	w.d.mu.Lock()
	w.obj.data = append(w.obj.data, b...)
	w.obj.modTime = time.Now()
	w.d.mu.Unlock()
	w.size += int64(len(b))
	return len(b), nil
}

// Size returns the object's size when opened plus the bytes written since.
func (w *writer) Size() int64 { return w.size }

// Commit ends writing; the bytes are already visible.
func (w *writer) Commit(ctx context.Context) error {
	if err := w.writable("commit"); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.committed = true
	return nil
}

// Cancel closes the writer and removes the object at its path.
func (w *writer) Cancel(ctx context.Context) error {
	if w.cancelled {
		return nil
	}
	w.cancelled, w.closed = true, true
	w.d.mu.Lock()
	delete(w.d.objects, w.path)
	w.d.mu.Unlock()
	return nil
}

// Close ends the writer, keeping what was written for a later append
// Writer. Closing again, or after Cancel, does nothing.
func (w *writer) Close() error {
	w.closed = true
	return nil
}

// writable reports why the writer can no longer be written to, if so.
func (w *writer) writable(op string) error {
	switch {
	case w.cancelled:
		return pathErr(op, w.path, errCancelled)
	case w.committed:
		return pathErr(op, w.path, errCommitted)
	case w.closed:
		return pathErr(op, w.path, errClosed)
	}
	return nil
}
