package token_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/auth/token"
)

// users and everyone stand in for auth/htpasswd and auth/acl.
type users map[string]string

func (u users) Authenticate(_ context.Context, user, password string) error {
	if p, ok := u[user]; ok && p == password {
		return nil
	}
	return auth.ErrBadCredentials
}

func (u users) Exists(_ context.Context, user string) (bool, error) {
	_, ok := u[user]
	return ok, nil
}

type everyone struct{}

func (everyone) Allowed(_ string, a auth.Access) []string { return a.Actions }

// A registry that issues its own tokens: one key on disk, an Issuer, the
// token endpoint at /token, and a Verifier trusting the same key.
func Example() {
	dir, err := os.MkdirTemp("", "berth-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	key, _, err := token.LoadOrCreateKey(filepath.Join(dir, "token-key.pem"))
	if err != nil {
		log.Fatal(err)
	}
	issuer, err := token.NewIssuer(key, "berth", "registry.example.com")
	if err != nil {
		log.Fatal(err)
	}
	handler, err := token.NewHandler(issuer, users{"alice": "s3cret"}, everyone{},
		token.WithLogger(slog.Default()))
	if err != nil {
		log.Fatal(err)
	}
	var keys token.KeySet
	if err := keys.Add(issuer.KeyID(), issuer.Public()); err != nil {
		log.Fatal(err)
	}
	verifier, err := token.NewVerifier(&keys, issuer.Name(), issuer.Service(), "",
		token.WithPolicy(everyone{}))
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/token", handler)
	var _ auth.Authorizer = verifier // the registry's auth middleware calls it
	fmt.Println(keys.KeyIDs()[0] == issuer.KeyID())
	// Output: true
}
