package storage

import (
	"encoding/json"
	"fmt"
	"mime"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Manifest media types the store accepts.
const (
	MediaTypeOCIManifest    = v1.MediaTypeImageManifest
	MediaTypeOCIIndex       = v1.MediaTypeImageIndex
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// MaxManifestSize is the largest manifest accepted, as in registry:2 and
// the distribution spec's recommendation.
const MaxManifestSize = 4 << 20

// manifestInfo is what the store needs to know of a manifest: its type, the
// content it references and how it appears in a referrers list.
type manifestInfo struct {
	MediaType    string
	ArtifactType string
	Blobs        []v1.Descriptor // config and layers
	Children     []v1.Descriptor // index entries
	Subject      *v1.Descriptor
	Annotations  map[string]string
}

// rawManifest covers the fields of all four manifest kinds.
type rawManifest struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *v1.Descriptor    `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Manifests     []v1.Descriptor   `json:"manifests"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// parseManifest validates content as a manifest sent with the Content-Type
// contentType (which may be empty) and describes it. Every failure wraps
// ErrManifestInvalid.
func parseManifest(contentType string, content []byte) (*manifestInfo, error) {
	var m rawManifest
	if err := json.Unmarshal(content, &m); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrManifestInvalid, err)
	}
	if m.SchemaVersion == nil || *m.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: schemaVersion must be 2", ErrManifestInvalid)
	}
	mt, err := resolveMediaType(contentType, &m)
	if err != nil {
		return nil, err
	}
	info := &manifestInfo{MediaType: mt, ArtifactType: m.ArtifactType, Subject: m.Subject, Annotations: m.Annotations}
	switch mt {
	case MediaTypeOCIManifest, MediaTypeDockerManifest:
		if m.Config == nil {
			return nil, fmt.Errorf("%w: image manifest without config", ErrManifestInvalid)
		}
		if m.Manifests != nil {
			return nil, fmt.Errorf("%w: image manifest with manifests", ErrManifestInvalid)
		}
		if info.ArtifactType == "" && mt == MediaTypeOCIManifest {
			info.ArtifactType = m.Config.MediaType
		}
		info.Blobs = append([]v1.Descriptor{*m.Config}, m.Layers...)
	case MediaTypeOCIIndex, MediaTypeDockerList:
		if m.Config != nil || m.Layers != nil {
			return nil, fmt.Errorf("%w: index with config or layers", ErrManifestInvalid)
		}
		if m.Manifests == nil {
			return nil, fmt.Errorf("%w: index without manifests", ErrManifestInvalid)
		}
		info.Children = m.Manifests
	}
	for _, set := range [][]v1.Descriptor{info.Blobs, info.Children} {
		for _, d := range set {
			if err := checkDescriptor(d); err != nil {
				return nil, err
			}
		}
	}
	if m.Subject != nil {
		if err := checkDescriptor(*m.Subject); err != nil {
			return nil, fmt.Errorf("subject: %w", err)
		}
	}
	return info, nil
}

// resolveMediaType settles a manifest's type from the request's
// Content-Type and the body's mediaType field, which must agree when both
// are present. OCI manifests may omit the field; their kind is then told by
// their shape.
func resolveMediaType(contentType string, m *rawManifest) (string, error) {
	ct := ""
	if contentType != "" {
		parsed, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			return "", fmt.Errorf("%w: %q", ErrUnsupportedMediaType, contentType)
		}
		ct = parsed
	}
	switch ct {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerList:
		if m.MediaType != "" && m.MediaType != ct {
			return "", fmt.Errorf("%w: Content-Type %s but mediaType %s", ErrManifestInvalid, ct, m.MediaType)
		}
	case "", "application/json":
		ct = m.MediaType
		if ct == "" {
			ct = MediaTypeOCIManifest
			if m.Manifests != nil {
				ct = MediaTypeOCIIndex
			}
		}
		if !knownManifestType(ct) {
			return "", fmt.Errorf("%w: %q", ErrUnsupportedMediaType, ct)
		}
	default:
		return "", fmt.Errorf("%w: %q", ErrUnsupportedMediaType, ct)
	}
	if (ct == MediaTypeDockerManifest || ct == MediaTypeDockerList) && m.MediaType != ct {
		return "", fmt.Errorf("%w: docker manifest without mediaType %s", ErrManifestInvalid, ct)
	}
	return ct, nil
}

func knownManifestType(mt string) bool {
	switch mt {
	case MediaTypeOCIManifest, MediaTypeOCIIndex, MediaTypeDockerManifest, MediaTypeDockerList:
		return true
	}
	return false
}

// detectMediaType tells the type of a stored manifest, which registry:2
// keeps no record of beyond the content itself.
func detectMediaType(content []byte) string {
	var m rawManifest
	if json.Unmarshal(content, &m) != nil {
		return MediaTypeOCIManifest
	}
	if m.MediaType != "" {
		return m.MediaType
	}
	if m.Manifests != nil {
		return MediaTypeOCIIndex
	}
	return MediaTypeOCIManifest
}

func checkDescriptor(d v1.Descriptor) error {
	if err := d.Digest.Validate(); err != nil {
		return fmt.Errorf("%w: descriptor digest %q: %v", ErrManifestInvalid, d.Digest, err)
	}
	if d.Size < 0 {
		return fmt.Errorf("%w: descriptor %s has negative size", ErrManifestInvalid, d.Digest)
	}
	if d.MediaType == "" {
		return fmt.Errorf("%w: descriptor %s has no mediaType", ErrManifestInvalid, d.Digest)
	}
	return nil
}

// digestOf computes the digest of content under the algorithm alg.
func digestOf(alg digest.Algorithm, content []byte) digest.Digest {
	return alg.FromBytes(content)
}
