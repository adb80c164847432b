package filesystem

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/storage/driver"
)

var (
	errClosed    = errors.New("writer is closed")
	errCommitted = errors.New("writer is committed")
	errCancelled = errors.New("writer is cancelled")
)

// Writer opens the file at p for writing, straight to the file with no
// buffering. With append false it creates or truncates the file, creating
// parent directories; with append true the file must exist (a missing one
// wraps driver.ErrNotFound) and writing continues at its end, so an upload
// can be resumed by any process. Bytes are visible to readers as they are
// written; Commit makes them durable. The caller must Close or Cancel.
//
// The writer implements io.ReaderFrom, so io.Copy from a file or socket can
// use copy_file_range or splice.
func (d *Driver) Writer(ctx context.Context, p string, append bool) (driver.FileWriter, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	full := d.fullPath(p)
	var f *os.File
	var err error
	if append {
		f, err = os.OpenFile(full, os.O_WRONLY, 0)
		if err != nil {
			return nil, d.readErr("writer", p, err)
		}
	} else {
		f, err = createIn(filepath.Dir(full), func() (*os.File, error) {
			return os.OpenFile(full, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
		})
		if err != nil {
			return nil, d.pathErr("writer", p, err)
		}
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, d.pathErr("writer", p, err)
	}
	return &fileWriter{d: d, path: p, f: f, size: size, synced: size}, nil
}

// fileWriter writes one file. It is not safe for concurrent use.
type fileWriter struct {
	d    *Driver
	path string
	f    *os.File
	size int64
	// synced is the offset up to which writeback has been started.
	synced int64

	closed, committed, cancelled bool
}

// writebackChunk is how many dirty bytes a writer lets pile up before it
// starts their writeback.
const writebackChunk = 16 << 20

var (
	_ driver.FileWriter = (*fileWriter)(nil)
	_ io.ReaderFrom     = (*fileWriter)(nil)
)

// Write appends b to the file.
func (w *fileWriter) Write(b []byte) (int, error) {
	if err := w.writable("write"); err != nil {
		return 0, err
	}
	n, err := w.f.Write(b)
	w.size += int64(n)
	if err != nil {
		return n, w.d.pathErr("write", w.path, err)
	}
	if w.size-w.synced >= writebackChunk {
		startWriteback(w.f, w.synced, w.size-w.synced)
		w.synced = w.size
	}
	return n, nil
}

// ReadFrom appends everything read from r, letting the kernel copy when r
// is a file or socket.
func (w *fileWriter) ReadFrom(r io.Reader) (int64, error) {
	if err := w.writable("write"); err != nil {
		return 0, err
	}
	n, err := w.f.ReadFrom(r)
	w.size += n
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == w.f.Name() {
			err = w.d.pathErr("write", w.path, err)
		}
		return n, err // errors from r are returned as they are
	}
	return n, nil
}

// Size returns the file's size: the bytes it had when opened plus those
// written since.
func (w *fileWriter) Size() int64 { return w.size }

// Commit fsyncs the file and its directory. Writes after Commit fail.
func (w *fileWriter) Commit(ctx context.Context) error {
	if err := w.writable("commit"); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.f.Sync(); err != nil {
		return w.d.pathErr("commit", w.path, err)
	}
	if err := syncDir(filepath.Dir(w.f.Name())); err != nil {
		return w.d.pathErr("commit", w.path, err)
	}
	w.committed = true
	return nil
}

// Cancel closes the writer and removes the file, even after Commit.
func (w *fileWriter) Cancel(ctx context.Context) error {
	if w.cancelled {
		return nil
	}
	w.cancelled = true
	if !w.closed {
		w.closed = true
		_ = w.f.Close()
	}
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return w.d.pathErr("cancel", w.path, err)
	}
	return nil
}

// Close closes the file, keeping what was written (so a later append Writer
// can continue it). Closing again, or after Cancel, does nothing.
func (w *fileWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.f.Close(); err != nil {
		return w.d.pathErr("close", w.path, err)
	}
	return nil
}

// writable reports why the writer can no longer be written to, if so.
func (w *fileWriter) writable(op string) error {
	switch {
	case w.cancelled:
		return w.d.pathErr(op, w.path, errCancelled)
	case w.committed:
		return w.d.pathErr(op, w.path, errCommitted)
	case w.closed:
		return w.d.pathErr(op, w.path, errClosed)
	}
	return nil
}
