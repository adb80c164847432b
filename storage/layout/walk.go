package layout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's manifest media types, which layouts written by docker and
// registries still hold beside the OCI ones.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// MaxManifestSize bounds the manifests and indexes the layout reads.
const MaxManifestSize = 4 << 20

// IsIndex reports whether mediaType is an image index (OCI or docker).
func IsIndex(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageIndex || mediaType == MediaTypeDockerManifestList
}

// IsManifest reports whether mediaType is an image manifest (OCI or
// docker).
func IsManifest(mediaType string) bool {
	return mediaType == ocispec.MediaTypeImageManifest || mediaType == MediaTypeDockerManifest
}

// document is what Children reads of a manifest or an index.
type document struct {
	MediaType string               `json:"mediaType"`
	Config    *ocispec.Descriptor  `json:"config"`
	Layers    []ocispec.Descriptor `json:"layers"`
	Manifests []ocispec.Descriptor `json:"manifests"`
}

// DetectMediaType returns the media type of a manifest or index body: its
// mediaType field, else what its fields say (manifests -> OCI index,
// config -> OCI manifest), else "".
func DetectMediaType(body []byte) string {
	var doc document
	if json.Unmarshal(body, &doc) != nil {
		return ""
	}
	switch {
	case doc.MediaType != "":
		return doc.MediaType
	case doc.Manifests != nil:
		return ocispec.MediaTypeImageIndex
	case doc.Config != nil:
		return ocispec.MediaTypeImageManifest
	}
	return ""
}

// Children returns what a manifest (config, then layers) or an index
// (manifests) of the given media type references; nil for other media
// types (configs, layers: leaves). An empty mediaType is detected from
// body. A body that does not parse is an error.
func Children(mediaType string, body []byte) ([]ocispec.Descriptor, error) {
	if mediaType == "" {
		mediaType = DetectMediaType(body)
	}
	if !IsIndex(mediaType) && !IsManifest(mediaType) {
		return nil, nil
	}
	var doc document
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, mediaType, err)
	}
	if IsIndex(mediaType) {
		return doc.Manifests, nil
	}
	if doc.Config == nil {
		return nil, fmt.Errorf("%w: %s without config", ErrInvalid, mediaType)
	}
	return append([]ocispec.Descriptor{*doc.Config}, doc.Layers...), nil
}

// WalkFunc is called by Walk for each descriptor, with the manifest or
// index that references it (a zero parent for the roots).
type WalkFunc func(desc, parent ocispec.Descriptor) error

// Walk calls fn for each of roots and, depth first, for everything the
// stored manifests and indexes among them reference; each digest once.
// A manifest or index that is not stored is passed to fn and not
// descended into; fn decides whether that is an error.
func (l *Layout) Walk(ctx context.Context, roots []ocispec.Descriptor, fn WalkFunc) error {
	seen := digestSet{}
	var walk func(d, parent ocispec.Descriptor) error
	walk = func(d, parent ocispec.Descriptor) error {
		if seen[d.Digest] {
			return nil
		}
		seen[d.Digest] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(d, parent); err != nil {
			return err
		}
		if !IsIndex(d.MediaType) && !IsManifest(d.MediaType) &&
			(d.MediaType != "" || d.Size > MaxManifestSize) {
			return nil
		}
		body, err := l.ReadBlob(ctx, d.Digest, MaxManifestSize)
		if errors.Is(err, ErrBlobUnknown) {
			return nil
		}
		if err != nil {
			return err
		}
		children, err := Children(d.MediaType, body)
		if err != nil {
			return fmt.Errorf("%s %s: %w", d.MediaType, d.Digest, err)
		}
		for _, c := range children {
			if err := walk(c, d); err != nil {
				return err
			}
		}
		return nil
	}
	for _, r := range roots {
		if err := walk(r, ocispec.Descriptor{}); err != nil {
			return err
		}
	}
	return nil
}
