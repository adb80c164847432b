package image

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Copy copies image srcRef from registry src to dstRef at registry dst
// (both normalised by ParseReference), streaming, without the local
// store. Digests are kept: an index is copied whole unless WithPlatform
// picks one manifest (then dstRef names that manifest). Blobs dst has are
// skipped; between repositories of one registry (same host in both
// references) blobs are mounted when dst is a Mounter; the rest stream
// from src to dst, checked against their digests on the way, in chunks
// above the threshold (WithChunking). Manifests go last, dstRef's at the
// very end. Events report layers as in Push.
func Copy(ctx context.Context, src Fetcher, dst Pusher, srcRef, dstRef string, opts ...Option) (PushResult, error) {
	o, err := newOptions(opts)
	if err != nil {
		return PushResult{}, err
	}
	st, err := parseTarget(srcRef)
	if err != nil {
		return PushResult{}, err
	}
	dt, err := parseTarget(dstRef)
	if err != nil {
		return PushResult{}, err
	}
	res, err := copyImage(ctx, src, dst, st, dt, o)
	if err != nil {
		return PushResult{}, fmt.Errorf("copy %s to %s: %w", st, dt, err)
	}
	return res, nil
}

func copyImage(ctx context.Context, src Fetcher, dst Pusher, st, dt target, o *options) (PushResult, error) {
	top, err := remoteManifest(ctx, src, st.repo, st.ref)
	if err != nil {
		return PushResult{}, err
	}
	child := func(ctx context.Context, d ocispec.Descriptor) (node, error) {
		return remoteChild(ctx, src, st.repo, d)
	}
	nodes, _, err := manifestTree(ctx, child, top, o.platform)
	if err != nil {
		return PushResult{}, err
	}
	blobs, err := imageBlobs(nodes)
	if err != nil {
		return PushResult{}, err
	}
	rep := newReporter(o.progress)
	err = transfer(ctx, o, rep, blobs, StatusPreparing, func(ctx context.Context, b blobRef) error {
		return copyBlob(ctx, src, dst, st, dt, b, o, rep)
	})
	if err != nil {
		return PushResult{}, err
	}
	return putManifests(ctx, dst, dt, nodes)
}

// copyBlob makes sure dst has blob b in dt's repository: present already,
// mounted from st's repository on the same registry, or streamed.
func copyBlob(ctx context.Context, src Fetcher, dst Pusher, st, dt target, b blobRef, o *options, rep *reporter) error {
	d := b.desc
	report := func(e Event) {
		if b.layer {
			e.ID, e.Digest, e.Total = ShortID(d.Digest), d.Digest, d.Size
			rep.event(e)
		}
	}
	if size, err := dst.HeadBlob(ctx, dt.repo, d.Digest); err == nil && (size < 0 || size == d.Size) {
		report(Event{Status: StatusLayerExists})
		return nil
	}
	if st.host == dt.host {
		from, err := mount(ctx, dst, dt.repo, d.Digest, []string{st.repo})
		if err != nil {
			return err
		}
		if from != "" {
			report(Event{Status: StatusMounted, From: from})
			return nil
		}
	}
	body, err := getBlob(ctx, src, st.repo, d.Digest) // the verifier checks it
	if err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	defer body.Close()
	v := newVerifier(body, d)
	c := &counter{r: v, rep: rep, d: d.Digest, st: StatusPushing, total: d.Size, silent: !b.layer}
	if err := upload(ctx, dst, dt.repo, d, c, o); err != nil {
		if verr := v.failure(); verr != nil { // the source's content was wrong: say that
			err = verr
		}
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if verr := v.failure(); verr != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, verr)
	}
	report(Event{Status: StatusPushed})
	return nil
}

// verifier passes a blob through, hashing it; instead of io.EOF, and as
// soon as the content runs past the size, it returns an error matching
// ErrDigestMismatch (or io.ErrUnexpectedEOF when short) if the content is
// not the descriptor's.
type verifier struct {
	r  io.Reader
	d  ocispec.Descriptor
	dg digest.Digester
	n  int64

	mu  sync.Mutex // err is read by the caller while a transport may still be reading
	err error
}

func newVerifier(r io.Reader, d ocispec.Descriptor) *verifier {
	return &verifier{r: r, d: d, dg: d.Digest.Algorithm().Digester()}
}

// failure returns the error the content earned, if any.
func (v *verifier) failure() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

func (v *verifier) Read(p []byte) (int, error) {
	if err := v.failure(); err != nil {
		return 0, err
	}
	n, err := v.r.Read(p)
	v.dg.Hash().Write(p[:n])
	v.n += int64(n)
	var verr error
	switch {
	case v.n > v.d.Size:
		verr = fmt.Errorf("source sent more than the %d bytes of %s: %w", v.d.Size, v.d.Digest, ErrDigestMismatch)
	case err != nil && v.n == v.d.Size && v.dg.Digest() != v.d.Digest:
		// judged here whatever the source's reader said at its end
		verr = fmt.Errorf("source sent content hashing to %s for %s: %w", v.dg.Digest(), v.d.Digest, ErrDigestMismatch)
	case err == io.EOF && v.n < v.d.Size:
		verr = fmt.Errorf("source sent %d of the %d bytes of %s: %w", v.n, v.d.Size, v.d.Digest, io.ErrUnexpectedEOF)
	case err != nil && err != io.EOF:
		verr = err
	}
	if verr != nil {
		v.mu.Lock()
		v.err = verr
		v.mu.Unlock()
		return n, verr
	}
	return n, err
}
