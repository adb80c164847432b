package credstore

import (
	"fmt"
	"strings"
)

// Credential is what a registry login saves. The zero value means no
// credentials.
type Credential struct {
	// Username and Password are basic-auth credentials. With an
	// IdentityToken, Username may be set (docker keeps it) and Password
	// is empty.
	Username string
	Password string
	// IdentityToken is an OAuth2 refresh token the registry's token
	// service issued at login; it stands in for the password.
	IdentityToken string
	// RegistryToken is a bearer token sent to the registry as is.
	RegistryToken string
}

// String describes c without its secrets, so a Credential can be logged
// or printed with %v safely.
func (c Credential) String() string {
	var parts []string
	if c.Username != "" {
		parts = append(parts, "user "+c.Username)
	}
	for _, s := range []struct{ name, value string }{
		{"password", c.Password},
		{"identity token", c.IdentityToken},
		{"registry token", c.RegistryToken},
	} {
		if s.value != "" {
			parts = append(parts, s.name+" (redacted)")
		}
	}
	if len(parts) == 0 {
		return "no credentials"
	}
	return strings.Join(parts, ", ")
}

// GoString is String, so %#v does not print secrets either.
func (c Credential) GoString() string { return "credstore.Credential{" + c.String() + "}" }

// tokenUsername is the user name docker gives a credential helper for an
// identity token (the token is the secret).
const tokenUsername = "<token>"

// validate checks that c can be saved and read back as it was, by docker
// too. Errors match ErrInvalidCredential.
func (c Credential) validate() error {
	var problem string
	switch {
	case c == Credential{}:
		problem = "no user name, password or token"
	case strings.Contains(c.Username, ":"):
		problem = "user name contains a colon"
	case c.Username == tokenUsername:
		problem = "user name " + tokenUsername + " is reserved for identity tokens"
	case c.Password != "" && c.Username == "":
		problem = "password without a user name"
	case c.Password != "" && c.IdentityToken != "":
		problem = "both a password and an identity token"
	case c.Username != "" && c.Password == "" && c.IdentityToken == "" && c.RegistryToken == "":
		problem = "user name without a password or token"
	default:
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidCredential, problem)
}
