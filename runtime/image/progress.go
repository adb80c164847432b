package image

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// Status is the step a layer is at, as docker names them.
type Status int

// Pull steps, then push steps.
const (
	StatusWaiting          Status = iota // queued behind other transfers
	StatusDownloading                    // Current of Total bytes received
	StatusVerifying                      // all bytes received, digest being checked
	StatusDownloadComplete               // stored
	StatusAlreadyExists                  // the store had it
	StatusPullComplete                   // the image that needs it is tagged
	StatusRetrying                       // a download broke off; resuming
	StatusPreparing                      // push: about to check the registry
	StatusPushing                        // Current of Total bytes sent
	StatusPushed                         // the registry has it now
	StatusLayerExists                    // the registry had it
	StatusMounted                        // linked from another repository (From)
)

var statusText = [...]string{
	StatusWaiting:          "Waiting",
	StatusDownloading:      "Downloading",
	StatusVerifying:        "Verifying Checksum",
	StatusDownloadComplete: "Download complete",
	StatusAlreadyExists:    "Already exists",
	StatusPullComplete:     "Pull complete",
	StatusRetrying:         "Retrying",
	StatusPreparing:        "Preparing",
	StatusPushing:          "Pushing",
	StatusPushed:           "Pushed",
	StatusLayerExists:      "Layer already exists",
	StatusMounted:          "Mounted from",
}

// String returns docker's words for the step ("Pull complete").
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusText) {
		return statusText[s]
	}
	return "Unknown"
}

// Event reports one step of one layer of a pull, push or copy. Configs
// and manifests move without events, as in docker.
type Event struct {
	ID     string // the digest's first 12 hex characters, as docker shows layers
	Digest digest.Digest
	Status Status
	// Current and Total are bytes moved so far and the layer's size, for
	// StatusDownloading and StatusPushing; Total is set on every event.
	Current, Total int64
	From           string // StatusMounted: the repository mounted from
}

// String returns docker's plain line for the event, without the bar:
// "a3ed95caeb02: Pull complete", "a3ed95caeb02: Mounted from team/app".
func (e Event) String() string {
	s := e.ID + ": " + e.Status.String()
	if e.Status == StatusMounted {
		s += " " + e.From
	}
	return s
}

// ShortID returns the first 12 hex characters of d.
func ShortID(d digest.Digest) string {
	enc := d.Encoded()
	if len(enc) > 12 {
		enc = enc[:12]
	}
	return enc
}

// reporter serialises calls to the progress function; a nil function
// drops events.
type reporter struct {
	mu sync.Mutex
	fn func(Event)
}

func newReporter(fn func(Event)) *reporter { return &reporter{fn: fn} }

// send reports status for d.
func (r *reporter) send(d digest.Digest, size int64, st Status) {
	r.event(Event{ID: ShortID(d), Digest: d, Status: st, Total: size})
}

func (r *reporter) event(e Event) {
	if r.fn == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fn(e)
}

// progressInterval is how often byte counts are reported.
const progressInterval = 100 * time.Millisecond

// counter reports bytes passing through Read as st events, at most every
// progressInterval and once at the end.
type counter struct {
	r      io.Reader
	rep    *reporter
	d      digest.Digest
	st     Status
	n      int64
	total  int64
	last   time.Time
	silent bool
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.add(n, err != nil)
	return n, err
}

func (c *counter) add(n int, final bool) {
	c.n += int64(n)
	if c.silent || c.rep.fn == nil {
		return
	}
	if now := time.Now(); final || now.Sub(c.last) >= progressInterval || c.n == c.total {
		c.last = now
		cur := c.n
		if cur > c.total && c.total >= 0 {
			cur = c.total
		}
		c.rep.event(Event{ID: ShortID(c.d), Digest: c.d, Status: c.st, Current: cur, Total: c.total})
	}
}

// transfer announces every layer of blobs with status first, then runs fn
// over all blobs, o.concurrency at a time: the shape pull, push and copy
// share.
func transfer(ctx context.Context, o *options, rep *reporter, blobs []blobRef, first Status, fn func(context.Context, blobRef) error) error {
	for _, b := range blobs {
		if b.layer {
			rep.send(b.desc.Digest, b.desc.Size, first)
		}
	}
	return runAll(ctx, o.concurrency, blobs, fn)
}
