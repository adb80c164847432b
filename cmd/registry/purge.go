package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/berthhq/berth/registry/config"
)

// purgeFunc removes upload sessions started before olderThan; it is
// (*storage.Store).PurgeUploads.
type purgeFunc func(ctx context.Context, olderThan time.Time, dryRun bool) (int, error)

// purgeJitter returns the delay before the first purge: random, up to an
// hour (as registry:2) or the interval if shorter, so that replicas started
// together do not all walk the storage at once.
func purgeJitter(interval time.Duration) time.Duration {
	return rand.N(min(interval, time.Hour))
}

// purgeUploads calls purge after first and then every cfg.Interval,
// removing uploads older than cfg.Age, until ctx ends. Failures are logged
// and retried at the next interval.
func purgeUploads(ctx context.Context, purge purgeFunc, cfg config.UploadPurging, first time.Duration, log *slog.Logger) {
	log.Debug("upload purging scheduled", "first_in", first.String(), "interval", cfg.Interval.String(),
		"age", cfg.Age.String(), "dry_run", cfg.DryRun)
	t := time.NewTimer(first)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := purge(ctx, time.Now().Add(-cfg.Age), cfg.DryRun)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("upload purge failed", "err", err)
		case cfg.DryRun && n > 0:
			log.Info("upload purge dry run: would remove stale uploads", "count", n, "age", cfg.Age.String())
		}
		t.Reset(cfg.Interval)
	}
}
