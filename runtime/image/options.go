package image

import (
	"fmt"

	"github.com/berthhq/berth/runtime/snapshot"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Defaults of the options.
const (
	DefaultConcurrency    = 4
	DefaultRetries        = 3
	DefaultChunkThreshold = 64 << 20
	DefaultChunkSize      = 16 << 20
)

// Option configures Pull, Push and Copy; each ignores what does not
// concern it.
type Option func(*options)

type options struct {
	platform       *ocispec.Platform
	allPlatforms   bool
	concurrency    int
	retries        int
	chunkThreshold int64
	chunkSize      int64
	progress       func(Event)
	unpack         *snapshot.Store
}

// WithPlatform picks the manifest of platform p from an index (Pull's
// default is the host's; Copy's default is the whole index).
func WithPlatform(p ocispec.Platform) Option { return func(o *options) { o.platform = &p } }

// WithAllPlatforms makes Pull keep a whole index, every platform's
// content (docker pull -a / --all-platforms).
func WithAllPlatforms() Option { return func(o *options) { o.allPlatforms = true } }

// WithConcurrency sets how many blobs move at once (DefaultConcurrency).
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = n } }

// WithRetries sets how many times Pull resumes a blob download that broke
// off after bytes arrived (DefaultRetries; 0 fails at once and keeps the
// partial download for the next pull).
func WithRetries(n int) Option { return func(o *options) { o.retries = n } }

// WithChunking sets the size above which Push and Copy upload a blob in
// chunks of chunkSize (DefaultChunkThreshold, DefaultChunkSize), when the
// Pusher is a ChunkedPusher.
func WithChunking(threshold, chunkSize int64) Option {
	return func(o *options) { o.chunkThreshold, o.chunkSize = threshold, chunkSize }
}

// WithProgress sets a function told of each step (see Event). Calls are
// serialised; fn must not block for long.
func WithProgress(fn func(Event)) Option { return func(o *options) { o.progress = fn } }

// newOptions applies opts over the defaults and checks the result.
func newOptions(opts []Option) (*options, error) {
	o := &options{
		concurrency: DefaultConcurrency, retries: DefaultRetries,
		chunkThreshold: DefaultChunkThreshold, chunkSize: DefaultChunkSize,
	}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("image: nil option")
		}
		opt(o)
	}
	switch {
	case o.concurrency < 1:
		return nil, fmt.Errorf("image: concurrency %d: want at least 1", o.concurrency)
	case o.retries < 0:
		return nil, fmt.Errorf("image: retries %d: want 0 or more", o.retries)
	case o.chunkThreshold < 0 || o.chunkSize < 1:
		return nil, fmt.Errorf("image: chunking %d/%d: want a threshold >= 0 and a chunk size >= 1", o.chunkThreshold, o.chunkSize)
	case o.platform != nil && o.allPlatforms:
		return nil, fmt.Errorf("image: a platform and all platforms at once")
	}
	return o, nil
}
