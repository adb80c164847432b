package image

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/berthhq/berth/storage/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// node is a manifest or an index with its body.
type node struct {
	desc ocispec.Descriptor
	body []byte
}

// checkMediaType refuses what is neither an image manifest nor an index.
func checkMediaType(mt string, d digest.Digest) error {
	if layout.IsIndex(mt) || layout.IsManifest(mt) {
		return nil
	}
	if mt == "" {
		mt = "no media type"
	}
	return fmt.Errorf("%s (%s): %w: want an image manifest or index", d, mt, ErrUnsupported)
}

// parseIndex decodes an index body.
func parseIndex(n node) (ocispec.Index, error) {
	var idx ocispec.Index
	if err := json.Unmarshal(n.body, &idx); err != nil {
		return idx, fmt.Errorf("index %s is not valid JSON: %w", n.desc.Digest, err)
	}
	return idx, nil
}

// parseManifest decodes an image manifest body.
func parseManifest(n node) (ocispec.Manifest, error) {
	var m ocispec.Manifest
	if err := json.Unmarshal(n.body, &m); err != nil {
		return m, fmt.Errorf("manifest %s is not valid JSON: %w", n.desc.Digest, err)
	}
	if m.Config.Digest == "" {
		return m, fmt.Errorf("manifest %s: no config: %w", n.desc.Digest, ErrUnsupported)
	}
	return m, nil
}

// verifyBody checks body against d (digest, and size when known).
func verifyBody(d ocispec.Descriptor, body []byte) error {
	if int64(len(body)) != d.Size {
		return fmt.Errorf("%s: %d bytes, want %d: %w", d.Digest, len(body), d.Size, ErrDigestMismatch)
	}
	if !d.Digest.Algorithm().Available() {
		return fmt.Errorf("%s: %w: digest algorithm", d.Digest, ErrUnsupported)
	}
	if got := d.Digest.Algorithm().FromBytes(body); got != d.Digest {
		return fmt.Errorf("%s: content hashes to %s: %w", d.Digest, got, ErrDigestMismatch)
	}
	return nil
}

// remoteManifest fetches manifest ref of repo and checks its digest
// (against ref when it is a digest, else against what the registry
// announced), never trusting the registry's word alone.
func remoteManifest(ctx context.Context, f Fetcher, repo, ref string) (node, error) {
	mt, dgst, body, err := f.GetManifest(ctx, repo, ref)
	if err != nil {
		return node{}, err
	}
	want := dgst
	if d, err := digest.Parse(ref); err == nil {
		want = d
	}
	if want == "" {
		want = digest.FromBytes(body)
	}
	d := ocispec.Descriptor{MediaType: mt, Digest: want, Size: int64(len(body))}
	if err := verifyBody(d, body); err != nil {
		return node{}, fmt.Errorf("manifest %s: %w", ref, err)
	}
	if d.MediaType == "" || d.MediaType == "application/json" || d.MediaType == "application/octet-stream" {
		d.MediaType = layout.DetectMediaType(body)
	}
	if err := checkMediaType(d.MediaType, d.Digest); err != nil {
		return node{}, err
	}
	return node{desc: d, body: body}, nil
}

// remoteChild fetches the manifest d that an index lists and checks it
// against d.
func remoteChild(ctx context.Context, f Fetcher, repo string, d ocispec.Descriptor) (node, error) {
	n, err := remoteManifest(ctx, f, repo, d.Digest.String())
	if err != nil {
		return node{}, err
	}
	if err := verifyBody(d, n.body); err != nil {
		return node{}, err
	}
	n.desc.Platform, n.desc.Annotations = d.Platform, d.Annotations
	if d.MediaType != "" {
		n.desc.MediaType = d.MediaType
	}
	return n, nil
}

// localNode reads manifest or index d from the store.
func (s *Service) localNode(ctx context.Context, d ocispec.Descriptor) (node, error) {
	body, err := s.store.ReadBlob(ctx, d.Digest, layout.MaxManifestSize)
	if err != nil {
		return node{}, err
	}
	if d.MediaType == "" {
		d.MediaType = layout.DetectMediaType(body)
	}
	return node{desc: d, body: body}, nil
}

// localTree returns the stored manifests under root, children before
// the index that lists them, each once. A manifest an index lists that is
// not stored is an ErrIncomplete error.
func (s *Service) localTree(ctx context.Context, root ocispec.Descriptor) ([]node, error) {
	var nodes []node
	seen := map[digest.Digest]bool{}
	var walk func(d ocispec.Descriptor) error
	walk = func(d ocispec.Descriptor) error {
		if seen[d.Digest] {
			return nil
		}
		seen[d.Digest] = true
		n, err := s.localNode(ctx, d)
		if errors.Is(err, layout.ErrBlobUnknown) {
			return fmt.Errorf("manifest %s is not stored (was the image pulled for one platform only?): %w", d.Digest, ErrIncomplete)
		}
		if err != nil {
			return err
		}
		if err := checkMediaType(n.desc.MediaType, d.Digest); err != nil {
			return err
		}
		if layout.IsIndex(n.desc.MediaType) {
			idx, err := parseIndex(n)
			if err != nil {
				return err
			}
			for _, c := range idx.Manifests {
				if err := walk(c); err != nil {
					return err
				}
			}
		}
		nodes = append(nodes, n)
		return nil
	}
	err := walk(root)
	return nodes, err
}
