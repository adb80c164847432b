package credstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/internal/atomicfile"
)

// newFileMode is the mode of a config.json this package creates.
const newFileMode fs.FileMode = 0o600

// writeFile replaces the file at path with data atomically: a temporary
// file beside it is written, synced and renamed over it, so readers see
// the old contents or the new. When path is a symbolic link (dangling or
// not), the file it points to is replaced, as docker does. old describes
// the file replaced (nil when there was none): its permissions, and its
// owner and group when the caller may set them, are kept; a new file gets
// mode 0600.
func writeFile(path string, data []byte, old fs.FileInfo) error {
	mode := newFileMode
	if old != nil {
		mode = old.Mode().Perm()
	}
	if err := atomicfile.Write(linkTarget(path), data, mode, old); err != nil {
		return fmt.Errorf("credstore: %w", err)
	}
	return nil
}

// linkTarget returns the file path names after following symbolic links,
// also when the last one dangles; path itself when it is no link.
func linkTarget(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	} else if !errors.Is(err, fs.ErrNotExist) {
		return path
	}
	for range 40 { // a dangling chain: follow it by hand
		target, err := os.Readlink(path)
		if err != nil {
			return path
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return path
}
