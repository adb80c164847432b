// Package image is ctl's local image service: pull, push, tag, list,
// remove, prune, inspect, save and load over a storage/layout store, and
// copy between registries without one.
//
// Registries are reached through the small interfaces declared here
// (Fetcher, Pusher and their optional upgrades); registry/client.Client
// satisfies all of them, and cmd/ctl plugs it in. This package imports no
// registry or auth package.
//
// Names are normalised as docker does (ParseReference): "busybox" is
// docker.io/library/busybox:latest, and that full form is what the store's
// index.json holds. Every byte fetched is checked against its digest as it
// streams; content that does not match is never kept. A pull writes
// layers and configs first, manifests after them and the name last, so an
// interrupted pull never lists a half-written image.
package image

import (
	"errors"

	"github.com/berthhq/berth/storage/layout"
)

// Error classes, wrapped with the reference or digest they concern.
var (
	// ErrNotFound: no local image has that name or ID.
	ErrNotFound = errors.New("no such image")
	// ErrAmbiguous: an ID prefix matches more than one image.
	ErrAmbiguous = errors.New("ambiguous image ID")
	// ErrConflict: removing the image needs force (several names use it).
	ErrConflict = errors.New("conflict")
	// ErrPlatform: an index has no manifest for the wanted platform.
	ErrPlatform = errors.New("no matching manifest for platform")
	// ErrUnsupported: a manifest of a media type this package cannot
	// handle (docker schema 1, unknown artifacts at the top).
	ErrUnsupported = errors.New("unsupported")
	// ErrIncomplete: the store lacks content an operation needs (an index
	// pulled for one platform cannot be pushed or saved whole).
	ErrIncomplete = errors.New("incomplete image")
	// ErrInvalidArchive: a tar given to Load is malformed or unsafe.
	ErrInvalidArchive = errors.New("invalid archive")
	// ErrDigestMismatch: content does not match its digest or size. It is
	// layout.ErrDigestMismatch, so either matches.
	ErrDigestMismatch = layout.ErrDigestMismatch
)

// Service is the local image service over one layout store. It is safe
// for concurrent use; several processes may use one store.
type Service struct {
	store *layout.Layout
}

// New returns the image service over store.
func New(store *layout.Layout) (*Service, error) {
	if store == nil {
		return nil, errors.New("image: nil store")
	}
	return &Service{store: store}, nil
}

// Store returns the layout the service works on.
func (s *Service) Store() *layout.Layout { return s.store }
