package storage

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"

	"github.com/berthhq/berth/storage/driver"
	"github.com/opencontainers/go-digest"
)

// Tag points tag at the manifest d, which must be in the repository. The
// tag's history entry is written before the current link, as registry:2
// does, so the current link never names a digest missing from the index.
func (r *Repository) Tag(ctx context.Context, tag string, d digest.Digest) error {
	if !ValidTag(tag) {
		return fmt.Errorf("%w: %q", ErrTagInvalid, tag)
	}
	if err := checkDigest(d); err != nil {
		return err
	}
	if err := r.checkRevision(ctx, d); err != nil {
		return err
	}
	return r.tag(ctx, tag, d)
}

// tag writes the links of tag -> d, both already validated.
func (r *Repository) tag(ctx context.Context, tag string, d digest.Digest) error {
	if err := r.s.writeLink(ctx, tagIndexLinkPath(r.name, tag, d), d); err != nil {
		return err
	}
	return r.s.writeLink(ctx, tagCurrentLinkPath(r.name, tag), d)
}

// Untag removes tag, leaving the manifest it pointed at in place. Fails
// with ErrManifestUnknown when there is no such tag.
func (r *Repository) Untag(ctx context.Context, tag string) error {
	if !ValidTag(tag) {
		return fmt.Errorf("%w: %q", ErrTagInvalid, tag)
	}
	err := r.s.d.Delete(ctx, tagPath(r.name, tag))
	if errors.Is(err, driver.ErrNotFound) {
		return fmt.Errorf("%w: tag %s in %s", ErrManifestUnknown, tag, r.name)
	}
	return err
}

// Tags returns up to n of the repository's tags in lexical order, starting
// after last (n < 0: all of them), and whether more follow. Fails with
// ErrNameUnknown when the repository does not exist.
func (r *Repository) Tags(ctx context.Context, last string, n int) ([]string, bool, error) {
	all, err := r.allTags(ctx)
	if err != nil {
		return nil, false, err
	}
	page, more := paginate(all, last, n)
	return page, more, nil
}

func (r *Repository) allTags(ctx context.Context) ([]string, error) {
	paths, err := r.s.d.List(ctx, tagsPath(r.name))
	if errors.Is(err, driver.ErrNotFound) {
		exists, err := r.Exists(ctx)
		if err != nil {
			return nil, err
		}
		if !exists {
			return nil, fmt.Errorf("%w: %s", ErrNameUnknown, r.name)
		}
		return []string{}, nil
	}
	if err != nil {
		return nil, err
	}
	tags := make([]string, 0, len(paths))
	for _, p := range paths {
		tags = append(tags, path.Base(p))
	}
	sort.Strings(tags)
	return tags, nil
}

// tagsPointingAt lists the tags whose current link names d.
func (r *Repository) tagsPointingAt(ctx context.Context, d digest.Digest) ([]string, error) {
	tags, err := r.allTags(ctx)
	if errors.Is(err, ErrNameUnknown) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range tags {
		got, err := r.s.readLink(ctx, tagCurrentLinkPath(r.name, t))
		if errors.Is(err, driver.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if got == d {
			out = append(out, t)
		}
	}
	return out, nil
}

// paginate returns up to n entries of the sorted list after last
// (n < 0: all), and whether entries remain beyond them.
func paginate(sorted []string, last string, n int) ([]string, bool) {
	start := 0
	if last != "" {
		start = sort.SearchStrings(sorted, last)
		if start < len(sorted) && sorted[start] == last {
			start++
		}
	}
	rest := sorted[start:]
	if n < 0 || n >= len(rest) {
		return rest, false
	}
	return rest[:n], true
}
