package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/berthhq/berth/storage/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PullResult says what Pull did.
type PullResult struct {
	Name string // the full reference now in the store
	// Digest is what the reference resolves to at the registry (the index
	// of a multi-platform image), the digest docker prints.
	Digest digest.Digest
	// Image is what Name points at in the store: the platform's manifest,
	// or the whole index with WithAllPlatforms.
	Image    ocispec.Descriptor
	UpToDate bool // Name already pointed at Image
}

// blobRef is a config or layer to move, and whether it is a layer (only
// layers are reported in events).
type blobRef struct {
	desc  ocispec.Descriptor
	layer bool
	// stream, when set, may return a writer the download copies the
	// blob into as well (see unpacker.stream).
	stream func(digest.Digest) *layerTee
}

// Pull fetches image ref (a tag or a digest; normalised by ParseReference)
// from f, the registry ref names, into the store and tags it. From an
// index it takes the host's platform (WithPlatform for another, or
// WithAllPlatforms for all). Configs and layers move concurrently
// (WithConcurrency), each checked against its digest while it streams;
// blobs the store has are skipped, and a download kept from an
// interrupted pull resumes with a Range request when f is a RangeFetcher.
// Manifests are stored after everything they reference and the name last.
// Content that does not match its digest fails the pull with an error
// matching ErrDigestMismatch and is not kept.
func (s *Service) Pull(ctx context.Context, f Fetcher, ref string, opts ...Option) (PullResult, error) {
	o, err := newOptions(opts)
	if err != nil {
		return PullResult{}, err
	}
	t, err := parseTarget(ref)
	if err != nil {
		return PullResult{}, err
	}
	release, err := s.store.Lease(ctx)
	if err != nil {
		return PullResult{}, err
	}
	defer release()
	res, err := s.pull(ctx, f, t, o)
	if err != nil {
		return PullResult{}, fmt.Errorf("pull %s: %w", t, err)
	}
	return res, nil
}

func (s *Service) pull(ctx context.Context, f Fetcher, t target, o *options) (PullResult, error) {
	top, err := s.resolveRemote(ctx, f, t)
	if err != nil {
		return PullResult{}, err
	}
	nodes, img, err := s.remoteTree(ctx, f, t.repo, top, o)
	if err != nil {
		return PullResult{}, err
	}
	blobs, err := imageBlobs(nodes)
	if err != nil {
		return PullResult{}, err
	}
	res := PullResult{Name: t.String(), Digest: top.desc.Digest, Image: tagDescriptor(img.desc)}
	if old, err := s.store.Resolve(ctx, res.Name); err == nil && old.Digest == img.desc.Digest {
		res.UpToDate = true
	}
	rep := newReporter(o.progress)
	if res.UpToDate {
		rep = newReporter(nil) // docker shows no layer lines for an image it has
	}
	var up *unpacker
	if o.unpack != nil && !o.allPlatforms && layout.IsManifest(img.desc.MediaType) {
		if up, err = s.newUnpacker(ctx, f, t.repo, img, o, rep); err != nil {
			return PullResult{}, err
		}
	}
	tctx := ctx
	if up != nil {
		tctx = up.ctx // a failed unpack stops the downloads
	}
	err = transfer(tctx, o, rep, blobs, StatusWaiting, func(ctx context.Context, b blobRef) error {
		if up != nil && b.layer {
			b.stream = up.stream // unpack it while it downloads, if a slot is free
		}
		if err := s.fetchBlob(ctx, f, t.repo, b, o, rep); err != nil {
			return err
		}
		if up != nil && b.layer {
			up.start(b.desc.Digest) // unpack it while the rest downloads
		}
		return nil
	})
	if up != nil {
		if err != nil {
			up.cancel()
		}
		if uerr := up.wait(); uerr != nil && (err == nil || !errors.Is(uerr, context.Canceled) || ctx.Err() != nil) {
			err = uerr
		}
	}
	if err != nil {
		return PullResult{}, err
	}
	for _, n := range nodes { // children before the index that lists them
		if err := s.store.Put(ctx, n.desc, bytes.NewReader(n.body)); err != nil {
			return PullResult{}, err
		}
	}
	if err := s.recordSource(ctx, t.host, t.repo, nodes, blobs); err != nil {
		return PullResult{}, err
	}
	if !res.UpToDate {
		if err := s.store.Tag(ctx, res.Name, res.Image); err != nil {
			return PullResult{}, err
		}
	}
	for _, b := range blobs {
		if b.layer {
			rep.send(b.desc.Digest, b.desc.Size, StatusPullComplete)
		}
	}
	return res, nil
}

// tagDescriptor is d as index.json keeps it: media type, digest, size and
// platform.
func tagDescriptor(d ocispec.Descriptor) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: d.MediaType, Digest: d.Digest, Size: d.Size, Platform: d.Platform}
}

// resolveRemote finds what t names at the registry. A HEAD comes first:
// when the store already holds that manifest it is not downloaded again.
func (s *Service) resolveRemote(ctx context.Context, f Fetcher, t target) (node, error) {
	d, err := f.HeadManifest(ctx, t.repo, t.ref)
	if err != nil || d.Digest == "" {
		return remoteManifest(ctx, f, t.repo, t.ref)
	}
	if !layout.IsIndex(d.MediaType) && !layout.IsManifest(d.MediaType) {
		d.MediaType = ""
	}
	if n, err := s.localNode(ctx, d); err == nil && verifyBody(d, n.body) == nil {
		return n, checkMediaType(n.desc.MediaType, n.desc.Digest)
	}
	return remoteManifest(ctx, f, t.repo, d.Digest.String())
}

// child returns manifest d of an index, from the store when it has it.
func (s *Service) child(ctx context.Context, f Fetcher, repo string, d ocispec.Descriptor) (node, error) {
	if n, err := s.localNode(ctx, d); err == nil && verifyBody(d, n.body) == nil {
		return n, checkMediaType(n.desc.MediaType, d.Digest)
	}
	return remoteChild(ctx, f, repo, d)
}

// remoteTree returns the manifests to store, children before the index
// that lists them, and the one to tag.
func (s *Service) remoteTree(ctx context.Context, f Fetcher, repo string, top node, o *options) ([]node, node, error) {
	want := HostPlatform()
	if o.platform != nil {
		want = *o.platform
	}
	var pick *ocispec.Platform
	if !o.allPlatforms {
		pick = &want
	}
	child := func(ctx context.Context, d ocispec.Descriptor) (node, error) { return s.child(ctx, f, repo, d) }
	return manifestTree(ctx, child, top, pick)
}

// manifestTree returns the manifests under top, children before the
// index that lists them, and the one a name should point at: with pick
// set, only that platform's manifest of an index (and the name points at
// it), else everything (and the name points at top). child fetches a
// manifest an index lists.
func manifestTree(ctx context.Context, child func(context.Context, ocispec.Descriptor) (node, error), top node, pick *ocispec.Platform) ([]node, node, error) {
	if layout.IsManifest(top.desc.MediaType) {
		return []node{top}, top, nil
	}
	idx, err := parseIndex(top)
	if err != nil {
		return nil, node{}, err
	}
	if pick != nil {
		d, err := pickManifest(idx, *pick)
		if err != nil {
			return nil, node{}, err
		}
		n, err := child(ctx, d)
		if err != nil {
			return nil, node{}, err
		}
		if !layout.IsManifest(n.desc.MediaType) {
			return nil, node{}, fmt.Errorf("index %s: %s for %s is a nested index: %w", top.desc.Digest, d.Digest, FormatPlatform(*pick), ErrUnsupported)
		}
		return []node{n}, n, nil
	}
	var nodes []node
	for _, d := range idx.Manifests {
		n, err := child(ctx, d)
		if err != nil {
			return nil, node{}, err
		}
		if layout.IsIndex(n.desc.MediaType) {
			sub, _, err := manifestTree(ctx, child, n, nil)
			if err != nil {
				return nil, node{}, err
			}
			nodes = append(nodes, sub...)
			continue
		}
		nodes = append(nodes, n)
	}
	return append(nodes, top), top, nil
}

// imageBlobs returns the configs and layers of the image manifests among
// nodes, each once.
func imageBlobs(nodes []node) ([]blobRef, error) {
	var out []blobRef
	seen := map[digest.Digest]bool{}
	for _, n := range nodes {
		if !layout.IsManifest(n.desc.MediaType) {
			continue
		}
		m, err := parseManifest(n)
		if err != nil {
			return nil, err
		}
		for i, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
			if !seen[d.Digest] {
				seen[d.Digest] = true
				out = append(out, blobRef{desc: d, layer: i > 0})
			}
		}
	}
	return out, nil
}

// sourceLabel is the label key listing the repositories of registry host
// a blob is known to be in (comma-separated), for cross-repository mounts.
func sourceLabel(host string) string { return "berth.source." + host }

// recordSource notes that the blobs and manifests are in repo at host.
func (s *Service) recordSource(ctx context.Context, host, repo string, nodes []node, blobs []blobRef) error {
	var ds []digest.Digest
	for _, n := range nodes {
		ds = append(ds, n.desc.Digest)
	}
	for _, b := range blobs {
		ds = append(ds, b.desc.Digest)
	}
	key := sourceLabel(host)
	return s.store.UpdateLabels(ctx, ds, func(_ digest.Digest, m map[string]string) {
		var repos []string
		if m[key] != "" {
			repos = strings.Split(m[key], ",")
		}
		if !slices.Contains(repos, repo) {
			repos = append(repos, repo)
			slices.Sort(repos)
			m[key] = strings.Join(repos, ",")
		}
	})
}

// sources returns the repositories of host blob d is known to be in.
func (s *Service) sources(ctx context.Context, host string, d digest.Digest) []string {
	m, err := s.store.Labels(ctx, d)
	if err != nil || m[sourceLabel(host)] == "" {
		return nil
	}
	return strings.Split(m[sourceLabel(host)], ",")
}

// isMismatch reports whether err means content did not match its digest.
func isMismatch(err error) bool { return errors.Is(err, ErrDigestMismatch) }
