// Package auth holds what the registry and its token service share about
// access control: the Access a request needs (the docker token spec's
// scopes), the Authorizer that decides, and the Challenge error a refusal
// becomes. It knows nothing of storage or of the registry's routes.
package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Resource types and actions of the docker token spec.
const (
	TypeRepository = "repository"
	TypeRegistry   = "registry"

	ActionPull   = "pull"
	ActionPush   = "push"
	ActionDelete = "delete"
	ActionAll    = "*"

	// CatalogName is the resource name of registry:catalog:*.
	CatalogName = "catalog"
)

// Access is one entry of a scope: a resource and the actions on it. In a
// token it is what was granted; in a request, what is needed.
type Access struct {
	Type    string   `json:"type"`
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// String formats a as a scope: "repository:team/app:pull,push".
func (a Access) String() string {
	return a.Type + ":" + a.Name + ":" + strings.Join(a.Actions, ",")
}

// Allows reports whether a covers action on the resource typ/name.
func (a Access) Allows(typ, name, action string) bool {
	if a.Type != typ || a.Name != name {
		return false
	}
	return slices.Contains(a.Actions, action) || slices.Contains(a.Actions, ActionAll)
}

// ParseScope parses one scope parameter, "type:name:action[,action]". The
// name may itself hold colons (a registry host with a port), so the type is
// what precedes the first colon and the actions what follows the last.
// Fails for an empty type, name or action list.
func ParseScope(s string) (Access, error) {
	typ, rest, ok := strings.Cut(s, ":")
	i := strings.LastIndex(rest, ":")
	if !ok || i <= 0 || typ == "" || i == len(rest)-1 {
		return Access{}, fmt.Errorf("invalid scope %q: want type:name:actions", s)
	}
	a := Access{Type: typ, Name: rest[:i]}
	for _, act := range strings.Split(rest[i+1:], ",") {
		if act == "" {
			return Access{}, fmt.Errorf("invalid scope %q: empty action", s)
		}
		if !slices.Contains(a.Actions, act) {
			a.Actions = append(a.Actions, act)
		}
	}
	return a, nil
}

// Identity is who a verified request comes from and what it may do.
type Identity interface {
	// Account is the authenticated account, or "" for anonymous.
	Account() string
	// Can reports whether the identity holds action on the resource.
	Can(typ, name, action string) bool
}

// Authorizer decides whether a request holds the access it needs.
type Authorizer interface {
	// Authorize verifies r's credentials and that they cover every entry
	// of need (none: the request only needs to be authenticated). It
	// returns the request's identity, or a *Challenge when the client must
	// (re)authenticate, or another error when verification itself failed.
	Authorize(ctx context.Context, r *http.Request, need []Access) (Identity, error)
}

// ErrBadCredentials is returned by password checks for a wrong password or
// an unknown user alike, so callers cannot tell which.
var ErrBadCredentials = errors.New("incorrect username or password")

// ErrInsufficientScope and ErrInvalidToken say why a Challenge was raised,
// as the docker token spec's error values in the challenge header.
var (
	ErrInvalidToken      = errors.New("invalid_token")
	ErrInsufficientScope = errors.New("insufficient_scope")
)

// Challenge is a refusal that tells the client where to get a token:
// 401 with WWW-Authenticate: Bearer realm=...,service=...,scope=....
type Challenge struct {
	Realm   string
	Service string
	Scope   []Access
	// Err is nil when no credentials were presented, ErrInvalidToken or
	// ErrInsufficientScope (possibly wrapped with detail) otherwise.
	Err error
}

func (c *Challenge) Error() string {
	if c.Err != nil {
		return "authentication required: " + c.Err.Error()
	}
	return "authentication required"
}

func (c *Challenge) Unwrap() error { return c.Err }

// Header returns the WWW-Authenticate value for the challenge.
func (c *Challenge) Header() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Bearer realm=%q,service=%q", c.Realm, c.Service)
	if len(c.Scope) > 0 {
		scopes := make([]string, len(c.Scope))
		for i, a := range c.Scope {
			scopes[i] = a.String()
		}
		fmt.Fprintf(&b, ",scope=%q", strings.Join(scopes, " "))
	}
	switch {
	case errors.Is(c.Err, ErrInsufficientScope):
		b.WriteString(`,error="insufficient_scope"`)
	case c.Err != nil:
		b.WriteString(`,error="invalid_token"`)
	}
	return b.String()
}
