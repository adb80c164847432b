package filesystem

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/berthhq/berth/storage/driver"
)

// List returns the absolute paths of the entries of the directory at p,
// without PutContent's temporary files. A missing directory, or a file at p,
// returns an error wrapping driver.ErrNotFound.
func (d *Driver) List(ctx context.Context, p string) ([]string, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(d.fullPath(p))
	if err != nil {
		return nil, d.readErr("list", p, err)
	}
	out := make([]string, 0, len(entries))
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), tmpPrefix) {
			out = append(out, path.Join(p, e.Name()))
		}
	}
	return out, nil
}

// Move renames source to dest, creating dest's parent directories and
// replacing a file at dest. A missing source wraps driver.ErrNotFound.
func (d *Driver) Move(ctx context.Context, source, dest string) error {
	if err := d.check(ctx, source); err != nil {
		return err
	}
	if err := d.check(ctx, dest); err != nil {
		return err
	}
	src, dst := d.fullPath(source), d.fullPath(dest)
	if _, err := os.Lstat(src); err != nil {
		return d.readErr("move", source, err)
	}
	dir := filepath.Dir(dst)
	var err error
	for range 3 { // a concurrent Delete may remove dir between the two calls
		if err = os.MkdirAll(dir, dirMode); err != nil {
			return d.pathErr("move", dest, err)
		}
		if err = os.Rename(src, dst); !errors.Is(err, fs.ErrNotExist) {
			break
		}
		if _, serr := os.Lstat(src); serr != nil {
			return d.readErr("move", source, serr)
		}
	}
	if err != nil {
		return d.pathErr("move", source, err)
	}
	if err := syncDir(dir); err != nil {
		return d.pathErr("move", dest, err)
	}
	return nil
}

// Delete removes the file or the whole tree at p; Delete("/") empties the
// root but keeps it. A missing path wraps driver.ErrNotFound.
func (d *Driver) Delete(ctx context.Context, p string) error {
	if err := d.check(ctx, p); err != nil {
		return err
	}
	full := d.fullPath(p)
	if _, err := os.Lstat(full); err != nil {
		return d.readErr("delete", p, err)
	}
	if p != "/" {
		if err := os.RemoveAll(full); err != nil {
			return d.pathErr("delete", p, err)
		}
		return nil
	}
	entries, err := os.ReadDir(full)
	if err != nil {
		return d.pathErr("delete", p, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(full, e.Name())); err != nil {
			return d.pathErr("delete", path.Join(p, e.Name()), err)
		}
	}
	return nil
}

// Walk calls fn for every file and directory below the directory at p,
// depth first, siblings in lexical order, skipping temporary files. If fn
// returns driver.ErrSkipDir for a directory, Walk does not descend into it;
// for a file, Walk skips the file's remaining siblings (as filepath.WalkDir
// does). Any other error from fn stops the walk and is returned unchanged.
// Entries removed while the walk runs are skipped. A missing directory, or a
// file at p, returns an error wrapping driver.ErrNotFound.
func (d *Driver) Walk(ctx context.Context, p string, fn driver.WalkFn) error {
	if err := d.check(ctx, p); err != nil {
		return err
	}
	full := d.fullPath(p)
	fi, err := os.Stat(full)
	if err == nil && !fi.IsDir() {
		err = fs.ErrNotExist
	}
	if err != nil {
		return d.readErr("walk", p, err)
	}
	return d.walkDir(ctx, p, full, fn)
}

func (d *Driver) walkDir(ctx context.Context, p, full string, fn driver.WalkFn) error {
	entries, err := os.ReadDir(full) // sorted by name
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed since it was listed
		}
		return d.pathErr("walk", p, err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		childFull := filepath.Join(full, e.Name())
		info, err := os.Stat(childFull) // follows symlinks, unlike e.Info
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return d.pathErr("walk", path.Join(p, e.Name()), err)
		}
		child := fileInfo(path.Join(p, e.Name()), info)
		if err := fn(child); err != nil {
			if !errors.Is(err, driver.ErrSkipDir) {
				return err
			}
			if !child.IsDir() {
				return nil
			}
			continue
		}
		if child.IsDir() {
			if err := d.walkDir(ctx, child.Path(), childFull, fn); err != nil {
				return err
			}
		}
	}
	return nil
}
