// Package inmemory is a storage driver that keeps objects in memory, for
// tests. Directories are implicit, as on S3: a directory exists while some
// object lies below it, and the root always exists.
package inmemory

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/berthhq/berth/storage/driver"
)

// Name is the driver's name, used in errors and logs.
const Name = "inmemory"

var (
	errIsDir  = errors.New("is a directory")
	errNotDir = errors.New("not a directory")
)

// object is one stored byte object. Bytes of data below len(data) are never
// changed in place: writers only append, and replacing content replaces the
// object, so readers may keep a slice of data without a lock.
type object struct {
	data    []byte
	modTime time.Time
}

// Driver keeps objects in a map by path. It is safe for concurrent use.
type Driver struct {
	mu      sync.RWMutex
	objects map[string]*object
}

var (
	_ driver.Driver = (*Driver)(nil)
	_ driver.Opener = (*Driver)(nil)
)

// New returns an empty driver.
func New() *Driver { return &Driver{objects: make(map[string]*object)} }

// Name returns "inmemory".
func (d *Driver) Name() string { return Name }

// GetContent returns a copy of the object at p.
func (d *Driver) GetContent(ctx context.Context, p string) ([]byte, error) {
	data, err := d.snapshot(ctx, "get", p)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(data), nil
}

// PutContent replaces the object at p with a copy of content.
func (d *Driver) PutContent(ctx context.Context, p string, content []byte) error {
	if err := check(ctx, p); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.creatable(p); err != nil {
		return pathErr("put", p, err)
	}
	d.objects[p] = &object{data: bytes.Clone(content), modTime: time.Now()}
	return nil
}

// Reader returns the object at p from offset. Offsets below zero or past the
// end return *driver.InvalidOffsetError.
func (d *Driver) Reader(ctx context.Context, p string, offset int64) (io.ReadCloser, error) {
	data, err := d.snapshot(ctx, "reader", p)
	if err != nil {
		return nil, err
	}
	if offset < 0 || offset > int64(len(data)) {
		return nil, &driver.InvalidOffsetError{Path: p, Offset: offset, Driver: Name}
	}
	return io.NopCloser(bytes.NewReader(data[offset:])), nil
}

// Open returns the object at p for random access.
func (d *Driver) Open(ctx context.Context, p string) (io.ReadSeekCloser, error) {
	data, err := d.snapshot(ctx, "open", p)
	if err != nil {
		return nil, err
	}
	return readSeekCloser{bytes.NewReader(data)}, nil
}

type readSeekCloser struct{ *bytes.Reader }

func (readSeekCloser) Close() error { return nil }

// Stat describes the object or directory at p. A directory's size is 0 and
// its ModTime that of the newest object below it.
func (d *Driver) Stat(ctx context.Context, p string) (driver.FileInfo, error) {
	if err := check(ctx, p); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	fi, ok := d.stat(p)
	if !ok {
		return nil, pathErr("stat", p, driver.ErrNotFound)
	}
	return fi, nil
}

// List returns the direct children of the directory at p. A missing
// directory, or an object at p, wraps driver.ErrNotFound.
func (d *Driver) List(ctx context.Context, p string) ([]string, error) {
	if err := check(ctx, p); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	children, ok := d.children(p)
	if !ok {
		return nil, pathErr("list", p, driver.ErrNotFound)
	}
	return children, nil
}

// Move renames the object or directory at source to dest, replacing an
// object at dest. A missing source wraps driver.ErrNotFound.
func (d *Driver) Move(ctx context.Context, source, dest string) error {
	if err := check(ctx, source); err != nil {
		return err
	}
	if err := check(ctx, dest); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if obj, ok := d.objects[source]; ok {
		if source == dest {
			return nil
		}
		if err := d.creatable(dest); err != nil {
			return pathErr("move", dest, err)
		}
		delete(d.objects, source)
		d.objects[dest] = obj
		return nil
	}
	below := d.below(source)
	if len(below) == 0 || source == "/" {
		return pathErr("move", source, driver.ErrNotFound)
	}
	if dest == source || strings.HasPrefix(dest, source+"/") {
		return pathErr("move", dest, errors.New("destination inside source"))
	}
	if _, ok := d.objects[dest]; ok || d.isDir(dest) {
		return pathErr("move", dest, errors.New("destination exists"))
	}
	if err := d.creatable(dest); err != nil {
		return pathErr("move", dest, err)
	}
	for _, k := range below {
		d.objects[dest+strings.TrimPrefix(k, source)] = d.objects[k]
		delete(d.objects, k)
	}
	return nil
}

// Delete removes the object or every object below p. Delete("/") empties
// the driver. A missing path wraps driver.ErrNotFound.
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := check(ctx, p); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.objects[p]; ok {
		delete(d.objects, p)
		return nil
	}
	below := d.below(p)
	if len(below) == 0 && p != "/" {
		return pathErr("delete", p, driver.ErrNotFound)
	}
	for _, k := range below {
		delete(d.objects, k)
	}
	return nil
}

// snapshot returns the object's bytes; see object for why no copy is needed.
func (d *Driver) snapshot(ctx context.Context, op, p string) ([]byte, error) {
	if err := check(ctx, p); err != nil {
		return nil, err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	obj, ok := d.objects[p]
	if !ok {
		return nil, pathErr(op, p, driver.ErrNotFound)
	}
	return obj.data, nil
}

// stat describes p; d.mu is held.
func (d *Driver) stat(p string) (driver.FileInfo, bool) {
	if obj, ok := d.objects[p]; ok {
		return driver.FileInfoFields{FPath: p, FSize: int64(len(obj.data)), FModTime: obj.modTime}, true
	}
	var mod time.Time
	found := p == "/"
	prefix := dirPrefix(p)
	for k, obj := range d.objects {
		if strings.HasPrefix(k, prefix) {
			found = true
			if obj.modTime.After(mod) {
				mod = obj.modTime
			}
		}
	}
	return driver.FileInfoFields{FPath: p, FModTime: mod, FIsDir: true}, found
}

// children returns the sorted direct children of directory p and whether
// it is one; d.mu is held.
func (d *Driver) children(p string) ([]string, bool) {
	if _, ok := d.objects[p]; ok {
		return nil, false
	}
	prefix := dirPrefix(p)
	seen := make(map[string]bool)
	for k := range d.objects {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			name, _, _ := strings.Cut(rest, "/")
			seen[path.Join(p, name)] = true
		}
	}
	if len(seen) == 0 && p != "/" {
		return nil, false
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	slices.Sort(out)
	return out, true
}

// below returns the paths of all objects below directory p; d.mu is held.
func (d *Driver) below(p string) []string {
	var out []string
	prefix := dirPrefix(p)
	for k := range d.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}

// isDir reports whether some object lies below p; d.mu is held.
func (d *Driver) isDir(p string) bool {
	prefix := dirPrefix(p)
	for k := range d.objects {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return p == "/"
}

// creatable reports why an object cannot be stored at p, if so: p is a
// directory, or one of its parents is an object. d.mu is held.
func (d *Driver) creatable(p string) error {
	if d.isDir(p) {
		return errIsDir
	}
	for dir := path.Dir(p); dir != "/"; dir = path.Dir(dir) {
		if _, ok := d.objects[dir]; ok {
			return errNotDir
		}
	}
	return nil
}

func dirPrefix(p string) string {
	if p == "/" {
		return "/"
	}
	return p + "/"
}

func check(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return driver.CheckPath(Name, p)
}

func pathErr(op, p string, err error) error {
	return &driver.PathError{Op: op, Path: p, Driver: Name, Err: err}
}
