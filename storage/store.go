// Package storage is the registry's content model over a driver.Driver:
// blobs, uploads, manifests, tags, referrers and the catalog, laid out on the
// driver exactly as the CNCF Distribution registry (registry:2) lays them out
// (see paths.go), so either can serve the other's data.
package storage

import (
	"errors"
	"log/slog"

	"github.com/berthhq/berth/storage/driver"
)

// Store is the content model over one driver. It keeps no per-request state
// in memory: any number of Stores (in one or many processes) may share a
// driver's data.
type Store struct {
	d     driver.Driver
	log   *slog.Logger
	meta  *metaCache
	index catalogIndex
}

// Option configures a Store.
type Option func(*Store)

// WithLogger sets the logger for background work; the default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// New returns a Store over d.
func New(d driver.Driver, opts ...Option) (*Store, error) {
	if d == nil {
		return nil, errors.New("storage: nil driver")
	}
	s := &Store{d: d, log: slog.New(slog.DiscardHandler), meta: newMetaCache(8192)}
	s.index.on = d.Name() == "s3"
	for _, o := range opts {
		o(s)
	}
	return s, nil
}
