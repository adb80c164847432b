// Package layout is an OCI image layout on local disk: ctl's content
// store, and the shape of `ctl save` archives.
//
// The directory holds, as the OCI image-spec's image-layout.md says:
//
//	oci-layout                    {"imageLayoutVersion":"1.0.0"}
//	index.json                    an image index: one manifest descriptor per
//	                              name, its org.opencontainers.image.ref.name
//	                              annotation the full normalised reference
//	                              ("docker.io/library/busybox:latest")
//	blobs/<alg>/<hex>             content, named by its digest
//
// and, beside them, files of this package that other tools ignore:
//
//	ingest/<alg>-<hex>.partial    a download in progress, kept when it is
//	                              interrupted so the next ingest of the same
//	                              digest resumes from its size
//	ingest/tmp-*                  content whose digest is not known yet
//	labels.json                   small per-blob labels ({digest: {key: value}}),
//	                              e.g. which repositories a blob came from
//	index.lock                    flock: held while index.json or labels.json
//	                              is read, modified and rewritten
//	gc.lock                       flock: shared by producers (Lease), exclusive
//	                              for GC, so GC never sweeps a blob that a pull
//	                              wrote but has not tagged yet
//
// Content only lands under blobs/ after its size and digest were checked
// (written under ingest/, fsynced, renamed); index.json and labels.json are
// rewritten whole (temp file, fsync, rename). Two processes can use one
// layout: the locks keep them from losing each other's updates.
package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Layout is an OCI image layout directory. It is safe for concurrent use,
// by goroutines and by processes.
type Layout struct {
	dir string
}

// Names of the files beside the layout's own.
const (
	ingestDir  = "ingest"
	labelsFile = "labels.json"
	indexLock  = "index.lock"
	gcLock     = "gc.lock"
)

// New opens the image layout at dir, creating the directory, oci-layout,
// an empty index.json and blobs/ when they are missing. It fails when dir
// holds an oci-layout of another version or an index.json that does not
// parse.
func New(dir string) (*Layout, error) {
	if dir == "" {
		return nil, errors.New("layout: empty directory")
	}
	l := &Layout{dir: filepath.Clean(dir)}
	for _, d := range []string{l.dir, l.path(ocispec.ImageBlobsDir), l.path(ingestDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("layout: %w", err)
		}
	}
	if err := l.initLayoutFile(); err != nil {
		return nil, err
	}
	// index.json is created under the index lock, so that two processes
	// opening a new layout at once do not both write it.
	ctx := context.Background()
	err := l.withIndexLock(ctx, func() error {
		_, err := os.Stat(l.path(ocispec.ImageIndexFile))
		if errors.Is(err, fs.ErrNotExist) {
			return l.writeIndex(newIndex())
		}
		if err != nil {
			return err
		}
		_, err = l.readIndex()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("layout %s: %w", l.dir, err)
	}
	return l, nil
}

// Dir returns the layout's directory.
func (l *Layout) Dir() string { return l.dir }

// path joins elem onto the layout directory.
func (l *Layout) path(elem ...string) string {
	return filepath.Join(append([]string{l.dir}, elem...)...)
}

// initLayoutFile writes oci-layout when missing and checks its version
// otherwise.
func (l *Layout) initLayoutFile() error {
	p := l.path(ocispec.ImageLayoutFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		b, _ = json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
		if err := writeFileAtomic(p, b); err != nil {
			return fmt.Errorf("layout: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("layout: %w", err)
	}
	var v ocispec.ImageLayout
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("layout: %s: %w", p, err)
	}
	if v.Version != ocispec.ImageLayoutVersion {
		return fmt.Errorf("layout: %s: imageLayoutVersion %q, want %q", p, v.Version, ocispec.ImageLayoutVersion)
	}
	return nil
}

// writeFileAtomic replaces the file at p with b: a temp file beside it,
// fsynced, renamed over p, and the directory fsynced.
func writeFileAtomic(p string, b []byte) error {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, "."+filepath.Base(p)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(b); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// syncDir fsyncs a directory so that a rename into it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
