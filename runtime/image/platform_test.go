package image

import (
	"errors"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestPickManifestErrors(t *testing.T) {
	amd64 := ocispec.Platform{OS: "linux", Architecture: "amd64"}
	tests := []struct {
		name  string
		index ocispec.Index
		want  string
	}{
		{"other platforms", ocispec.Index{Manifests: []ocispec.Descriptor{
			{Digest: "sha256:a", Platform: &ocispec.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}},
			{Digest: "sha256:b", Platform: &ocispec.Platform{OS: "linux", Architecture: "s390x"}},
		}}, "no matching manifest for platform linux/amd64 (the index has linux/arm64/v8, linux/s390x)"},
		{"no platforms named", ocispec.Index{Manifests: []ocispec.Descriptor{{Digest: "sha256:a"}, {Digest: "sha256:b"}}},
			"no matching manifest for platform linux/amd64 (none of the index's 2 manifests names its platform)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := pickManifest(tt.index, amd64)
			if !errors.Is(err, ErrPlatform) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q (matching ErrPlatform)", err, tt.want)
			}
		})
	}
}
