package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/berthhq/berth/storage/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Loaded is one image Load stored.
type Loaded struct {
	// Name is the full reference it was tagged with; "" for an image the
	// archive gives no name (it stays until the next Prune).
	Name       string
	Descriptor ocispec.Descriptor
}

// Load reads an image archive from r (plain or gzip-compressed tar) into
// the store and tags its images. It takes:
//
//   - OCI image layouts (index.json, blobs/), as `ctl save`, docker 25+
//     and OCI tools write them. Names come from each index.json entry's
//     io.containerd.image.name annotation, else its
//     org.opencontainers.image.ref.name when that is a full reference,
//     else from manifest.json's RepoTags for the same config;
//   - docker's older format (manifest.json, <id>/layer.tar, <id>.json);
//     a manifest is built for each entry, its layers checked against the
//     config's diff IDs.
//
// Every entry name is checked (no absolute path, no ".."; links stay
// inside the archive) and nothing is written outside the store: content
// goes in by digest, blobs named by digest are checked against it, and an
// image is tagged only when everything it references is stored. A bad
// archive fails with an error matching ErrInvalidArchive (or
// ErrDigestMismatch) and tags nothing.
func (s *Service) Load(ctx context.Context, r io.Reader) ([]Loaded, error) {
	release, err := s.store.Lease(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	a, err := s.readArchive(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	var images []Loaded
	if _, ok := a.meta[ocispec.ImageIndexFile]; ok {
		images, err = s.loadLayout(ctx, a)
	} else if _, ok := a.meta["manifest.json"]; ok {
		images, err = s.loadDocker(ctx, a)
	} else {
		err = fmt.Errorf("%w: neither index.json nor manifest.json", ErrInvalidArchive)
	}
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	for _, im := range images {
		if err := s.checkComplete(ctx, im.Descriptor); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	for _, im := range images {
		if im.Name == "" {
			continue
		}
		if err := s.store.Tag(ctx, im.Name, tagDescriptor(im.Descriptor)); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	return images, nil
}

// loadLayout takes the images of an OCI layout's index.json.
func (s *Service) loadLayout(ctx context.Context, a *archive) ([]Loaded, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(a.meta[ocispec.ImageIndexFile], &idx); err != nil {
		return nil, fmt.Errorf("%w: index.json: %v", ErrInvalidArchive, err)
	}
	var dm []dockerManifest
	if b, ok := a.meta["manifest.json"]; ok {
		_ = json.Unmarshal(b, &dm) // only a source of names here
	}
	var out []Loaded
	for _, d := range idx.Manifests {
		n, err := s.localNode(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("%w: index.json lists %s: %w", ErrInvalidArchive, d.Digest, err)
		}
		if err := verifyBody(d, n.body); err != nil {
			return nil, fmt.Errorf("%w: index.json: %w", ErrInvalidArchive, err)
		}
		if err := checkMediaType(n.desc.MediaType, d.Digest); err != nil {
			return nil, err
		}
		names, err := s.layoutNames(ctx, n, dm)
		if err != nil {
			return nil, err
		}
		desc := tagDescriptor(n.desc)
		if len(names) == 0 {
			out = append(out, Loaded{Descriptor: desc})
		}
		for _, name := range names {
			out = append(out, Loaded{Name: name, Descriptor: desc})
		}
	}
	return out, nil
}

// layoutNames returns the full names of index.json entry n.
func (s *Service) layoutNames(ctx context.Context, n node, dm []dockerManifest) ([]string, error) {
	for _, key := range []string{annotationImageName, ocispec.AnnotationRefName} {
		v := n.desc.Annotations[key]
		if v == "" || (key == ocispec.AnnotationRefName && !strings.ContainsAny(v, "/:@")) {
			continue // a bare ref.name is a tag without a repository
		}
		t, err := parseTarget(v)
		if err != nil {
			return nil, fmt.Errorf("%w: index.json names %s %q: %v", ErrInvalidArchive, key, v, err)
		}
		return []string{t.String()}, nil
	}
	if len(dm) == 0 {
		return nil, nil
	}
	pm, err := s.platformManifest(ctx, n.desc)
	if err != nil {
		return nil, nil
	}
	m, err := parseManifest(pm)
	if err != nil {
		return nil, nil
	}
	var names []string
	for _, e := range dm {
		if e.Config == blobName(m.Config.Digest) {
			for _, rt := range e.RepoTags {
				t, err := parseTarget(rt)
				if err != nil {
					return nil, fmt.Errorf("%w: manifest.json RepoTags %q: %v", ErrInvalidArchive, rt, err)
				}
				names = appendNew(names, t.String())
			}
		}
	}
	return names, nil
}

// checkComplete checks that everything image d references is stored
// (an index may lack manifests, as in archives of one platform's image).
func (s *Service) checkComplete(ctx context.Context, d ocispec.Descriptor) error {
	return s.store.Walk(ctx, []ocispec.Descriptor{d}, func(c, parent ocispec.Descriptor) error {
		size, err := s.store.Stat(ctx, c.Digest)
		if errors.Is(err, layout.ErrBlobUnknown) && layout.IsIndex(parent.MediaType) {
			return nil
		}
		if errors.Is(err, layout.ErrBlobUnknown) {
			return fmt.Errorf("%w: %s references %s, which the archive lacks", ErrInvalidArchive, parent.Digest, c.Digest)
		}
		if err != nil {
			return err
		}
		if size != c.Size {
			return fmt.Errorf("%w: %s is %d bytes, %s says %d", ErrDigestMismatch, c.Digest, size, parent.Digest, c.Size)
		}
		return nil
	})
}

// digestOfName returns the digest a file name like "<hex>.json" or
// "sha256:<hex>" implies, if any.
func digestOfName(name string) (digest.Digest, bool) {
	base := name[strings.LastIndex(name, "/")+1:]
	base = strings.TrimSuffix(base, ".json")
	if d, err := digest.Parse(base); err == nil {
		return d, true
	}
	d := digest.NewDigestFromEncoded(digest.SHA256, base)
	return d, d.Validate() == nil
}
