package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/berthhq/berth/storage/driver"
	"github.com/opencontainers/go-digest"
)

// BlobURL returns a URL from which a client can fetch the content of blob d
// directly from the storage backend for expiry (a presigned S3 URL), after
// checking, as StatBlob does, that the repository links d and the content
// exists. It fails with ErrBlobUnknown when it does not, and with an error
// wrapping driver.ErrUnsupported when the driver cannot hand out URLs (the
// caller then serves the blob itself). The URL is a credential: never log
// it.
func (r *Repository) BlobURL(ctx context.Context, d digest.Digest, expiry time.Duration) (string, error) {
	u, ok := r.s.d.(driver.URLer)
	if !ok {
		return "", fmt.Errorf("blob URL for %s: %s driver: %w", d, r.s.d.Name(), driver.ErrUnsupported)
	}
	if _, err := r.StatBlob(ctx, d); err != nil {
		return "", err
	}
	return u.URLFor(ctx, blobDataPath(d), expiry)
}
