package image

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthhq/berth/storage/layout"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Summary is one line of `ctl images`.
type Summary struct {
	Name       string        // the full reference: docker.io/library/busybox:latest
	Repository string        // docker.io/library/busybox
	Tag        string        // "latest"; "" for a name by digest
	Digest     digest.Digest // the manifest or index the name points at
	ID         digest.Digest // the config digest (an index's own digest)
	Created    time.Time     // from the config; zero when it has none
	// Size is what the image takes in the store as pulled: its layers
	// (compressed), config and manifest, and for an index every stored
	// platform's and the index itself.
	Size int64
}

// List returns the named images of the store, sorted by name.
func (s *Service) List(ctx context.Context) ([]Summary, error) {
	all, err := s.entries(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(all))
	for _, e := range all {
		sum, err := s.summary(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", e.name, err)
		}
		out = append(out, sum)
	}
	return out, nil
}

// summary describes one entry.
func (s *Service) summary(ctx context.Context, e entry) (Summary, error) {
	sum := Summary{Name: e.name, Digest: e.desc.Digest}
	if named, err := reference.ParseNormalizedNamed(e.name); err == nil {
		sum.Repository = named.Name()
		if t, ok := named.(reference.Tagged); ok {
			sum.Tag = t.Tag()
		}
	}
	var err error
	if sum.ID, err = s.imageID(ctx, e.desc); err != nil {
		return sum, err
	}
	n, err := s.platformManifest(ctx, e.desc)
	if err != nil {
		return sum, err
	}
	if _, cfg, _, err := s.config(ctx, n); err != nil {
		return sum, err
	} else if cfg.Created != nil {
		sum.Created = *cfg.Created
	}
	sum.Size, err = s.storedSize(ctx, e.desc)
	return sum, err
}

// storedSize adds up the stored blobs under d, each once.
func (s *Service) storedSize(ctx context.Context, d ocispec.Descriptor) (int64, error) {
	var total int64
	err := s.store.Walk(ctx, []ocispec.Descriptor{d}, func(c, _ ocispec.Descriptor) error {
		size, err := s.store.Stat(ctx, c.Digest)
		if errors.Is(err, layout.ErrBlobUnknown) {
			return nil
		}
		total += size
		return err
	})
	return total, err
}

// Tag gives the image src (a name, or an image ID or digest prefix) the
// name dst, replacing what dst named. dst may not be a digest reference.
func (s *Service) Tag(ctx context.Context, src, dst string) error {
	t, err := parseTarget(dst)
	if err != nil {
		return err
	}
	if _, ok := t.named.(reference.Digested); ok {
		return fmt.Errorf("tag %s: refusing to create a tag with a digest reference", dst)
	}
	desc, _, _, err := s.lookup(ctx, src)
	if err != nil {
		return fmt.Errorf("tag %s %s: %w", src, dst, err)
	}
	return s.store.Tag(ctx, t.String(), tagDescriptor(desc))
}

// Remove removes ref from the store's names and returns the names
// removed. ref is a name (that name goes) or an image ID or digest prefix
// (every name of that image goes, which needs force when there are
// several, as docker rmi does: ErrConflict otherwise). The blobs stay
// until Prune.
func (s *Service) Remove(ctx context.Context, ref string, force bool) ([]string, error) {
	_, names, byName, err := s.lookup(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("remove %s: %w", ref, err)
	}
	if !byName && len(names) > 1 && !force {
		return nil, fmt.Errorf("remove %s: %w: image is referenced by %d names (%v); remove them one by one or force", ref, ErrConflict, len(names), names)
	}
	var removed []string
	for _, n := range names {
		if _, err := s.store.Untag(ctx, n); err != nil && !errors.Is(err, layout.ErrNameUnknown) {
			return removed, fmt.Errorf("remove %s: %w", ref, err)
		}
		removed = append(removed, n)
	}
	return removed, nil
}

// Prune removes every blob no name reaches: images whose names were all
// removed, layers only they used. It waits for running pulls and loads.
func (s *Service) Prune(ctx context.Context) (layout.Freed, error) {
	return s.store.GC(ctx)
}

// Details is what Inspect returns.
type Details struct {
	Name       string             // the name asked for, or the first name of the image
	Names      []string           // every name of the image
	Descriptor ocispec.Descriptor // what the name points at
	Index      *ocispec.Index     // when that is an index
	// Manifest is the image manifest: the name's, or for an index the
	// stored one for the host's platform.
	Manifest           ocispec.Manifest
	ManifestDescriptor ocispec.Descriptor
	Config             ocispec.Image
	ID                 digest.Digest // as in Summary
	Size               int64         // as in Summary
	RawManifest        []byte
	RawConfig          []byte
}

// Inspect returns the manifest and config of image ref (a name, or an
// image ID or digest prefix).
func (s *Service) Inspect(ctx context.Context, ref string) (Details, error) {
	desc, names, _, err := s.lookup(ctx, ref)
	if err != nil {
		return Details{}, fmt.Errorf("inspect %s: %w", ref, err)
	}
	d := Details{Descriptor: desc}
	all, err := s.entries(ctx)
	if err != nil {
		return Details{}, err
	}
	for _, e := range all {
		if e.desc.Digest == desc.Digest {
			d.Names = append(d.Names, e.name)
		}
	}
	if len(names) > 0 {
		d.Name = names[0]
	}
	if layout.IsIndex(desc.MediaType) {
		n, err := s.localNode(ctx, desc)
		if err != nil {
			return Details{}, err
		}
		idx, err := parseIndex(n)
		if err != nil {
			return Details{}, err
		}
		d.Index = &idx
	}
	n, err := s.platformManifest(ctx, desc)
	if err != nil {
		return Details{}, fmt.Errorf("inspect %s: %w", ref, err)
	}
	d.ManifestDescriptor, d.RawManifest = n.desc, n.body
	if d.Manifest, d.Config, d.RawConfig, err = s.config(ctx, n); err != nil {
		return Details{}, fmt.Errorf("inspect %s: %w", ref, err)
	}
	if d.ID, err = s.imageID(ctx, desc); err != nil {
		return Details{}, err
	}
	d.Size, err = s.storedSize(ctx, desc)
	return d, err
}
