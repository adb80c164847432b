package registry

import (
	"context"
	"errors"
	"net/http"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/registry/errcode"
	"github.com/gorilla/mux"
)

// WithAuthorizer makes every request (but /healthz) pass authz first: each
// route names the access it needs, and a refusal is a 401 challenge that
// names exactly that scope. Without it the registry is open.
func WithAuthorizer(z auth.Authorizer) Option { return func(o *options) { o.authorizer = z } }

// accessFunc returns the access a request needs, from its route variables.
type accessFunc func(r *http.Request) []auth.Access

func repoAccess(actions ...string) accessFunc {
	return func(r *http.Request) []auth.Access {
		return []auth.Access{{Type: auth.TypeRepository, Name: mux.Vars(r)["name"], Actions: actions}}
	}
}

var (
	// needPull guards reads; needPush guards writes, which registry:2 and
	// docker both treat as needing pull too; needDelete guards deletes.
	needPull   = repoAccess(auth.ActionPull)
	needPush   = repoAccess(auth.ActionPull, auth.ActionPush)
	needDelete = repoAccess(auth.ActionDelete)
	// needCatalog guards the repository listing.
	needCatalog accessFunc = func(*http.Request) []auth.Access {
		return []auth.Access{{Type: auth.TypeRegistry, Name: auth.CatalogName, Actions: []string{auth.ActionAll}}}
	}
	// needLogin only asks that the client be authenticated (GET /v2/).
	needLogin accessFunc = func(*http.Request) []auth.Access { return nil }
)

type identityKey struct{}

// authorize checks r against the configured authorizer and returns r with
// the caller's identity attached. Without an authorizer it lets all pass.
func (a *api) authorize(r *http.Request, need accessFunc) (*http.Request, error) {
	if a.authorizer == nil {
		return r, nil
	}
	if name, ok := mux.Vars(r)["name"]; ok && !a.validName(name) {
		return r, nil // the handler answers NAME_INVALID; no scope to ask for
	}
	id, err := a.authorizer.Authorize(r.Context(), r, need(r))
	var ch *auth.Challenge
	if errors.As(err, &ch) {
		e := errcode.New(errcode.Unauthorized, "")
		if errors.Is(err, auth.ErrInsufficientScope) {
			// docker prints "denied: requested access to the resource is denied"
			e = errcode.New(errcode.Denied, "")
		}
		e.Detail = ch.Error()
		return r, e.WithStatus(http.StatusUnauthorized).WithHeader("WWW-Authenticate", ch.Header())
	}
	if err != nil {
		return r, err
	}
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id)), nil
}

// can reports whether the request's caller may act on a repository. With
// auth off everyone may.
func (a *api) can(r *http.Request, name, action string) bool {
	if a.authorizer == nil {
		return true
	}
	id, ok := r.Context().Value(identityKey{}).(auth.Identity)
	return ok && id.Can(auth.TypeRepository, name, action)
}

func (a *api) validName(name string) bool {
	_, err := a.store.Repository(name)
	return err == nil
}
