package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	layerarchive "github.com/berthhq/berth/runtime/archive"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// WithUnpack makes Pull unpack the pulled image's layers into store, one
// snapshot per layer keyed by chain ID (snapshots it has are skipped).
// Each layer is applied with runtime/archive.ApplyLayer, which checks the
// layer digest and the config's diff ID while it unpacks; layers unpack
// in parallel (WithConcurrency), each into its own snapshot. Only
// image manifests with a container image config are unpacked, and not
// with WithAllPlatforms.
func WithUnpack(store *snapshot.Store) Option { return func(o *options) { o.unpack = store } }

// Docker's media types for an image config and its layers.
const (
	dockerConfig  = "application/vnd.docker.container.image.v1+json"
	dockerLayer   = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	dockerForeign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
	ociLayerGzip  = ocispec.MediaTypeImageLayerGzip
	ociLayerZstd  = ocispec.MediaTypeImageLayerZstd
	ociLayerTar   = ocispec.MediaTypeImageLayer
	// Non-distributable layers: deprecated in the spec, still met.
	ociNondistGzip   = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
	ociNondistZstd   = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
	ociNondistTarRaw = "application/vnd.oci.image.layer.nondistributable.v1.tar"
)

func isLayerType(mt string) bool {
	switch mt {
	case dockerLayer, dockerForeign, ociLayerGzip, ociLayerZstd, ociLayerTar, ociNondistGzip, ociNondistZstd, ociNondistTarRaw:
		return true
	}
	return false
}

// unpack unpacks image manifest img (already in the store) into o.unpack.
func (s *Service) unpack(ctx context.Context, img node, o *options) error {
	m, err := parseManifest(img)
	if err != nil {
		return err
	}
	if m.Config.MediaType != ocispec.MediaTypeImageConfig && m.Config.MediaType != dockerConfig {
		return nil // an artifact, not a container image
	}
	body, err := s.store.ReadBlob(ctx, m.Config.Digest, maxConfigSize)
	if err != nil {
		return fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(body, &cfg); err != nil {
		return fmt.Errorf("config %s is not valid JSON: %w", m.Config.Digest, err)
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return fmt.Errorf("image %s: %d layers but %d diff IDs in config %s: %w",
			img.desc.Digest, len(m.Layers), len(diffIDs), m.Config.Digest, ErrUnsupported)
	}
	for _, l := range m.Layers {
		if !isLayerType(l.MediaType) {
			return fmt.Errorf("image %s: layer %s has media type %q: %w", img.desc.Digest, l.Digest, l.MediaType, ErrUnsupported)
		}
	}
	chain := snapshot.ChainIDs(diffIDs)
	idx := make([]int, len(m.Layers))
	for i := range idx {
		idx[i] = i
	}
	return runAll(ctx, o.concurrency, idx, func(ctx context.Context, i int) error {
		var parent digest.Digest
		if i > 0 {
			parent = chain[i-1]
		}
		return s.unpackLayer(ctx, o.unpack, m.Layers[i], diffIDs[i], chain[i], parent)
	})
}

// unpackLayer applies layer l into the snapshot chainID unless it exists.
func (s *Service) unpackLayer(ctx context.Context, store *snapshot.Store, l ocispec.Descriptor, diffID, chainID, parent digest.Digest) error {
	if _, err := store.Stat(ctx, chainID); err == nil {
		return nil
	}
	p, err := store.Prepare(ctx, chainID, parent)
	if errors.Is(err, snapshot.ErrExists) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	defer p.Abort()
	r, err := s.store.Open(ctx, l.Digest)
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	defer r.Close()
	if _, err := layerarchive.ApplyLayer(ctx, p.Dir(), r, l.Digest, diffID); err != nil {
		if errors.Is(err, layerarchive.ErrDigestMismatch) {
			err = fmt.Errorf("%w: %w", ErrDigestMismatch, err)
		}
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	if err := p.Commit(ctx); err != nil && !errors.Is(err, snapshot.ErrExists) {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	return nil
}
