package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/auth/htpasswd"
	"github.com/berthhq/berth/auth/token"
	"github.com/berthhq/berth/registry/config"
)

// tokenAuth is what serve mounts for auth.token: the authorizer the
// registry consults and, for a registry that issues its own tokens, the
// /token endpoint.
type tokenAuth struct {
	authorizer auth.Authorizer
	handler    http.Handler // nil for an external issuer
}

// newTokenAuth builds token authentication from cfg, or returns nil when
// the configuration has none.
func newTokenAuth(cfg *config.Config, log *slog.Logger) (*tokenAuth, error) {
	t := cfg.Auth.Token
	if t == nil {
		return nil, nil
	}
	var keys token.KeySet
	if t.RootCertBundle != "" {
		if err := keys.AddPEMFile(t.RootCertBundle); err != nil {
			return nil, fmt.Errorf("auth.token.rootcertbundle: %w", err)
		}
	}
	if t.JWKS != "" {
		if err := keys.AddJWKSFile(t.JWKS); err != nil {
			return nil, fmt.Errorf("auth.token.jwks: %w", err)
		}
	}
	realm := cfg.TokenRealm()
	if !t.SelfIssued() {
		v, err := token.NewVerifier(&keys, t.Issuer, t.Service, realm)
		if err != nil {
			return nil, fmt.Errorf("auth.token: %w", err)
		}
		log.Info("token auth", "issuer", t.Issuer, "service", t.Service, "realm", realm, "keys", keys.Len())
		return &tokenAuth{authorizer: v}, nil
	}

	users, err := htpasswd.Load(t.HTPasswd)
	if err != nil {
		return nil, fmt.Errorf("auth.token.htpasswd: %w", err)
	}
	rules, err := newACL(t)
	if err != nil {
		return nil, err
	}
	key, err := signingKey(cfg, log)
	if err != nil {
		return nil, err
	}
	issuer, err := token.NewIssuer(key, t.Issuer, t.Service, token.WithLifetime(t.Expiration))
	if err != nil {
		return nil, fmt.Errorf("auth.token: %w", err)
	}
	if err := keys.Add(issuer.KeyID(), issuer.Public()); err != nil {
		return nil, fmt.Errorf("auth.token: %w", err)
	}
	v, err := token.NewVerifier(&keys, t.Issuer, t.Service, realm, token.WithPolicy(rules))
	if err != nil {
		return nil, fmt.Errorf("auth.token: %w", err)
	}
	h, err := token.NewHandler(issuer, users, rules, token.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("auth.token: %w", err)
	}
	log.Info("token auth", "issuer", t.Issuer, "service", t.Service, "realm", realmOrDerived(realm),
		"htpasswd", t.HTPasswd, "kid", issuer.KeyID())
	return &tokenAuth{authorizer: v, handler: h}, nil
}

// signingKey loads the configured signing key, or creates one under the
// storage root on first start; in-memory storage gets a key per process.
func signingKey(cfg *config.Config, log *slog.Logger) (crypto.Signer, error) {
	path, create := cfg.TokenSigningKey()
	switch {
	case path == "" && cfg.Storage.Driver == config.DriverS3:
		log.Warn("auth.token: no signing key configured; tokens do not survive a restart, and replicas sharing the bucket " +
			"reject each other's tokens: set auth.token.signingkey to one key file for every replica")
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case path == "":
		log.Warn("auth.token: no signing key configured and no storage root to keep one in; tokens do not survive a restart")
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case create:
		k, created, err := token.LoadOrCreateKey(path)
		if err != nil {
			return nil, fmt.Errorf("auth.token: signing key %s: %w", path, err)
		}
		if created {
			log.Info("auth.token: created a signing key", "path", path)
		}
		return k, nil
	default:
		k, err := token.LoadPrivateKey(path)
		if err != nil {
			return nil, fmt.Errorf("auth.token.signingkey: %w", err)
		}
		return k, nil
	}
}

func realmOrDerived(realm string) string {
	if realm == "" {
		return "(this server's /token)"
	}
	return realm
}

// withTokenEndpoint serves /token from token and everything else from api.
// A plain path check rather than a ServeMux: it sits in front of every
// registry request.
func withTokenEndpoint(api, token http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			token.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}
