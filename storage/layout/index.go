package layout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxIndexSize bounds index.json and labels.json.
const maxIndexSize = 64 << 20

// newIndex returns an empty index.json document.
func newIndex() ocispec.Index {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	return idx
}

// withIndexLock runs fn holding the index lock.
func (l *Layout) withIndexLock(ctx context.Context, fn func() error) error {
	unlock, err := lockPath(ctx, l.path(indexLock), lockExclusive)
	if err != nil {
		return err
	}
	defer unlock()
	return fn()
}

// readIndex reads index.json. The caller holds the index lock.
func (l *Layout) readIndex() (ocispec.Index, error) {
	p := l.path(ocispec.ImageIndexFile)
	b, err := readFileMax(p, maxIndexSize)
	if err != nil {
		return ocispec.Index{}, err
	}
	var idx ocispec.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return ocispec.Index{}, fmt.Errorf("%s: %w", p, err)
	}
	if idx.SchemaVersion != 2 {
		return ocispec.Index{}, fmt.Errorf("%s: schemaVersion %d, want 2", p, idx.SchemaVersion)
	}
	return idx, nil
}

// writeIndex rewrites index.json atomically. The caller holds the index
// lock.
func (l *Layout) writeIndex(idx ocispec.Index) error {
	if idx.Manifests == nil {
		idx.Manifests = []ocispec.Descriptor{}
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(l.path(ocispec.ImageIndexFile), append(b, '\n'))
}

// updateIndex reads index.json, lets fn change it and writes it back, all
// under the index lock. fn returning an error leaves index.json as it was.
func (l *Layout) updateIndex(ctx context.Context, fn func(*ocispec.Index) error) error {
	return l.withIndexLock(ctx, func() error {
		idx, err := l.readIndex()
		if err != nil {
			return err
		}
		if err := fn(&idx); err != nil {
			return err
		}
		return l.writeIndex(idx)
	})
}

// checkName checks a name for index.json: not empty, one line, no control
// characters. The layout does not interpret names; callers normalise them.
func checkName(name string) error {
	if name == "" || strings.TrimSpace(name) != name ||
		strings.IndexFunc(name, unicode.IsControl) >= 0 || len(name) > 4096 {
		return fmt.Errorf("name %q: %w", name, ErrInvalid)
	}
	return nil
}

// refName returns the name annotation of an index entry ("" when none).
func refName(d ocispec.Descriptor) string { return d.Annotations[ocispec.AnnotationRefName] }

// Tag points name at desc (a manifest or index already stored), replacing
// whatever name pointed at. desc keeps its other annotations and platform;
// the name goes in org.opencontainers.image.ref.name. A desc whose blob is
// not stored matches ErrBlobUnknown.
func (l *Layout) Tag(ctx context.Context, name string, desc ocispec.Descriptor) error {
	if err := checkName(name); err != nil {
		return err
	}
	size, err := l.Stat(ctx, desc.Digest)
	if err != nil {
		return fmt.Errorf("tag %s: %w", name, err)
	}
	if size != desc.Size {
		return fmt.Errorf("tag %s: blob %s is %d bytes, descriptor says %d: %w", name, desc.Digest, size, desc.Size, ErrDigestMismatch)
	}
	ann := make(map[string]string, len(desc.Annotations)+1)
	for k, v := range desc.Annotations {
		ann[k] = v
	}
	ann[ocispec.AnnotationRefName] = name
	desc.Annotations = ann
	return l.updateIndex(ctx, func(idx *ocispec.Index) error {
		for i, d := range idx.Manifests {
			if refName(d) == name {
				idx.Manifests[i] = desc
				return nil
			}
		}
		idx.Manifests = append(idx.Manifests, desc)
		return nil
	})
}

// Untag removes name from index.json and returns what it pointed at. The
// blobs stay until GC. An unknown name matches ErrNameUnknown.
func (l *Layout) Untag(ctx context.Context, name string) (ocispec.Descriptor, error) {
	var old ocispec.Descriptor
	err := l.updateIndex(ctx, func(idx *ocispec.Index) error {
		for i, d := range idx.Manifests {
			if refName(d) == name {
				old = d
				idx.Manifests = append(idx.Manifests[:i], idx.Manifests[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("%q: %w", name, ErrNameUnknown)
	})
	return old, err
}

// Resolve returns the descriptor name points at. An unknown name matches
// ErrNameUnknown.
func (l *Layout) Resolve(ctx context.Context, name string) (ocispec.Descriptor, error) {
	all, err := l.List(ctx)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, d := range all {
		if refName(d) == name {
			return d, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%q: %w", name, ErrNameUnknown)
}

// List returns the entries of index.json sorted by name; each entry's
// org.opencontainers.image.ref.name annotation holds its name (entries
// written by other tools may have none).
func (l *Layout) List(ctx context.Context) ([]ocispec.Descriptor, error) {
	var idx ocispec.Index
	err := l.withIndexLock(ctx, func() (err error) {
		idx, err = l.readIndex()
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(idx.Manifests, func(i, j int) bool {
		return refName(idx.Manifests[i]) < refName(idx.Manifests[j])
	})
	return idx.Manifests, nil
}

// roots returns the digests index.json points at. The caller holds the
// index lock.
func (l *Layout) roots() ([]ocispec.Descriptor, error) {
	idx, err := l.readIndex()
	if err != nil {
		return nil, err
	}
	return idx.Manifests, nil
}

// readFileMax reads the file at p, refusing files over max bytes.
func readFileMax(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, max)
	}
	return b, nil
}

// digestSet is a set of digests.
type digestSet map[digest.Digest]bool
