package storage

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/berthhq/berth/storage/driver"
	"github.com/opencontainers/go-digest"
)

// nameRegexp is the repository name grammar of the OCI distribution spec.
var nameRegexp = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// tagRegexp is the tag grammar of the OCI distribution spec.
var tagRegexp = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)

// MaxNameLength bounds repository names, as docker and registry:2 do.
const MaxNameLength = 255

// ValidName reports whether name is a valid repository name.
func ValidName(name string) bool {
	return len(name) <= MaxNameLength && nameRegexp.MatchString(name)
}

// ValidTag reports whether tag is a valid tag.
func ValidTag(tag string) bool { return tagRegexp.MatchString(tag) }

// Repository is one repository's view of the store.
type Repository struct {
	s    *Store
	name string
}

// Repository returns the repository called name, which need not exist yet.
// It fails with ErrNameInvalid for names outside the spec's grammar.
func (s *Store) Repository(name string) (*Repository, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("%w: %q", ErrNameInvalid, name)
	}
	return &Repository{s: s, name: name}, nil
}

// Name returns the repository's name.
func (r *Repository) Name() string { return r.name }

// Exists reports whether the repository has manifests or blobs of its own
// (a directory that only holds nested repositories is not one).
func (r *Repository) Exists(ctx context.Context) (bool, error) {
	for _, p := range []string{manifestsPath(r.name), layersPath(r.name)} {
		_, err := r.s.d.Stat(ctx, p)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, driver.ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}

// checkDigest rejects digests with unknown or unavailable algorithms or a
// malformed encoded part.
func checkDigest(d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("%w: %q: %v", ErrDigestInvalid, d, err)
	}
	return nil
}

// readLink returns the digest stored in the link file at p, or an error
// wrapping driver.ErrNotFound.
func (s *Store) readLink(ctx context.Context, p string) (digest.Digest, error) {
	b, err := s.d.GetContent(ctx, p)
	if err != nil {
		return "", err
	}
	d := digest.Digest(strings.TrimSpace(string(b)))
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("corrupt link %s: %w", p, err)
	}
	return d, nil
}

// writeLink stores d in the link file at p.
func (s *Store) writeLink(ctx context.Context, p string, d digest.Digest) error {
	return s.d.PutContent(ctx, p, []byte(d))
}

// hasLink reports whether the link file at p exists and names d.
func (s *Store) hasLink(ctx context.Context, p string, d digest.Digest) (bool, error) {
	got, err := s.readLink(ctx, p)
	if errors.Is(err, driver.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return got == d, nil
}
