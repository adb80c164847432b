package image

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/berthhq/berth/storage/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushResult says what Push or Copy uploaded last: the manifest or index
// the reference now names at the registry.
type PushResult struct {
	Name   string // the full reference pushed to
	Digest digest.Digest
	Size   int64
}

// Push uploads the image the store names ref (normalised by
// ParseReference) to p, the registry ref names. Each config and layer is
// checked with a HEAD first and skipped when the registry has it; a blob
// the store knows came from another repository of that registry is
// mounted from there when p is a Mounter, and uploaded otherwise: whole
// when small, in chunks above the threshold (WithChunking) when p is a
// ChunkedPusher. Blobs move concurrently (WithConcurrency); manifests go
// last, the tagged one at the very end. An index is pushed whole, which
// needs every manifest it lists in the store (ErrIncomplete otherwise).
func (s *Service) Push(ctx context.Context, p Pusher, ref string, opts ...Option) (PushResult, error) {
	o, err := newOptions(opts)
	if err != nil {
		return PushResult{}, err
	}
	t, err := parseTarget(ref)
	if err != nil {
		return PushResult{}, err
	}
	res, err := s.push(ctx, p, t, o)
	if err != nil {
		return PushResult{}, fmt.Errorf("push %s: %w", t, err)
	}
	return res, nil
}

func (s *Service) push(ctx context.Context, p Pusher, t target, o *options) (PushResult, error) {
	desc, err := s.store.Resolve(ctx, t.String())
	if errors.Is(err, layout.ErrNameUnknown) {
		return PushResult{}, fmt.Errorf("%w: an image does not exist locally with that name", ErrNotFound)
	}
	if err != nil {
		return PushResult{}, err
	}
	nodes, err := s.localTree(ctx, desc)
	if err != nil {
		return PushResult{}, err
	}
	blobs, err := imageBlobs(nodes)
	if err != nil {
		return PushResult{}, err
	}
	rep := newReporter(o.progress)
	err = transfer(ctx, o, rep, blobs, StatusPreparing, func(ctx context.Context, b blobRef) error {
		return s.pushBlob(ctx, p, t, b, o, rep)
	})
	if err != nil {
		return PushResult{}, err
	}
	res, err := putManifests(ctx, p, t, nodes)
	if err != nil {
		return PushResult{}, err
	}
	return res, s.recordSource(ctx, t.host, t.repo, nodes, blobs)
}

// putManifests uploads nodes in order, each by digest and the last under
// t's tag (or digest).
func putManifests(ctx context.Context, p Pusher, t target, nodes []node) (PushResult, error) {
	for i, n := range nodes {
		ref := n.desc.Digest.String()
		if i == len(nodes)-1 {
			ref = t.ref
		}
		got, err := p.PutManifest(ctx, t.repo, ref, n.desc.MediaType, n.body)
		if err != nil {
			return PushResult{}, err
		}
		if got != n.desc.Digest {
			return PushResult{}, fmt.Errorf("manifest %s: registry stored %s: %w", n.desc.Digest, got, ErrDigestMismatch)
		}
	}
	top := nodes[len(nodes)-1].desc
	return PushResult{Name: t.String(), Digest: top.Digest, Size: top.Size}, nil
}

// pushBlob makes sure the registry has blob b in t's repository: present
// already, mounted, or uploaded from the store.
func (s *Service) pushBlob(ctx context.Context, p Pusher, t target, b blobRef, o *options, rep *reporter) error {
	d := b.desc
	report := func(e Event) {
		if b.layer {
			e.ID, e.Digest, e.Total = ShortID(d.Digest), d.Digest, d.Size
			rep.event(e)
		}
	}
	if size, err := p.HeadBlob(ctx, t.repo, d.Digest); err == nil && (size < 0 || size == d.Size) {
		report(Event{Status: StatusLayerExists})
		return nil
	}
	if from, err := mount(ctx, p, t.repo, d.Digest, s.sources(ctx, t.host, d.Digest)); err != nil {
		return err
	} else if from != "" {
		report(Event{Status: StatusMounted, From: from})
		return nil
	}
	f, err := s.store.Open(ctx, d.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	c := &counter{r: f, rep: rep, d: d.Digest, st: StatusPushing, total: d.Size, silent: !b.layer}
	var r io.Reader = c
	if ra, ok := f.(io.ReaderAt); ok { // keep it replayable for PutBlob
		r = &countingFile{counter: c, ra: ra, s: f}
	}
	if err := upload(ctx, p, t.repo, d, r, o); err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	report(Event{Status: StatusPushed})
	return nil
}

// mount tries to link blob d into repo from each of from (other than
// repo itself) and returns the repository it came from, or "" when p
// cannot mount or the registry would not.
func mount(ctx context.Context, p Pusher, repo string, d digest.Digest, from []string) (string, error) {
	m, ok := p.(Mounter)
	if !ok {
		return "", nil
	}
	for _, src := range from {
		if src == repo {
			continue
		}
		ok, err := m.MountBlob(ctx, repo, d, src)
		if err != nil && ctx.Err() != nil {
			return "", ctx.Err()
		}
		if err == nil && ok {
			return src, nil
		}
	}
	return "", nil
}

// upload sends blob d read from r: in chunks when it is larger than the
// threshold and p can, else whole.
func upload(ctx context.Context, p Pusher, repo string, d ocispec.Descriptor, r io.Reader, o *options) error {
	if cp, ok := p.(ChunkedPusher); ok && d.Size > o.chunkThreshold {
		return cp.PutBlobChunked(ctx, repo, d.Digest, r, o.chunkSize)
	}
	return p.PutBlob(ctx, repo, d.Digest, d.Size, r)
}

// countingFile is a counter that can also be read at offsets and sought,
// so that an upload can replay it.
type countingFile struct {
	*counter
	ra io.ReaderAt
	s  io.Seeker
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.ra.ReadAt(p, off)
	c.add(n, err != nil)
	return n, err
}

func (c *countingFile) Seek(off int64, whence int) (int64, error) { return c.s.Seek(off, whence) }
