package image

import (
	"fmt"

	"github.com/distribution/reference"
)

// ParseReference normalises an image reference as docker does: "busybox"
// is docker.io/library/busybox:latest, "team/app@sha256:..." keeps its
// digest. The result's String() is the full form the store keeps.
func ParseReference(s string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, fmt.Errorf("invalid reference %q: %w", s, err)
	}
	return reference.TagNameOnly(named), nil
}

// target is a normalised reference split into what a registry needs.
type target struct {
	named reference.Named
	host  string // reference.Domain: "docker.io", "127.0.0.1:5000"
	repo  string // reference.Path: "library/busybox"
	ref   string // the digest when there is one, else the tag
}

// parseTarget normalises s into a target.
func parseTarget(s string) (target, error) {
	named, err := ParseReference(s)
	if err != nil {
		return target{}, err
	}
	t := target{named: named, host: reference.Domain(named), repo: reference.Path(named)}
	switch r := named.(type) {
	case reference.Digested:
		t.ref = r.Digest().String()
	case reference.Tagged:
		t.ref = r.Tag()
	}
	return t, nil
}

// String returns the full reference.
func (t target) String() string { return t.named.String() }
