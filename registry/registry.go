// Package registry serves the OCI distribution-spec v1.1 HTTP API over a
// storage.Store: one file per resource (blobs, uploads, manifests, tags,
// catalog, referrers), the error mapping in errors.go and the middleware in
// middleware.go. Handlers return errors; errcode.Write sends them.
package registry

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/registry/errcode"
	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
	"github.com/gorilla/mux"
)

type options struct {
	log           *slog.Logger
	deleteEnabled bool
	authorizer    auth.Authorizer
	// redirectExpiry, when positive, redirects blob GETs to a URL of the
	// storage backend valid that long.
	redirectExpiry time.Duration
}

// Option configures the handler returned by New.
type Option func(*options)

// WithLogger sets the request logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithDeleteEnabled allows DELETE of manifests, tags and blobs. Without it
// they answer 405 UNSUPPORTED.
func WithDeleteEnabled(on bool) Option { return func(o *options) { o.deleteEnabled = on } }

// WithBlobRedirect answers blob GETs (not HEADs), once access is granted
// and the blob is known in the repository, with 307 Temporary Redirect to a
// URL the storage driver hands out, valid for expiry (presigned S3 URLs).
// Where the driver cannot give one the blob is streamed as without the
// option. Clients must be able to reach the storage backend.
func WithBlobRedirect(expiry time.Duration) Option {
	return func(o *options) { o.redirectExpiry = expiry }
}

// api holds what every handler needs.
type api struct {
	store *storage.Store
	options
}

// handlerFunc is an HTTP handler that returns its failure instead of
// writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// wrap turns h into an http.Handler that first checks the access the
// request needs, then writes any error h returns.
func (a *api) wrap(need accessFunc, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, err := a.authorize(r, need)
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			apiErr := toAPIError(err)
			switch {
			case apiErr.Code == errcode.Unknown:
				a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
			case errors.Is(err, driver.ErrUnavailable):
				a.log.Warn("storage unavailable", "op", operation(r), "method", r.Method, "path", r.URL.Path, "err", err)
			}
			errcode.Write(w, apiErr)
		}
	})
}

// operation names what a request does for logs: its method and route
// ("GET /v2/{name}/blobs/{digest}").
func operation(r *http.Request) string {
	if route := mux.CurrentRoute(r); route != nil {
		if tpl, err := route.GetPathTemplate(); err == nil {
			return r.Method + " " + strings.Replace(tpl, nameRE, "{name}", 1)
		}
	}
	return r.Method + " " + r.URL.Path
}

// New returns the HTTP handler for the distribution API (/v2/...) and
// /healthz, serving content from store.
func New(store *storage.Store, opts ...Option) (http.Handler, error) {
	if store == nil {
		return nil, errors.New("registry: nil store")
	}
	a := &api{store: store, options: options{log: slog.New(slog.DiscardHandler)}}
	for _, opt := range opts {
		opt(&a.options)
	}
	return a.middleware(a.routes()), nil
}

// nameRE matches any candidate repository name in a route; handlers check
// it against the spec's grammar so that a bad name is NAME_INVALID rather
// than a bare 404.
const nameRE = `{name:[^?#]+?}`

func (a *api) routes() http.Handler {
	m := mux.NewRouter()
	m.SkipClean(true) // a name with ".." must reach the handler and be NAME_INVALID
	m.Handle("/healthz", http.HandlerFunc(healthz)).Methods(http.MethodGet, http.MethodHead)
	m.Handle("/v2/", a.wrap(needLogin, a.base)).Methods(http.MethodGet, http.MethodHead)
	m.Handle("/v2", a.wrap(needLogin, a.base)).Methods(http.MethodGet, http.MethodHead)
	m.Handle("/v2/_catalog", a.wrap(needCatalog, a.catalog)).Methods(http.MethodGet)

	m.Handle("/v2/"+nameRE+"/tags/list", a.wrap(needPull, a.tagsList)).Methods(http.MethodGet)
	m.Handle("/v2/"+nameRE+"/manifests/{reference}", a.wrap(needPull, a.getManifest)).Methods(http.MethodGet, http.MethodHead)
	m.Handle("/v2/"+nameRE+"/manifests/{reference}", a.wrap(needPush, a.putManifest)).Methods(http.MethodPut)
	m.Handle("/v2/"+nameRE+"/manifests/{reference}", a.wrap(needDelete, a.deleteManifest)).Methods(http.MethodDelete)
	m.Handle("/v2/"+nameRE+"/blobs/uploads/", a.wrap(needPush, a.startUpload)).Methods(http.MethodPost)
	m.Handle("/v2/"+nameRE+"/blobs/uploads", a.wrap(needPush, a.startUpload)).Methods(http.MethodPost)
	m.Handle("/v2/"+nameRE+"/blobs/uploads/{uuid}", a.wrap(needPush, a.uploadStatus)).Methods(http.MethodGet)
	m.Handle("/v2/"+nameRE+"/blobs/uploads/{uuid}", a.wrap(needPush, a.patchUpload)).Methods(http.MethodPatch)
	m.Handle("/v2/"+nameRE+"/blobs/uploads/{uuid}", a.wrap(needPush, a.putUpload)).Methods(http.MethodPut)
	m.Handle("/v2/"+nameRE+"/blobs/uploads/{uuid}", a.wrap(needPush, a.cancelUpload)).Methods(http.MethodDelete)
	m.Handle("/v2/"+nameRE+"/blobs/{digest}", a.wrap(needPull, a.getBlob)).Methods(http.MethodGet, http.MethodHead)
	m.Handle("/v2/"+nameRE+"/blobs/{digest}", a.wrap(needDelete, a.deleteBlob)).Methods(http.MethodDelete)
	m.Handle("/v2/"+nameRE+"/referrers/{digest}", a.wrap(needPull, a.referrers)).Methods(http.MethodGet)

	m.NotFoundHandler = a.wrap(needLogin, func(w http.ResponseWriter, r *http.Request) error {
		return errcode.New(errcode.NameUnknown, "no such endpoint: "+quote(r.URL.Path))
	})
	m.MethodNotAllowedHandler = a.wrap(needLogin, func(w http.ResponseWriter, r *http.Request) error {
		return errcode.New(errcode.Unsupported, r.Method+" is not allowed here")
	})
	return m
}

// base answers the API version check.
func (a *api) base(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "2")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte("{}"))
	}
	return nil
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// repo returns the repository named in the route, or NAME_INVALID.
func (a *api) repo(r *http.Request) (*storage.Repository, error) {
	return a.store.Repository(mux.Vars(r)["name"])
}

// requireDelete fails with UNSUPPORTED when deletes are disabled.
func (a *api) requireDelete() error {
	if !a.deleteEnabled {
		return errcode.New(errcode.Unsupported, "deletes are disabled on this registry")
	}
	return nil
}
