package storage

import (
	"context"
	"errors"
	"path"
	"strings"
	"time"

	"github.com/berthhq/berth/storage/driver"
)

// PurgeUploads removes upload sessions started before olderThan in every
// repository, as registry:2's uploadpurging does, and returns how many it
// removed (or, with dryRun, would remove). Its walk also brings the catalog
// index up to date, when the Store keeps one.
func (s *Store) PurgeUploads(ctx context.Context, olderThan time.Time, dryRun bool) (int, error) {
	var stale, repos []string
	root := reposPath()
	err := s.d.Walk(ctx, root, func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			return nil
		}
		base := path.Base(fi.Path())
		if !strings.HasPrefix(base, "_") {
			return nil
		}
		if base == "_manifests" {
			repos = append(repos, strings.TrimPrefix(path.Dir(fi.Path()), root+"/"))
		}
		if base == "_uploads" {
			ids, err := s.d.List(ctx, fi.Path())
			if err != nil && !errors.Is(err, driver.ErrNotFound) {
				return err
			}
			for _, dir := range ids {
				if s.uploadStartedBefore(ctx, dir, olderThan) {
					stale = append(stale, dir)
				}
			}
		}
		return driver.ErrSkipDir
	})
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return 0, err
	}
	if dryRun {
		return len(stale), nil
	}
	// The walk has seen every repository: index those another registry
	// (registry:2 sharing the bucket) created since the index was built.
	if err := s.refreshIndex(ctx, repos); err != nil {
		s.log.Warn("refreshing the catalog index", "err", err)
	}
	removed := 0
	if p, ok := s.d.(driver.Purger); ok {
		n, err := p.PurgeWrites(ctx, olderThan)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			s.log.Info("aborted abandoned writes", "count", n, "older_than", olderThan)
		}
	}
	for _, dir := range stale {
		if err := s.d.Delete(ctx, dir); err != nil && !errors.Is(err, driver.ErrNotFound) {
			return removed, err
		}
		removed++
	}
	if removed > 0 {
		s.log.Info("purged stale uploads", "count", removed, "older_than", olderThan)
	}
	return removed, nil
}

// uploadStartedBefore judges an upload session by its start time or, for
// one without (a monolithic upload cut off by a crash), by when its data was
// last written. A session with neither is left alone.
func (s *Store) uploadStartedBefore(ctx context.Context, dir string, t time.Time) bool {
	if b, err := s.d.GetContent(ctx, path.Join(dir, "startedat")); err == nil {
		if started, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err == nil {
			return started.Before(t)
		}
	}
	fi, err := s.d.Stat(ctx, path.Join(dir, "data"))
	return err == nil && fi.ModTime().Before(t)
}
