package layout

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Freed is what GC removed.
type Freed struct {
	Blobs []ocispec.Descriptor // digest and size of each blob removed
	Bytes int64                // their total size
}

// GC removes the blobs that nothing in index.json reaches (through
// manifests, indexes, configs and layers), their labels, and temp files
// left by interrupted writes of unknown digests. Partial downloads are
// kept for resuming. GC waits for every Lease to be released and holds
// the index lock throughout, so it never removes a blob a concurrent pull
// or load is about to reference.
func (l *Layout) GC(ctx context.Context) (Freed, error) {
	release, err := lockPath(ctx, l.path(gcLock), lockExclusive)
	if err != nil {
		return Freed{}, err
	}
	defer release()
	var freed Freed
	err = l.withIndexLock(ctx, func() error {
		roots, err := l.roots()
		if err != nil {
			return err
		}
		live := digestSet{}
		err = l.Walk(ctx, roots, func(d, _ ocispec.Descriptor) error {
			live[d.Digest] = true
			return nil
		})
		if err != nil {
			return fmt.Errorf("gc: marking: %w", err)
		}
		if freed, err = l.sweep(live); err != nil {
			return fmt.Errorf("gc: %w", err)
		}
		return l.dropLabels(live)
	})
	return freed, err
}

// sweep removes the blobs not in live.
func (l *Layout) sweep(live digestSet) (Freed, error) {
	var freed Freed
	blobs := l.path(ocispec.ImageBlobsDir)
	algs, err := os.ReadDir(blobs)
	if err != nil {
		return freed, err
	}
	for _, a := range algs {
		if !a.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(blobs, a.Name()))
		if err != nil {
			return freed, err
		}
		for _, f := range files {
			d := digest.NewDigestFromEncoded(digest.Algorithm(a.Name()), f.Name())
			if d.Validate() == nil && live[d] {
				continue
			}
			info, err := f.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return freed, err
			}
			if err := os.Remove(filepath.Join(blobs, a.Name(), f.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return freed, err
			}
			freed.Blobs = append(freed.Blobs, ocispec.Descriptor{Digest: d, Size: info.Size()})
			freed.Bytes += info.Size()
		}
	}
	// No lease is held (GC holds gc.lock exclusively): temp files of
	// WriteBlob are leftovers of interrupted processes.
	tmps, err := os.ReadDir(l.path(ingestDir))
	if err != nil {
		return freed, err
	}
	for _, t := range tmps {
		if strings.HasPrefix(t.Name(), "tmp-") {
			_ = os.Remove(l.path(ingestDir, t.Name()))
		}
	}
	return freed, nil
}

// dropLabels removes the labels of blobs not in live. The caller holds
// the index lock.
func (l *Layout) dropLabels(live digestSet) error {
	lb, err := l.readLabels()
	if err != nil {
		return err
	}
	changed := false
	for d := range lb {
		if !live[d] {
			delete(lb, d)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return l.writeLabels(lb)
}
