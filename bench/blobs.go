package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// bigBlob pushes one large blob with POST, a streaming PATCH and PUT ?digest=, reads the server's
// peak RSS right after the push, then pulls the blob back and checks its length.
type bigBlob struct {
	pat     *pattern
	size    int64
	shaRate float64 // single-core sha256 bytes/s on this machine, for the percentage row
	digest  string
}

const bigSalt = 1

func (s *bigBlob) Name() string { return "big-blob" }

func (s *bigBlob) Metrics() []metric {
	return []metric{
		{key: "big-push", label: sizeLabel(s.size) + " blob push", unit: "MB/s", goal: goal{goalRatioAtLeast, 2}},
		{key: "big-pull", label: sizeLabel(s.size) + " blob pull", unit: "MB/s", goal: goal{goalRatioAtLeast, 1}},
		{key: "big-rss", label: "peak RSS after " + sizeLabel(s.size) + " push", unit: "MiB", goal: goal{goalBerthBelow, 100}, format: fixed(1)},
		{key: "big-sha", label: sizeLabel(s.size) + " push vs 1-core sha256", unit: "%", format: fixed(0)},
	}
}

func (s *bigBlob) Prepare(context.Context) error {
	s.digest = s.pat.Digest(bigSalt, s.size)
	return nil
}

func (s *bigBlob) Run(ctx context.Context, t *target) (map[string]float64, error) {
	const repo = "bench/big"
	start := time.Now()
	if err := t.reg.pushStream(ctx, repo, s.digest, s.pat.Reader(bigSalt, s.size)); err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	push := float64(s.size) / time.Since(start).Seconds()
	rss, err := t.srv.PeakRSS()
	if err != nil {
		return nil, fmt.Errorf("peak RSS: %w", err)
	}

	buf := make([]byte, 1<<20)
	start = time.Now()
	n, err := t.reg.pullBlob(ctx, repo, s.digest, buf)
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	if n != s.size {
		return nil, fmt.Errorf("pull: got %d bytes, want %d", n, s.size)
	}
	pull := float64(s.size) / time.Since(start).Seconds()
	return map[string]float64{
		"big-push": push / 1e6,
		"big-pull": pull / 1e6,
		"big-rss":  float64(rss) / (1 << 20),
		"big-sha":  100 * push / s.shaRate,
	}, nil
}

// smallBlobs pushes count blobs of size bytes at concurrency conc (POST, then PUT ?digest= with
// the body, as containerd pushes small layers), then pulls them all back at the same concurrency.
type smallBlobs struct {
	pat     *pattern
	count   int
	size    int
	conc    int
	data    [][]byte
	digests []string
}

const smallSaltBase = 1000

func (s *smallBlobs) Name() string { return "small-blobs" }

func (s *smallBlobs) Metrics() []metric {
	label := fmt.Sprintf("%d x %s blobs", s.count, sizeLabel(int64(s.size)))
	rate := func(v float64) string {
		return fmt.Sprintf("%.0f (%.0f MB/s)", v, v*float64(s.size)/1e6)
	}
	return []metric{
		{key: "small-push", label: label + fmt.Sprintf(" push, c=%d", s.conc), unit: "blobs/s", goal: goal{goalRatioAtLeast, 2}, format: rate},
		{key: "small-pull", label: label + fmt.Sprintf(" pull, c=%d", s.conc), unit: "blobs/s", goal: goal{goalRatioAtLeast, 1.3}, format: rate},
	}
}

func (s *smallBlobs) Prepare(context.Context) error {
	s.data = make([][]byte, s.count)
	s.digests = make([]string, s.count)
	for i := range s.count {
		salt := uint64(smallSaltBase + i)
		s.data[i] = make([]byte, s.size)
		s.pat.Fill(salt, s.data[i])
		s.digests[i] = s.pat.Digest(salt, int64(s.size))
	}
	return nil
}

func (s *smallBlobs) Run(ctx context.Context, t *target) (map[string]float64, error) {
	const repo = "bench/small"
	start := time.Now()
	err := parallel(ctx, s.count, s.conc, func(ctx context.Context, i int) error {
		return t.reg.pushWhole(ctx, repo, s.digests[i], s.data[i])
	})
	if err != nil {
		return nil, fmt.Errorf("push: %w", err)
	}
	push := float64(s.count) / time.Since(start).Seconds()

	bufs := sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}
	start = time.Now()
	err = parallel(ctx, s.count, s.conc, func(ctx context.Context, i int) error {
		buf := bufs.Get().(*[]byte)
		defer bufs.Put(buf)
		n, err := t.reg.pullBlob(ctx, repo, s.digests[i], *buf)
		if err == nil && n != int64(s.size) {
			err = fmt.Errorf("blob %d: got %d bytes, want %d", i, n, s.size)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pull: %w", err)
	}
	pull := float64(s.count) / time.Since(start).Seconds()
	return map[string]float64{"small-push": push, "small-pull": pull}, nil
}

// parallel calls fn for i in [0, n) from conc goroutines and returns the first error; after an
// error the context passed to fn is canceled and no new calls start.
func parallel(ctx context.Context, n, conc int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// sizeLabel renders a byte count as "1 GiB", "64 MiB" or "512 KiB".
func sizeLabel(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
