package layout

import (
	"context"
	"errors"
	"fmt"
	"io"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Validate checks the layout's invariants, the check every image producer
// (pull, load, commit, build) runs in its tests:
//
//   - every index.json entry has a distinct name (or none) and its blob is
//     stored with the size the entry says;
//   - every blob a stored manifest references (config, layers) is stored,
//     and every stored blob that something references hashes to its
//     digest and has the size its descriptor says.
//
// An index may reference manifests that are not stored (an image pulled
// for one platform keeps only that platform's content); their absence is
// not an error. Validate reads every referenced blob in full.
func (l *Layout) Validate(ctx context.Context) error {
	roots, err := l.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	names := map[string]bool{}
	for _, r := range roots {
		if n := refName(r); n != "" {
			if names[n] {
				errs = append(errs, fmt.Errorf("index.json: name %q appears twice", n))
			}
			names[n] = true
		}
	}
	err = l.Walk(ctx, roots, func(d, parent ocispec.Descriptor) error {
		err := l.verify(ctx, d)
		if errors.Is(err, ErrBlobUnknown) && IsIndex(parent.MediaType) {
			return nil
		}
		if err != nil {
			where := "index.json"
			if parent.Digest != "" {
				where = parent.Digest.String()
			}
			errs = append(errs, fmt.Errorf("referenced by %s: %w", where, err))
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// verify checks that blob d is stored with d's size and digest.
func (l *Layout) verify(ctx context.Context, d ocispec.Descriptor) error {
	f, err := l.Open(ctx, d.Digest)
	if err != nil {
		return err
	}
	defer f.Close()
	if !d.Digest.Algorithm().Available() {
		return fmt.Errorf("blob %s: %w: algorithm not available", d.Digest, ErrInvalid)
	}
	dg := d.Digest.Algorithm().Digester()
	n, err := io.Copy(dg.Hash(), ctxReader{ctx, f})
	if err != nil {
		return fmt.Errorf("blob %s: %w", d.Digest, err)
	}
	if n != d.Size {
		return fmt.Errorf("blob %s: %d bytes, descriptor says %d: %w", d.Digest, n, d.Size, ErrDigestMismatch)
	}
	if got := dg.Digest(); got != d.Digest {
		return fmt.Errorf("blob %s: content hashes to %s: %w", d.Digest, got, ErrDigestMismatch)
	}
	return nil
}
