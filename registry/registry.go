// Package registry serves the OCI distribution-spec v1.1 HTTP API over a
// storage.Store.
package registry

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/berthhq/berth/storage"
)

type options struct {
	log           *slog.Logger
	deleteEnabled bool
}

// Option configures the handler returned by New.
type Option func(*options)

// WithLogger sets the request logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithDeleteEnabled allows DELETE of manifests, tags and blobs.
func WithDeleteEnabled(on bool) Option { return func(o *options) { o.deleteEnabled = on } }

// New returns the HTTP handler for the distribution API (/v2/...) and
// /healthz, serving content from store.
func New(store *storage.Store, opts ...Option) (http.Handler, error) {
	if store == nil {
		return nil, errors.New("registry: nil store")
	}
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		opt(&o)
	}
	return nil, errors.New("registry: not implemented yet")
}
