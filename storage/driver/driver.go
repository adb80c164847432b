// Package driver defines the storage driver contract: a flat namespace of
// slash-separated paths holding byte objects. The storage package builds the
// registry's content model (blobs, uploads, manifests, tags) on top of it.
//
// Paths are absolute ("/docker/registry/v2/..."), use "/" as separator, and
// contain only the characters of PathRegexp. Implementations must be safe for
// concurrent use by many goroutines and, for shared backends, many processes.
package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
)

// PathRegexp matches every valid driver path; "/" is the root directory.
// CheckPath additionally rejects "." and ".." components, which the regexp
// cannot express, so that no path can climb out of a driver's root.
var PathRegexp = regexp.MustCompile(`^/$|^(/[A-Za-z0-9._:-]+)+$`)

// Driver is the storage backend. Every method takes a context first and
// returns an error that wraps ErrNotFound (via PathError) when a path is absent.
type Driver interface {
	// Name identifies the driver in logs ("filesystem", "s3", "inmemory").
	Name() string

	// GetContent returns the whole object at path. Meant for small objects
	// (links, manifests, hash states); blobs are read with Reader.
	GetContent(ctx context.Context, path string) ([]byte, error)

	// PutContent stores content at path atomically: readers see either the
	// old object or the whole new one, never a partial write.
	PutContent(ctx context.Context, path string, content []byte) error

	// Reader opens the object at path for reading from offset. An offset
	// past the end returns InvalidOffsetError. The caller closes the reader.
	Reader(ctx context.Context, path string, offset int64) (io.ReadCloser, error)

	// Writer opens path for writing. With append true it continues an object
	// previously written by a Writer (possibly in another process); otherwise
	// it truncates. Written bytes are not guaranteed durable or visible
	// until Commit returns. The caller must Close (or Cancel) the writer.
	Writer(ctx context.Context, path string, append bool) (FileWriter, error)

	// Stat describes the object or directory at path.
	Stat(ctx context.Context, path string) (FileInfo, error)

	// List returns the absolute paths of the direct children of the
	// directory at path, in no particular order.
	List(ctx context.Context, path string) ([]string, error)

	// Move renames source to dest atomically, replacing dest if it exists.
	Move(ctx context.Context, source, dest string) error

	// Delete removes the object or the whole tree at path.
	Delete(ctx context.Context, path string) error

	// Walk calls fn for every object and directory below path, in lexical
	// order of paths within each directory. fn may return ErrSkipDir for a
	// directory to skip it.
	Walk(ctx context.Context, path string, fn WalkFn) error
}

// Opener is an optional Driver upgrade: a driver whose objects can be read
// with random access (for example plain files) returns a ReadSeekCloser so
// HTTP handlers can serve ranges and the kernel can sendfile. For *os.File
// results the file is the real one.
type Opener interface {
	Open(ctx context.Context, path string) (io.ReadSeekCloser, error)
}

// URLer is an optional Driver upgrade: a driver that can hand clients a
// direct, time-limited URL to an object (for example a presigned S3 URL).
type URLer interface {
	URLFor(ctx context.Context, path string, expiry time.Duration) (string, error)
}

// Purger is an optional Driver upgrade for backends that keep data of
// unfinished writes where no path shows it (S3 multipart uploads of a
// process that died before its first Close). PurgeWrites removes such
// writes started before olderThan and returns how many.
type Purger interface {
	PurgeWrites(ctx context.Context, olderThan time.Time) (int, error)
}

// Pager is an optional Driver upgrade for backends that list a directory
// a page at a time, in lexical order, from a given name on (S3's
// ListObjectsV2 with StartAfter).
type Pager interface {
	// ListPage returns the paths of up to n objects (not directories)
	// directly in dir whose names sort after after (all when after is
	// ""), in lexical order, and whether more may follow.
	ListPage(ctx context.Context, dir, after string, n int) (paths []string, more bool, err error)
}

// ListPage is Pager.ListPage on d, or the same answer from List when d is
// not a Pager.
func ListPage(ctx context.Context, d Driver, dir, after string, n int) ([]string, bool, error) {
	if p, ok := d.(Pager); ok {
		return p.ListPage(ctx, dir, after, n)
	}
	all, err := d.List(ctx, dir)
	if err != nil {
		return nil, false, err
	}
	var page []string
	for _, p := range all {
		if name := p[strings.LastIndexByte(p, '/')+1:]; name > after {
			if fi, err := d.Stat(ctx, p); err == nil && !fi.IsDir() {
				page = append(page, p)
			}
		}
	}
	sort.Strings(page)
	if len(page) > n {
		return page[:n], true, nil
	}
	return page, false, nil
}

// FileWriter writes one object. Size reports the bytes written so far,
// including those of earlier Writers that this one appended to.
type FileWriter interface {
	io.WriteCloser
	// Size is the object's size including all bytes written so far.
	Size() int64
	// Cancel discards everything written by this writer and the object.
	Cancel(ctx context.Context) error
	// Commit makes the written bytes durable and visible to Reader/Stat.
	// No writes are allowed after Commit; Close must still be called.
	Commit(ctx context.Context) error
}

// FileInfo describes an object or directory.
type FileInfo interface {
	Path() string
	Size() int64
	ModTime() time.Time
	IsDir() bool
}

// WalkFn is called by Walk for each entry.
type WalkFn func(fi FileInfo) error

// FileInfoFields is a plain FileInfo implementation for drivers.
type FileInfoFields struct {
	FPath    string
	FSize    int64
	FModTime time.Time
	FIsDir   bool
}

func (f FileInfoFields) Path() string       { return f.FPath }
func (f FileInfoFields) Size() int64        { return f.FSize }
func (f FileInfoFields) ModTime() time.Time { return f.FModTime }
func (f FileInfoFields) IsDir() bool        { return f.FIsDir }

var _ FileInfo = FileInfoFields{}

var (
	// ErrNotFound is wrapped by every error about an absent path.
	ErrNotFound = errors.New("path not found")
	// ErrSkipDir returned by a WalkFn skips the directory.
	ErrSkipDir = errors.New("skip this directory")
	// ErrUnsupported is returned by optional methods a driver cannot honour.
	ErrUnsupported = errors.New("unsupported by this driver")
	// ErrUnavailable is wrapped by errors that mean the backend could not
	// serve the request for now (throttling, 5xx answers, timeouts,
	// dropped connections) after the driver's own retries. The registry
	// answers them with 503 so that clients retry later.
	ErrUnavailable = errors.New("storage backend unavailable")
)

// PathError records a failed operation on a path, like os.PathError.
type PathError struct {
	Op     string
	Path   string
	Driver string
	Err    error
}

func (e *PathError) Error() string {
	return fmt.Sprintf("%s: %s %s: %v", e.Driver, e.Op, e.Path, e.Err)
}

func (e *PathError) Unwrap() error { return e.Err }

// InvalidPathError is returned for a path that does not match PathRegexp.
type InvalidPathError struct {
	Path   string
	Driver string
}

func (e *InvalidPathError) Error() string {
	return fmt.Sprintf("%s: invalid path %q", e.Driver, e.Path)
}

// InvalidOffsetError is returned when reading from or appending at an
// offset the object does not have.
type InvalidOffsetError struct {
	Path   string
	Offset int64
	Driver string
}

func (e *InvalidOffsetError) Error() string {
	return fmt.Sprintf("%s: invalid offset %d for %s", e.Driver, e.Offset, e.Path)
}

// CheckPath returns an InvalidPathError when path is not a valid driver path:
// it must match PathRegexp and have no "." or ".." component.
func CheckPath(driver, path string) error {
	if !PathRegexp.MatchString(path) {
		return &InvalidPathError{Path: path, Driver: driver}
	}
	for _, c := range strings.Split(path[1:], "/") {
		if c == "." || c == ".." {
			return &InvalidPathError{Path: path, Driver: driver}
		}
	}
	return nil
}
