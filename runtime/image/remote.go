package image

import (
	"context"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Fetcher reads manifests and blobs from one registry. Repositories are
// paths on that registry ("library/busybox"); refs are tags or digests.
type Fetcher interface {
	// HeadManifest returns the descriptor of a manifest without its body
	// (Digest may be empty when the registry does not say).
	HeadManifest(ctx context.Context, repo, ref string) (ocispec.Descriptor, error)
	// GetManifest returns a manifest's media type, digest and body.
	GetManifest(ctx context.Context, repo, ref string) (mediaType string, dgst digest.Digest, body []byte, err error)
	// GetBlob opens a blob and returns its size (-1 when unknown). The
	// caller closes the reader.
	GetBlob(ctx context.Context, repo string, dgst digest.Digest) (io.ReadCloser, int64, error)
}

// RangeFetcher is a Fetcher that can resume a download: GetBlobAt opens a
// blob from offset on and returns the offset its body really starts at
// (0 when the registry ignored the range).
type RangeFetcher interface {
	GetBlobAt(ctx context.Context, repo string, dgst digest.Digest, offset int64) (io.ReadCloser, int64, error)
}

// UncheckedFetcher is a Fetcher that can open a blob without checking
// its digest. Pull and Copy use it where they hash the content themselves
// (Pull's store as it writes, Copy as it streams), so that no byte is
// hashed twice; from other Fetchers they use GetBlob.
type UncheckedFetcher interface {
	GetBlobUnchecked(ctx context.Context, repo string, dgst digest.Digest) (io.ReadCloser, int64, error)
}

// getBlob opens blob d of repo from f: unchecked when f can, for a
// caller that checks the content itself.
func getBlob(ctx context.Context, f Fetcher, repo string, d digest.Digest) (io.ReadCloser, error) {
	var (
		body io.ReadCloser
		err  error
	)
	if uf, ok := f.(UncheckedFetcher); ok {
		body, _, err = uf.GetBlobUnchecked(ctx, repo, d)
	} else {
		body, _, err = f.GetBlob(ctx, repo, d)
	}
	return body, err
}

// Pusher writes blobs and manifests to one registry.
type Pusher interface {
	// HeadBlob returns a blob's size; an error means the registry does not
	// have it (or will not say), and the blob is uploaded.
	HeadBlob(ctx context.Context, repo string, dgst digest.Digest) (int64, error)
	// PutBlob uploads size bytes of r as blob dgst.
	PutBlob(ctx context.Context, repo string, dgst digest.Digest, size int64, r io.Reader) error
	// PutManifest uploads a manifest under ref and returns its digest.
	PutManifest(ctx context.Context, repo, ref, mediaType string, body []byte) (digest.Digest, error)
}

// ChunkedPusher is a Pusher that can upload a blob in chunks, used for
// blobs larger than the chunking threshold (see WithChunking).
type ChunkedPusher interface {
	PutBlobChunked(ctx context.Context, repo string, dgst digest.Digest, r io.Reader, chunkSize int64) error
}

// Mounter is a Pusher that can link a blob from another repository of the
// same registry without uploading it; false means the registry would not.
type Mounter interface {
	MountBlob(ctx context.Context, repo string, dgst digest.Digest, from string) (bool, error)
}

// Remote is everything this package can use of a registry;
// registry/client.Client is one.
type Remote interface {
	Fetcher
	RangeFetcher
	UncheckedFetcher
	Pusher
	ChunkedPusher
	Mounter
}
