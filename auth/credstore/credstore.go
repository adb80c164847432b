// Package credstore is ctl's client-side credential store, compatible with
// docker's: credentials saved by `docker login` work for ctl, and the
// reverse.
//
// Credentials live where docker keeps them. The configuration file is
// config.json in a directory the caller chooses (DefaultDir resolves
// docker's $DOCKER_CONFIG, else ~/.docker). Per registry, the file names a
// credential helper in "credHelpers", else the default helper in
// "credsStore"; with neither (or an empty name) the credentials are kept in
// the file itself, under "auths", as docker writes them:
//
//	{
//		"auths": {
//			"https://index.docker.io/v1/": {"auth": "<base64 user:password>"},
//			"registry.example.com:5000": {"auth": "<base64 user:>", "identitytoken": "<refresh token>"}
//		},
//		"credsStore": "desktop",
//		"credHelpers": {"ghcr.io": "pass"}
//	}
//
// A helper is the program docker-credential-<name>, spoken to with the
// docker credential helper protocol (get, store, erase over stdin and
// stdout). An identity token given to a helper travels as the secret of the
// user "<token>", as docker does. With a helper, docker still keeps an entry
// (without secrets) under "auths", and any registry token there; so does
// this package.
//
// Docker Hub is keyed "https://index.docker.io/v1/" (for docker.io,
// index.docker.io and registry-1.docker.io); other registries by their bare
// host[:port]. Lookups also find keys older docker versions wrote, such as
// "https://host", "http://host:port" or "host/v1/".
//
// The file is rewritten only in "auths", and atomically (a synced temporary
// file renamed over it): every other field, known to docker or not, is kept
// as it was, and readers see the old file or the new one. Writers in this
// package take an advisory lock on the directory, so concurrent logins do
// not lose each other's updates; docker itself takes no lock.
package credstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Errors returned by the Store, wrapped with the registry or file concerned;
// check them with errors.Is.
var (
	// ErrNotLoggedIn: Erase found no credentials for the registry.
	ErrNotLoggedIn = errors.New("not logged in")
	// ErrInvalidConfig: config.json cannot be used (not JSON, wrong types,
	// an undecodable "auth", a helper name with a path in it).
	ErrInvalidConfig = errors.New("invalid docker configuration file")
	// ErrHelperNotFound: the configured docker-credential-<name> program is
	// not in the helper search path.
	ErrHelperNotFound = errors.New("credential helper not found")
	// ErrInvalidCredential: Store was given a credential that cannot be
	// saved (nothing in it, a password without a user name, ...).
	ErrInvalidCredential = errors.New("invalid credential")
)

// ConfigFileName is the name of docker's configuration file in its
// directory.
const ConfigFileName = "config.json"

// DefaultDir returns the directory docker reads config.json from:
// $DOCKER_CONFIG when set, else .docker in home. getenv is how the caller
// reads its environment (os.Getenv in ctl); home is the user's home
// directory. It fails when neither gives a directory.
func DefaultDir(getenv func(string) string, home string) (string, error) {
	if getenv != nil {
		if dir := getenv("DOCKER_CONFIG"); dir != "" {
			return dir, nil
		}
	}
	if home == "" {
		return "", errors.New("credstore: no docker configuration directory: DOCKER_CONFIG is unset and the home directory is unknown")
	}
	return filepath.Join(home, ".docker"), nil
}

// Store reads and writes registry credentials the way docker does. It is
// safe for concurrent use.
type Store struct {
	dir    string
	path   string
	helper helperRunner
	mu     sync.Mutex // serialises this Store's read-modify-write cycles
}

// Option configures a Store.
type Option func(*options) error

type options struct {
	helperPath *string
	stderr     io.Writer
}

// WithHelperPath sets the search path for docker-credential-* programs, in
// the form of $PATH (directories separated by os.PathListSeparator). Empty
// entries are ignored. Without it, helpers are found with exec.LookPath in
// the process's $PATH.
func WithHelperPath(pathList string) Option {
	return func(o *options) error {
		o.helperPath = &pathList
		return nil
	}
}

// WithHelperStderr sends what credential helpers write to their standard
// error to w as well (docker passes it to its own). Without it, the last
// few kilobytes are only kept for error messages.
func WithHelperStderr(w io.Writer) Option {
	return func(o *options) error {
		if w == nil {
			return errors.New("credstore: WithHelperStderr: nil writer")
		}
		o.stderr = w
		return nil
	}
}

// New returns a Store over config.json in dir (see DefaultDir). Neither the
// directory nor the file need exist: Store creates them (the directory with
// mode 0700, the file with 0600) when it first saves something. New reads
// nothing and fails only for an empty dir or a bad option.
func New(dir string, opts ...Option) (*Store, error) {
	if dir == "" {
		return nil, errors.New("credstore: empty configuration directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("credstore: %w", err)
	}
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	return &Store{
		dir:    abs,
		path:   filepath.Join(abs, ConfigFileName),
		helper: helperRunner{path: o.helperPath, stderr: o.stderr},
	}, nil
}

// Path returns the absolute path of the config.json the Store uses (it may
// not exist yet). ctl names it in docker's warning when Store reports
// credentials kept unencrypted.
func (s *Store) Path() string { return s.path }

// Get returns the credentials saved for host, a registry host[:port] (or
// docker.io, or a URL such as https://host:port/v1/). No saved credentials
// is not an error: Get returns the zero Credential and nil, also when a
// helper answers that it holds none. It fails for an empty host, an
// unusable config.json (ErrInvalidConfig, naming the file), a helper that
// cannot be found (ErrHelperNotFound) or that fails, and when ctx ends
// while a helper runs.
func (s *Store) Get(ctx context.Context, host string) (Credential, error) {
	key, err := authKey(host)
	if err != nil {
		return Credential{}, err
	}
	if err := ctx.Err(); err != nil {
		return Credential{}, err
	}
	cfg, err := loadConfig(s.path)
	if err != nil {
		return Credential{}, err
	}
	helper, err := cfg.helperFor(key)
	if err != nil {
		return Credential{}, err
	}
	fileKey, entry := cfg.lookup(key)
	if helper == "" {
		return cfg.credential(fileKey, entry)
	}
	cred, err := s.helper.get(ctx, helper, key)
	if err != nil {
		return Credential{}, err
	}
	// Docker keeps a registry token in the file even with a helper.
	cred.RegistryToken, _ = entry.str("registrytoken")
	return cred, nil
}

// Store saves cred for host (as in Get), replacing what was saved for it.
// The secrets go to the credential helper config.json names for host, if
// any; otherwise into config.json. insecure is true when a password or
// identity token ended up in config.json (only base64-encoded): ctl then
// prints docker's warning, "WARNING! Your credentials are stored
// unencrypted in '<Path()>'." (docker only warns for passwords). Store
// fails for an invalid cred (ErrInvalidCredential), for the reasons Get
// does, and when the file cannot be written; config.json is then as it was.
func (s *Store) Store(ctx context.Context, host string, cred Credential) (insecure bool, err error) {
	key, err := authKey(host)
	if err != nil {
		return false, err
	}
	if err := cred.validate(); err != nil {
		return false, fmt.Errorf("credstore: %s: %w", key, err)
	}
	err = s.update(ctx, true, func(cfg *configFile) (bool, error) {
		helper, err := cfg.helperFor(key)
		if err != nil {
			return false, err
		}
		entry := cfg.lookupExact(key)
		if helper != "" && (cred.Password != "" || cred.IdentityToken != "") {
			if err := s.helper.store(ctx, helper, key, cred); err != nil {
				return false, err
			}
			cfg.setEntry(key, entry.with(Credential{RegistryToken: cred.RegistryToken}))
			return true, nil
		}
		cfg.setEntry(key, entry.with(cred))
		insecure = cred.Password != "" || cred.IdentityToken != ""
		return true, nil
	})
	if err != nil {
		return false, err
	}
	return insecure, nil
}

// Erase removes the credentials saved for host (as in Get): from its
// credential helper, if config.json names one, and every entry for host
// under "auths", including those under older docker key forms. It fails
// with an error matching ErrNotLoggedIn when neither held any, and for the
// reasons Store does; a helper that fails leaves config.json as it was.
func (s *Store) Erase(ctx context.Context, host string) error {
	key, err := authKey(host)
	if err != nil {
		return err
	}
	return s.update(ctx, false, func(cfg *configFile) (bool, error) {
		helper, err := cfg.helperFor(key)
		if err != nil {
			return false, err
		}
		erased := false
		if helper != "" {
			if erased, err = s.helper.erase(ctx, helper, key); err != nil {
				return false, err
			}
		}
		keys := cfg.matchingKeys(key)
		if len(keys) == 0 && !erased {
			return false, fmt.Errorf("credstore: %s: %w", key, ErrNotLoggedIn)
		}
		cfg.deleteEntries(keys)
		return len(keys) > 0, nil
	})
}

// update runs change over the current config.json while holding the
// Store's lock and the directory's, and saves the result when change
// reports a change. create makes the directory first when it is missing;
// without it, a missing directory is left alone (change then sees an empty
// file and must not report a change).
func (s *Store) update(ctx context.Context, create bool, change func(*configFile) (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if create {
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return fmt.Errorf("credstore: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	unlock, err := lockDir(ctx, s.dir)
	if err != nil {
		return err
	}
	defer unlock()
	cfg, err := loadConfig(s.path)
	if err != nil {
		return err
	}
	changed, err := change(cfg)
	if err != nil || !changed {
		return err
	}
	return cfg.save()
}
