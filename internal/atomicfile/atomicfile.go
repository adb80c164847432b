// Package atomicfile replaces small files (credentials, password files)
// so that readers see the old contents or the new, never a mix, and the new
// contents survive a crash once Write returns.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces the file at path with data: a temporary file beside it is
// written with permissions mode, synced and renamed over path, and the
// directory is synced. When old describes the file being replaced, its owner
// and group are kept where the caller may set them. path is taken as is:
// callers that want to replace the target of a symbolic link resolve it
// first. On failure the temporary file is removed and path is untouched.
func Write(path string, data []byte, mode fs.FileMode, old fs.FileInfo) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if old != nil {
		keepOwner(tmp, old)
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable where the platform allows;
// failures are ignored, as the rename itself has happened.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
