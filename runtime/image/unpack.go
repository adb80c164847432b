package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	layerarchive "github.com/berthhq/berth/runtime/archive"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// WithUnpack makes Pull unpack the pulled image's layers into store, one
// snapshot per layer keyed by chain ID (snapshots it has are skipped).
// Each layer is applied with runtime/archive.ApplyLayer, which checks the
// layer digest and the config's diff ID while it unpacks; layers unpack
// in parallel, each into its own snapshot as soon as its blob is
// downloaded and verified, while the other blobs still download (at most
// as many at once as CPUs, and not more than WithConcurrency). Only
// image manifests with a container image config are unpacked, and not
// with WithAllPlatforms. Before unpacking, Pull removes what an
// interrupted unpack left in store (snapshot.Store.Clean).
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

// unpacker unpacks an image's layers while the pull downloads them: each
// layer starts as soon as its blob is committed to the store (so it has
// been checked against its digest), at most n at once. A snapshot is
// committed only when ApplyLayer verified both the layer digest and the
// diff ID; else it is aborted. The first error cancels ctx, which the
// downloads share, so a failed unpack stops the pull.
type unpacker struct {
	s       *Service
	store   *snapshot.Store
	layers  []ocispec.Descriptor
	diffIDs []digest.Digest
	chain   []digest.Digest
	at      map[digest.Digest][]int // layer indexes of each blob

	parent context.Context
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
	err    error

	mu      sync.Mutex
	streams map[int]*layerStream // layers unpacking from their download (see stream)
}

// newUnpacker prepares to unpack image manifest img into o.unpack. It
// fetches the image's config first (its diff IDs are needed). It returns
// nil when img is not a container image (nothing to unpack).
func (s *Service) newUnpacker(ctx context.Context, f Fetcher, repo string, img node, o *options, rep *reporter) (*unpacker, error) {
	m, err := parseManifest(img)
	if err != nil {
		return nil, err
	}
	if m.Config.MediaType != ocispec.MediaTypeImageConfig && m.Config.MediaType != dockerConfig {
		return nil, nil // an artifact, not a container image
	}
	for _, l := range m.Layers {
		if !isLayerType(l.MediaType) {
			return nil, fmt.Errorf("image %s: layer %s has media type %q: %w", img.desc.Digest, l.Digest, l.MediaType, ErrUnsupported)
		}
	}
	if err := s.fetchBlob(ctx, f, repo, blobRef{desc: m.Config}, o, rep); err != nil {
		return nil, err
	}
	body, err := s.store.ReadBlob(ctx, m.Config.Digest, maxConfigSize)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(body, &cfg); err != nil {
		return nil, fmt.Errorf("config %s is not valid JSON: %w", m.Config.Digest, err)
	}
	if _, err := o.unpack.Clean(ctx); err != nil {
		return nil, err // what an earlier unpack, cut short, left behind
	}
	diffIDs := cfg.RootFS.DiffIDs
	if len(diffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("image %s: %d layers but %d diff IDs in config %s: %w",
			img.desc.Digest, len(m.Layers), len(diffIDs), m.Config.Digest, ErrUnsupported)
	}
	u := &unpacker{
		s: s, store: o.unpack, layers: m.Layers, diffIDs: diffIDs,
		chain: snapshot.ChainIDs(diffIDs), at: map[digest.Digest][]int{}, streams: map[int]*layerStream{},
		parent: ctx,
		sem:    make(chan struct{}, unpackConcurrency(o.concurrency)),
	}
	u.ctx, u.cancel = context.WithCancel(ctx)
	for i, l := range m.Layers {
		u.at[l.Digest] = append(u.at[l.Digest], i)
	}
	return u, nil
}

// unpackConcurrency is how many layers unpack at once: decompression is
// CPU-bound, so no more than the CPUs (nor than the pull's concurrency).
func unpackConcurrency(n int) int {
	return max(1, min(n, runtime.GOMAXPROCS(0)))
}

// parentOf is the chain ID of the layer below layer i, "" for the base.
func (u *unpacker) parentOf(i int) digest.Digest {
	if i == 0 {
		return ""
	}
	return u.chain[i-1]
}

// start unpacks the layers whose blob is d (now in the store) in the
// background, unless their unpack streamed from the download and
// succeeded.
func (u *unpacker) start(d digest.Digest) {
	for _, i := range u.at[d] {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			if u.streamed(i) {
				return
			}
			select {
			case u.sem <- struct{}{}:
			case <-u.ctx.Done():
				return
			}
			defer func() { <-u.sem }()
			if u.ctx.Err() != nil {
				return
			}
			open := func() (io.ReadCloser, error) { return u.s.store.Open(u.ctx, u.layers[i].Digest) }
			if err := u.s.unpackLayer(u.ctx, u.store, u.layers[i], u.diffIDs[i], u.chain[i], u.parentOf(i), open); err != nil {
				u.once.Do(func() { u.err = err; u.cancel() })
			}
		}()
	}
}

// wait waits for the unpacks started and returns the first error.
func (u *unpacker) wait() error {
	u.wg.Wait()
	u.cancel()
	if u.err != nil {
		return u.err
	}
	return u.parent.Err()
}

// unpackLayer applies layer l, read from what open returns, into the
// snapshot chainID unless it exists.
func (s *Service) unpackLayer(ctx context.Context, store *snapshot.Store, l ocispec.Descriptor, diffID, chainID, parent digest.Digest, open func() (io.ReadCloser, error)) error {
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
	r, err := open()
	if err != nil {
		return fmt.Errorf("unpack layer %s: %w", l.Digest, err)
	}
	defer r.Close()
	// The store checked the blob's digest when it committed it (a stream
	// from the download ends only once that is done).
	if _, err := layerarchive.ApplyLayer(ctx, p.Dir(), r, l.Digest, diffID, layerarchive.WithBlobVerified()); err != nil {
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
