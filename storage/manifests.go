package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"strings"

	"github.com/berthhq/berth/storage/driver"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest is a stored manifest: its descriptor, its exact bytes and the
// digest of its subject when it has one.
type Manifest struct {
	Descriptor v1.Descriptor
	Content    []byte
	Subject    digest.Digest
}

// ParseReference splits a manifest reference into a tag or a digest. It
// fails with ErrDigestInvalid or ErrTagInvalid.
func ParseReference(ref string) (tag string, d digest.Digest, err error) {
	if strings.Contains(ref, ":") {
		d, err := digest.Parse(ref)
		if err != nil {
			return "", "", fmt.Errorf("%w: %q: %v", ErrDigestInvalid, ref, err)
		}
		return "", d, nil
	}
	if !ValidTag(ref) {
		return "", "", fmt.Errorf("%w: %q", ErrTagInvalid, ref)
	}
	return ref, "", nil
}

// PutManifest stores content, sent with the given Content-Type, under ref (a
// tag or a digest). Every blob and child manifest it references must already
// be in the repository (ErrManifestBlobUnknown), except layers with foreign
// URLs. A digest ref must match the content (ErrDigestInvalid). Tags are
// moved last, so a reader sees the old or the new manifest, whole.
func (r *Repository) PutManifest(ctx context.Context, ref, contentType string, content []byte) (Manifest, error) {
	tag, want, err := ParseReference(ref)
	if err != nil {
		return Manifest{}, err
	}
	if len(content) > MaxManifestSize {
		return Manifest{}, fmt.Errorf("%w: larger than %d bytes", ErrManifestInvalid, MaxManifestSize)
	}
	d := digestOf(digest.SHA256, content)
	if want != "" {
		if d = digestOf(want.Algorithm(), content); d != want {
			return Manifest{}, fmt.Errorf("%w: content is %s, not %s", ErrDigestMismatch, d, want)
		}
	}
	info, err := parseManifest(contentType, content)
	if err != nil {
		return Manifest{}, err
	}
	if err := r.checkReferences(ctx, info); err != nil {
		return Manifest{}, err
	}
	s := r.s
	if _, err := s.d.Stat(ctx, blobDataPath(d)); errors.Is(err, driver.ErrNotFound) {
		if err := s.d.PutContent(ctx, blobDataPath(d), content); err != nil {
			return Manifest{}, err
		}
	} else if err != nil {
		return Manifest{}, err
	}
	if err := s.writeLink(ctx, revisionLinkPath(r.name, d), d); err != nil {
		return Manifest{}, err
	}
	if err := s.indexRepository(ctx, r.name); err != nil {
		return Manifest{}, err
	}
	if info.Subject != nil {
		if err := s.writeLink(ctx, referrerLinkPath(r.name, info.Subject.Digest, d), d); err != nil {
			return Manifest{}, err
		}
	}
	if tag != "" {
		if err := r.tag(ctx, tag, d); err != nil {
			return Manifest{}, err
		}
	}
	meta := metaOf(info, int64(len(content)))
	s.meta.put(d, meta)
	return Manifest{Descriptor: meta.descriptor(d), Content: content, Subject: meta.Subject}, nil
}

// checkReferences fails with ErrManifestBlobUnknown when the repository
// lacks a blob or child manifest that info references.
func (r *Repository) checkReferences(ctx context.Context, info *manifestInfo) error {
	for _, b := range info.Blobs {
		if len(b.URLs) > 0 {
			continue // foreign layer, fetched by clients from its URLs
		}
		if _, err := r.StatBlob(ctx, b.Digest); errors.Is(err, ErrBlobUnknown) {
			return fmt.Errorf("%w: %s", ErrManifestBlobUnknown, b.Digest)
		} else if err != nil {
			return err
		}
	}
	for _, c := range info.Children {
		ok, err := r.s.hasLink(ctx, revisionLinkPath(r.name, c.Digest), c.Digest)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: manifest %s", ErrManifestBlobUnknown, c.Digest)
		}
	}
	return nil
}

// Resolve returns the digest ref names: the digest itself, or what the tag
// points at. Fails with ErrManifestUnknown for an unknown tag.
func (r *Repository) Resolve(ctx context.Context, ref string) (digest.Digest, error) {
	tag, d, err := ParseReference(ref)
	if err != nil || d != "" {
		return d, err
	}
	d, err = r.s.readLink(ctx, tagCurrentLinkPath(r.name, tag))
	if errors.Is(err, driver.ErrNotFound) {
		return "", fmt.Errorf("%w: tag %s in %s", ErrManifestUnknown, tag, r.name)
	}
	return d, err
}

// StatManifest describes the manifest ref names without reading it when its
// description is already known. Fails with ErrManifestUnknown.
func (r *Repository) StatManifest(ctx context.Context, ref string) (v1.Descriptor, error) {
	d, err := r.resolveLinked(ctx, ref)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if m, ok := r.s.meta.get(d); ok {
		return m.descriptor(d), nil
	}
	m, err := r.readManifest(ctx, d)
	return m.Descriptor, err
}

// GetManifest returns the manifest ref names. Fails with ErrManifestUnknown.
func (r *Repository) GetManifest(ctx context.Context, ref string) (Manifest, error) {
	d, err := r.resolveLinked(ctx, ref)
	if err != nil {
		return Manifest{}, err
	}
	return r.readManifest(ctx, d)
}

// resolveLinked resolves ref to a manifest the repository holds. A tag
// read proves that by itself: a manifest's revision link is written before
// any tag points at it, and deleting a manifest removes its tags before its
// revision link, so the revision existed when the tag was read. Only a
// digest needs its revision link read, which saves a storage round trip on
// every pull by tag (an S3 request, with replicas on a bucket).
func (r *Repository) resolveLinked(ctx context.Context, ref string) (digest.Digest, error) {
	tag, d, err := ParseReference(ref)
	if err != nil {
		return "", err
	}
	if tag != "" {
		return r.Resolve(ctx, ref)
	}
	return d, r.checkRevision(ctx, d)
}

func (r *Repository) checkRevision(ctx context.Context, d digest.Digest) error {
	ok, err := r.s.hasLink(ctx, revisionLinkPath(r.name, d), d)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s in %s", ErrManifestUnknown, d, r.name)
	}
	return err
}

// readManifest reads the content of manifest d and records its description.
func (r *Repository) readManifest(ctx context.Context, d digest.Digest) (Manifest, error) {
	content, err := r.s.d.GetContent(ctx, blobDataPath(d))
	if errors.Is(err, driver.ErrNotFound) {
		return Manifest{}, fmt.Errorf("%w: %s: content missing", ErrManifestUnknown, d)
	}
	if err != nil {
		return Manifest{}, err
	}
	meta, ok := r.s.meta.get(d)
	if !ok {
		info, err := parseManifest("", content)
		if err != nil {
			// Stored by another registry with laxer checks: serve it as is.
			info = &manifestInfo{MediaType: detectMediaType(content)}
		}
		meta = metaOf(info, int64(len(content)))
		r.s.meta.put(d, meta)
	}
	return Manifest{Descriptor: meta.descriptor(d), Content: content, Subject: meta.Subject}, nil
}

// DeleteManifest removes manifest d from the repository, with every tag
// that points at it and its entry in its subject's referrers.
func (r *Repository) DeleteManifest(ctx context.Context, d digest.Digest) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	if err := r.checkRevision(ctx, d); err != nil {
		return err
	}
	m, err := r.readManifest(ctx, d)
	if err != nil {
		return err
	}
	tags, err := r.tagsPointingAt(ctx, d)
	if err != nil {
		return err
	}
	for _, t := range tags {
		if err := r.s.d.Delete(ctx, tagPath(r.name, t)); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return err
		}
	}
	if info, err := parseManifest("", m.Content); err == nil && info.Subject != nil {
		p := path.Dir(referrerLinkPath(r.name, info.Subject.Digest, d))
		if err := r.s.d.Delete(ctx, p); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return err
		}
	}
	err = r.s.d.Delete(ctx, path.Dir(revisionLinkPath(r.name, d)))
	if errors.Is(err, driver.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrManifestUnknown, d)
	}
	return err
}

func metaOf(info *manifestInfo, size int64) manifestMeta {
	m := manifestMeta{MediaType: info.MediaType, Size: size, ArtifactType: info.ArtifactType, Annotations: info.Annotations}
	if info.Subject != nil {
		m.Subject = info.Subject.Digest
	}
	return m
}

func (m manifestMeta) descriptor(d digest.Digest) v1.Descriptor {
	return v1.Descriptor{MediaType: m.MediaType, Digest: d, Size: m.Size, ArtifactType: m.ArtifactType, Annotations: maps.Clone(m.Annotations)}
}
