// Package filesystem is a storage driver that keeps objects as plain files
// under a root directory: driver path "/a/b" is the file <root>/a/b.
//
// The tree is the one registry:2's filesystem driver writes, so either can
// serve the other's directory. PutContent writes a temporary file named
// ".tmp-*" beside its target and renames it into place; such names are never
// listed or walked. Objects are opened as real *os.File values (see Open), so
// HTTP handlers can serve them with sendfile.
package filesystem

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/berthhq/berth/storage/driver"
)

// Name is the driver's name, used in errors and logs.
const Name = "filesystem"

// tmpPrefix starts the names of PutContent's temporary files. Paths with a
// component starting with it are invalid, and List and Walk skip them.
const tmpPrefix = ".tmp-"

const (
	dirMode  = 0o777 // before umask, as registry:2 does
	fileMode = 0o666
)

// Driver stores objects as files under a root directory. It is safe for
// concurrent use, including by several processes sharing the root.
type Driver struct {
	root string
}

var (
	_ driver.Driver = (*Driver)(nil)
	_ driver.Opener = (*Driver)(nil)
)

// New returns a driver rooted at root, creating the directory if missing.
// It fails if root is empty or exists but is not a directory.
func New(root string) (*Driver, error) {
	if root == "" {
		return nil, errors.New("filesystem: empty root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("filesystem: root %q: %w", root, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("filesystem: create root: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("filesystem: root: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("filesystem: root %s is not a directory", abs)
	}
	return &Driver{root: abs}, nil
}

// Name returns "filesystem".
func (d *Driver) Name() string { return Name }

// Root returns the absolute directory the driver stores objects under.
func (d *Driver) Root() string { return d.root }

// GetContent returns the whole file at p.
func (d *Driver) GetContent(ctx context.Context, p string) ([]byte, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(d.fullPath(p))
	if err != nil {
		return nil, d.readErr("get", p, err)
	}
	return b, nil
}

// PutContent writes content to a temporary file beside p, syncs it, and
// renames it over p, creating parent directories as needed. On failure the
// temporary file is removed and p is unchanged.
func (d *Driver) PutContent(ctx context.Context, p string, content []byte) error {
	if err := d.check(ctx, p); err != nil {
		return err
	}
	full := d.fullPath(p)
	dir := filepath.Dir(full)
	f, err := createIn(dir, func() (*os.File, error) {
		return os.OpenFile(filepath.Join(dir, tmpPrefix+rand.Text()), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	})
	if err != nil {
		return d.pathErr("put", p, err)
	}
	tmp := f.Name()
	_, err = f.Write(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, full)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return d.pathErr("put", p, err)
	}
	if err := syncDir(dir); err != nil {
		return d.pathErr("put", p, err)
	}
	return nil
}

// Reader returns the file at p positioned at offset; the caller closes it.
// The result is an *os.File. Offsets below zero or past the end return
// *driver.InvalidOffsetError; an offset equal to the size reads nothing.
func (d *Driver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	f, err := d.open(ctx, "reader", p)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, d.pathErr("reader", p, err)
	}
	if offset < 0 || offset > fi.Size() {
		f.Close()
		return nil, &driver.InvalidOffsetError{Path: p, Offset: offset, Driver: Name}
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, d.pathErr("reader", p, err)
	}
	return f, nil
}

// Open returns the file at p as an *os.File at offset 0; the caller closes it.
func (d *Driver) Open(ctx context.Context, p string) (io.ReadSeekCloser, error) {
	return d.open(ctx, "open", p)
}

// open opens the regular file at p; a directory counts as not found.
func (d *Driver) open(ctx context.Context, op, p string) (*os.File, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	f, err := os.Open(d.fullPath(p))
	if err != nil {
		return nil, d.readErr(op, p, err)
	}
	fi, err := f.Stat()
	if err == nil && fi.IsDir() {
		err = syscall.EISDIR
	}
	if err != nil {
		f.Close()
		return nil, d.readErr(op, p, err)
	}
	return f, nil
}

// Stat describes the file or directory at p. Directories have size 0.
func (d *Driver) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	fi, err := os.Stat(d.fullPath(p))
	if err != nil {
		return nil, d.readErr("stat", p, err)
	}
	return fileInfo(p, fi), nil
}

// check validates p for this driver and reports a done context.
func (d *Driver) check(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := driver.CheckPath(Name, p); err != nil {
		return err
	}
	if strings.Contains(p, "/"+tmpPrefix) {
		return &driver.InvalidPathError{Path: p, Driver: Name}
	}
	return nil
}

// fullPath maps a checked driver path to its file under the root.
func (d *Driver) fullPath(p string) string {
	return filepath.Join(d.root, filepath.FromSlash(p))
}

// pathErr wraps err for p, keeping only the cause of *fs.PathError and
// *os.LinkError so that the driver path, not the file name, is reported.
// Missing files map to driver.ErrNotFound.
func (d *Driver) pathErr(op, p string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		err = driver.ErrNotFound
	}
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &driver.PathError{Op: op, Path: p, Driver: Name, Err: err}
}

// readErr is pathErr for lookups: a path through a file, or a directory where
// an object was expected, is not found too.
func (d *Driver) readErr(op, p string, err error) error {
	if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) {
		err = driver.ErrNotFound
	}
	return d.pathErr(op, p, err)
}

// fileInfo converts fi, found at driver path p.
func fileInfo(p string, fi fs.FileInfo) driver.FileInfo {
	f := driver.FileInfoFields{FPath: p, FModTime: fi.ModTime(), FIsDir: fi.IsDir()}
	if !f.FIsDir {
		f.FSize = fi.Size()
	}
	return f
}

// createIn creates dir and its parents, then calls create. A concurrent
// Delete may remove the directory in between, so it retries a few times.
func createIn(dir string, create func() (*os.File, error)) (*os.File, error) {
	var err error
	for range 3 {
		if err = os.MkdirAll(dir, dirMode); err != nil {
			return nil, err
		}
		var f *os.File
		if f, err = create(); !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
	}
	return nil, err
}

// syncDir fsyncs a directory so that renames and creations in it survive a
// crash.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
