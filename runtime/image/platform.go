package image

import (
	"fmt"
	"runtime"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// HostPlatform returns the platform this program runs on, the default of
// Pull.
func HostPlatform() ocispec.Platform {
	p := ocispec.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}
	if p.Architecture == "arm" {
		p.Variant = "v7"
	}
	return p
}

// ParsePlatform parses "os/arch[/variant]" ("linux/arm64/v8") as docker's
// --platform flag takes it.
func ParsePlatform(s string) (ocispec.Platform, error) {
	parts := strings.Split(strings.ToLower(s), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return ocispec.Platform{}, fmt.Errorf("invalid platform %q: want os/arch[/variant]", s)
	}
	p := ocispec.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		if parts[2] == "" {
			return ocispec.Platform{}, fmt.Errorf("invalid platform %q: empty variant", s)
		}
		p.Variant = parts[2]
	}
	return p, nil
}

// FormatPlatform returns "os/arch[/variant]".
func FormatPlatform(p ocispec.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// variant returns p's variant with the defaults docker assumes filled in.
func variant(p ocispec.Platform) string {
	switch {
	case p.Variant != "":
		return p.Variant
	case p.Architecture == "arm64":
		return "v8"
	case p.Architecture == "arm":
		return "v7"
	}
	return ""
}

// matchPlatform reports whether have satisfies want: same OS and
// architecture, and the same variant when want names one.
func matchPlatform(want, have ocispec.Platform) bool {
	if !strings.EqualFold(want.OS, have.OS) || !strings.EqualFold(want.Architecture, have.Architecture) {
		return false
	}
	return want.Variant == "" || variant(want) == variant(have)
}

// pickManifest returns the manifest of index for platform want: an exact
// variant match first, then any match.
func pickManifest(index ocispec.Index, want ocispec.Platform) (ocispec.Descriptor, error) {
	var found *ocispec.Descriptor
	for i, d := range index.Manifests {
		if d.Platform == nil || !matchPlatform(want, *d.Platform) {
			continue
		}
		if variant(*d.Platform) == variant(want) {
			return d, nil
		}
		if found == nil {
			found = &index.Manifests[i]
		}
	}
	if found != nil {
		return *found, nil
	}
	var have []string
	for _, d := range index.Manifests {
		if d.Platform != nil {
			have = append(have, FormatPlatform(*d.Platform))
		}
	}
	if len(have) == 0 {
		return ocispec.Descriptor{}, fmt.Errorf("%w %s (none of the index's %d manifests names its platform)", ErrPlatform, FormatPlatform(want), len(index.Manifests))
	}
	return ocispec.Descriptor{}, fmt.Errorf("%w %s (the index has %s)", ErrPlatform, FormatPlatform(want), strings.Join(have, ", "))
}
