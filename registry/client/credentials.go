package client

import "context"

// Credential is what a user holds for one registry, with the meaning of the
// fields of docker's config.json.
type Credential struct {
	// Username and Password are sent as HTTP Basic credentials: to the
	// token service on a GET token request (or in the POST form when
	// offline tokens are asked for), or to the registry itself when it
	// answers with a Basic challenge.
	Username string
	Password string
	// IdentityToken is an OAuth2 refresh token (config.json's
	// "identitytoken"). When set, tokens are fetched with the POST
	// grant_type=refresh_token flow instead of Basic credentials.
	IdentityToken string
	// RegistryToken is a bearer token sent to the registry as is
	// (config.json's "registrytoken"); no token service is asked.
	RegistryToken string
}

// basic reports whether c holds a username and password pair.
func (c Credential) basic() bool { return c.Username != "" && c.Password != "" }

// Credentials finds the credential for a registry host. host is the
// host[:port] of the request that was challenged, as in the request URL
// (for example "localhost:5000" or "registry-1.docker.io"); mapping docker
// aliases such as "docker.io" is the implementation's business. It returns
// the zero Credential (not an error) when it knows none for host, and an
// error only when looking up failed (a credential helper that crashed).
type Credentials interface {
	Credentials(ctx context.Context, host string) (Credential, error)
}

// Anonymous has no credentials for any host.
type Anonymous struct{}

// Credentials returns the zero Credential.
func (Anonymous) Credentials(context.Context, string) (Credential, error) { return Credential{}, nil }

// StaticCredentials maps registry hosts (host[:port], exactly as in request
// URLs) to credentials. Hosts it does not list get the zero Credential, so
// credentials meant for one registry are never offered to another.
type StaticCredentials map[string]Credential

// Credentials returns s[host].
func (s StaticCredentials) Credentials(_ context.Context, host string) (Credential, error) {
	return s[host], nil
}

var (
	_ Credentials = Anonymous{}
	_ Credentials = StaticCredentials(nil)
)
