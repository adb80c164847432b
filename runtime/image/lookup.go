package image

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/berthhq/berth/storage/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxConfigSize bounds the image configs read for listing and inspecting.
const maxConfigSize = 8 << 20

// entry is one name of index.json with what it points at.
type entry struct {
	name string
	desc ocispec.Descriptor
}

// entries returns every named entry of the store.
func (s *Service) entries(ctx context.Context) ([]entry, error) {
	all, err := s.store.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(all))
	for _, d := range all {
		if n := d.Annotations[ocispec.AnnotationRefName]; n != "" {
			out = append(out, entry{name: n, desc: d})
		}
	}
	return out, nil
}

// lookup finds the image ref names: a name (normalised) or an image ID or
// digest, whole or a prefix of at least 4 hex digits (with or without
// "sha256:"). It returns the image's descriptor and the names pointing at
// it, with byName set when ref was a name. No match is ErrNotFound;
// a prefix matching several images is ErrAmbiguous.
func (s *Service) lookup(ctx context.Context, ref string) (desc ocispec.Descriptor, names []string, byName bool, err error) {
	all, err := s.entries(ctx)
	if err != nil {
		return ocispec.Descriptor{}, nil, false, err
	}
	if t, perr := parseTarget(ref); perr == nil {
		for _, e := range all {
			if e.name == t.String() {
				return e.desc, []string{e.name}, true, nil
			}
		}
	}
	hex := strings.TrimPrefix(strings.ToLower(ref), "sha256:")
	if len(hex) < 4 || strings.Trim(hex, "0123456789abcdef") != "" {
		return ocispec.Descriptor{}, nil, false, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	var found *ocispec.Descriptor
	for _, e := range all {
		id, _ := s.imageID(ctx, e.desc)
		if !strings.HasPrefix(id.Encoded(), hex) && !strings.HasPrefix(e.desc.Digest.Encoded(), hex) {
			continue
		}
		if found != nil && found.Digest != e.desc.Digest {
			return ocispec.Descriptor{}, nil, false, fmt.Errorf("%w: %s", ErrAmbiguous, ref)
		}
		d := e.desc
		found = &d
		names = append(names, e.name)
	}
	if found == nil {
		return ocispec.Descriptor{}, nil, false, fmt.Errorf("%w: %s", ErrNotFound, ref)
	}
	return *found, names, false, nil
}

// imageID returns the ID docker shows for d: a manifest's config digest,
// or an index's own digest.
func (s *Service) imageID(ctx context.Context, d ocispec.Descriptor) (digest.Digest, error) {
	if layout.IsIndex(d.MediaType) {
		return d.Digest, nil
	}
	n, err := s.localNode(ctx, d)
	if err != nil {
		return "", err
	}
	m, err := parseManifest(n)
	if err != nil {
		return "", err
	}
	return m.Config.Digest, nil
}

// platformManifest returns the image manifest d stands for: d itself, or
// for an index the stored manifest for the host's platform (else the
// first stored one).
func (s *Service) platformManifest(ctx context.Context, d ocispec.Descriptor) (node, error) {
	n, err := s.localNode(ctx, d)
	if err != nil {
		return node{}, err
	}
	if layout.IsManifest(n.desc.MediaType) {
		return n, nil
	}
	if !layout.IsIndex(n.desc.MediaType) {
		return node{}, checkMediaType(n.desc.MediaType, d.Digest)
	}
	idx, err := parseIndex(n)
	if err != nil {
		return node{}, err
	}
	var stored []ocispec.Descriptor
	for _, c := range idx.Manifests {
		if ok, _ := s.store.Has(ctx, c.Digest); ok && layout.IsManifest(c.MediaType) {
			stored = append(stored, c)
		}
	}
	if len(stored) == 0 {
		return node{}, fmt.Errorf("index %s: no manifest stored: %w", d.Digest, ErrIncomplete)
	}
	pick := stored[0]
	if c, err := pickManifest(ocispec.Index{Manifests: stored}, HostPlatform()); err == nil {
		pick = c
	}
	return s.localNode(ctx, pick)
}

// config reads and decodes the config of manifest n.
func (s *Service) config(ctx context.Context, n node) (ocispec.Manifest, ocispec.Image, []byte, error) {
	m, err := parseManifest(n)
	if err != nil {
		return m, ocispec.Image{}, nil, err
	}
	raw, err := s.store.ReadBlob(ctx, m.Config.Digest, maxConfigSize)
	if err != nil {
		return m, ocispec.Image{}, nil, err
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return m, ocispec.Image{}, nil, fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	return m, cfg, raw, nil
}
