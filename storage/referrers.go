package storage

import (
	"context"
	"errors"
	"sort"

	"github.com/berthhq/berth/storage/driver"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Referrers lists the manifests in the repository whose subject is subject,
// as descriptors carrying their artifactType and annotations, ordered by
// digest. With artifactType set only those of that type are returned. An
// unknown subject has no referrers; that is not an error.
func (r *Repository) Referrers(ctx context.Context, subject digest.Digest, artifactType string) ([]v1.Descriptor, error) {
	if err := checkDigest(subject); err != nil {
		return nil, err
	}
	out := []v1.Descriptor{}
	algs, err := r.s.d.List(ctx, referrersPath(r.name, subject))
	if errors.Is(err, driver.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, algDir := range algs {
		dirs, err := r.s.d.List(ctx, algDir)
		if err != nil && !errors.Is(err, driver.ErrNotFound) {
			return nil, err
		}
		for _, dir := range dirs {
			d, err := r.s.readLink(ctx, dir+"/link")
			if errors.Is(err, driver.ErrNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			desc, err := r.referrerDescriptor(ctx, d)
			if errors.Is(err, ErrManifestUnknown) {
				continue // deleted since; its link goes with the next delete
			}
			if err != nil {
				return nil, err
			}
			if artifactType == "" || desc.ArtifactType == artifactType {
				out = append(out, desc)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Digest < out[j].Digest })
	return out, nil
}

func (r *Repository) referrerDescriptor(ctx context.Context, d digest.Digest) (v1.Descriptor, error) {
	if err := r.checkRevision(ctx, d); err != nil {
		return v1.Descriptor{}, err
	}
	if m, ok := r.s.meta.get(d); ok {
		return m.descriptor(d), nil
	}
	m, err := r.readManifest(ctx, d)
	return m.Descriptor, err
}
