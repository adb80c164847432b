package config

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Auth is the "auth" section.
type Auth struct {
	// Token is "auth.token": docker token authentication. Nil when the
	// configuration has none: the registry serves anonymously.
	Token *Token
}

// Token is "auth.token". With HTPasswd set the registry is its own token
// issuer: it serves /token, checks passwords against the htpasswd file and
// grants what ACL allows. Without it an external issuer (at Realm) signs
// the tokens, and RootCertBundle or JWKS hold its public keys.
type Token struct {
	// Realm is "auth.token.realm": the absolute http(s) URL clients get
	// tokens from. Empty: the registry's own /token (see Config.TokenRealm).
	Realm string
	// Service is "auth.token.service": the service name in challenges and
	// the audience of tokens; "berth" when absent.
	Service string
	// Issuer is "auth.token.issuer": the issuer of tokens; "berth" when
	// absent.
	Issuer string
	// HTPasswd is "auth.token.htpasswd": the bcrypt htpasswd file of users.
	// Set, the registry issues tokens itself.
	HTPasswd string
	// SigningKey is "auth.token.signingkey": the PEM private key the
	// registry signs tokens with. Empty: see Config.TokenSigningKey.
	SigningKey string
	// RootCertBundle is "auth.token.rootcertbundle": PEM certificates whose
	// keys are trusted to sign tokens, besides the signing key's own.
	RootCertBundle string
	// JWKS is "auth.token.jwks": a JSON Web Key Set file of public keys
	// trusted to sign tokens, besides the signing key's own.
	JWKS string
	// Expiration is "auth.token.expiration": the lifetime of the tokens the
	// registry issues; 5m when absent.
	Expiration time.Duration
	// Catalog is "auth.token.catalog": who may list the repositories:
	// "authenticated" (any account; the meaning of ""), "anyone" or
	// "none". The names of auth/acl's Catalog values.
	Catalog string
	// Groups is "auth.token.groups": group name -> accounts. An ACL rule's
	// account "group:NAME" stands for the accounts of group NAME.
	Groups map[string][]string
	// ACL is "auth.token.acl": the access rules, in auth/acl's syntax.
	// When the key is absent and HTPasswd is set, DefaultACL.
	ACL []ACLRule
}

// ACLRule is one entry of "auth.token.acl": the caller (a name, "*",
// "anonymous", "${account}" or "group:NAME") may perform Actions (pull,
// push, delete, "*") on the repositories matching the glob Name. It is
// auth/acl's Rule; cmd/registry converts one into the other.
type ACLRule struct {
	Account string
	Name    string
	Actions []string
}

// DefaultACL is the access of a self-issuing configuration without
// "auth.token.acl": every authenticated account may pull, push and delete
// every repository, as with registry:2's htpasswd authentication; anonymous
// callers may do nothing.
func DefaultACL() []ACLRule {
	return []ACLRule{{Account: "*", Name: "**", Actions: []string{"*"}}}
}

// SelfIssued reports whether the registry issues tokens itself (HTPasswd is
// set) rather than trusting an external issuer.
func (t *Token) SelfIssued() bool { return t.HTPasswd != "" }

// TokenRealm returns the realm clients are sent to: auth.token.realm, else
// http.host followed by /token, else "" when neither is set (the caller
// then derives the URL from the request or the listening address).
func (c *Config) TokenRealm() string {
	switch {
	case c.Auth.Token == nil:
		return ""
	case c.Auth.Token.Realm != "":
		return c.Auth.Token.Realm
	case c.HTTP.Host != "":
		return strings.TrimSuffix(c.HTTP.Host, "/") + "/token"
	}
	return ""
}

// TokenSigningKey returns the file of the key the registry signs tokens
// with and whether it is to be created when missing. It is
// auth.token.signingkey when set (never created: a missing file is an
// error); else <rootdirectory>/berth/token.key with filesystem storage,
// created on first start; else "" (in-memory storage: a key generated at
// each start, so tokens do not outlive the process). "" when the registry
// issues no tokens.
func (c *Config) TokenSigningKey() (path string, create bool) {
	t := c.Auth.Token
	switch {
	case t == nil || !t.SelfIssued():
		return "", false
	case t.SigningKey != "":
		return t.SigningKey, false
	case c.Storage.Driver == DriverFilesystem:
		return filepath.Join(c.Storage.Filesystem.RootDirectory, "berth", "token.key"), true
	}
	return "", false
}

// newToken returns the values an "auth.token" section starts from.
func newToken() *Token {
	return &Token{Service: "berth", Issuer: "berth", Expiration: 5 * time.Minute}
}

// catalogPolicies are the values of auth.token.catalog.
var catalogPolicies = []string{"authenticated", "anyone", "none"}

// aclActions are the actions an ACL rule may grant.
var aclActions = []string{"pull", "push", "delete", "*"}

func (l *loader) authSchema() *node {
	t := l.token
	token := sec(map[string]*node{
		"realm":          val(str(&t.Realm, checkRealm)),
		"service":        val(str(&t.Service, checkNotEmpty)),
		"issuer":         val(str(&t.Issuer, checkNotEmpty)),
		"htpasswd":       val(str(&t.HTPasswd, checkNotEmpty)),
		"signingkey":     val(str(&t.SigningKey, checkNotEmpty)),
		"rootcertbundle": val(str(&t.RootCertBundle, checkNotEmpty)),
		"jwks":           val(str(&t.JWKS, checkNotEmpty)),
		"expiration":     val(duration(&t.Expiration)),
		"catalog":        val(enum(&t.Catalog, catalogPolicies...)),
		"groups":         {kind: mapping, decode: groups(&t.Groups)},
		"acl": {kind: sequence, decode: func(name string, n *yaml.Node) error {
			l.aclSet = true
			return aclRules(&t.ACL)(name, n)
		}},
		"autoredirect":      ignore("the realm is auth.token.realm, http.host + /token, or derived from the listening address"),
		"autoredirectpath":  ignore("the registry's own token endpoint is /token"),
		"signingalgorithms": ignore("the algorithm follows from each trusted key's type"),
	})
	token.enter = func() { l.cfg.Auth.Token = t }
	return &node{kind: section, choices: []string{"htpasswd", "token", "silly"}, keys: map[string]*node{
		"htpasswd": reject(noHTPasswd),
		"token":    token,
		"silly":    reject("silly authentication is not supported; use auth.token"),
	}}
}

const noHTPasswd = "basic authentication is not supported, and Berth will not serve without the authentication this configures; " +
	"set auth.token.htpasswd to the htpasswd file instead: the registry then issues tokens to its users itself"

// finishAuth applies the defaults that depend on several keys.
func (l *loader) finishAuth() {
	if t := l.cfg.Auth.Token; t != nil && t.SelfIssued() && !l.aclSet {
		t.ACL = DefaultACL()
	}
}

// checkRealm accepts an absolute http(s) URL.
func checkRealm(r string) error {
	u, err := url.Parse(r)
	if r == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL such as https://registry.example.com/token", r)
	}
	return nil
}

// checkAccount checks the syntax of an account or group name: auth/acl
// checks the rest when it compiles the rules.
func checkAccount(a string) error {
	if strings.TrimSpace(a) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// checkRule checks an ACL rule's syntax. Errors start with the field.
func checkRule(r ACLRule) []error {
	var errs []error
	if err := checkAccount(r.Account); err != nil {
		errs = append(errs, fmt.Errorf("account: %w; use a name, *, anonymous, ${account} or group:NAME", err))
	}
	if r.Name == "" {
		errs = append(errs, errors.New("name: must not be empty; use a repository name pattern such as team/*"))
	}
	if len(r.Actions) == 0 {
		errs = append(errs, errors.New("actions: must not be empty; use a list of pull, push, delete or *"))
	}
	for _, a := range r.Actions {
		if err := checkEnum(a, aclActions...); err != nil {
			errs = append(errs, fmt.Errorf("actions: %w", err))
		}
	}
	return errs
}

func (t *Token) validate() []error {
	var errs []error
	check := func(key string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("auth.token.%s: %w", key, err))
		}
	}
	if t.Realm != "" {
		check("realm", checkRealm(t.Realm))
	}
	check("service", checkNotEmpty(t.Service))
	check("issuer", checkNotEmpty(t.Issuer))
	if t.Expiration <= 0 {
		check("expiration", errors.New("must be positive"))
	}
	if t.Catalog != "" {
		check("catalog", checkEnum(t.Catalog, catalogPolicies...))
	}
	if !t.SelfIssued() {
		return append(errs, t.validateExternal()...)
	}
	for g, members := range t.Groups {
		check("groups", checkAccount(g))
		for _, m := range members {
			check("groups."+g, checkAccount(m))
		}
	}
	for i, r := range t.ACL {
		for _, err := range checkRule(r) {
			errs = append(errs, fmt.Errorf("auth.token.acl[%d].%w", i, err))
		}
		if g, ok := strings.CutPrefix(r.Account, "group:"); ok {
			if _, defined := t.Groups[g]; !defined {
				check(fmt.Sprintf("acl[%d].account", i), fmt.Errorf("group %q is not defined in auth.token.groups", g))
			}
		}
	}
	return errs
}

// validateExternal checks a configuration trusting an external issuer.
func (t *Token) validateExternal() []error {
	var errs []error
	const hint = "set auth.token.htpasswd for the registry to issue tokens itself"
	if t.Realm == "" {
		errs = append(errs, fmt.Errorf("auth.token.realm: required with an external token issuer; %s", hint))
	}
	if t.RootCertBundle == "" && t.JWKS == "" {
		errs = append(errs, fmt.Errorf("auth.token: an external token issuer needs auth.token.rootcertbundle or auth.token.jwks (its public keys); %s", hint))
	}
	for _, k := range []struct {
		key string
		set bool
	}{
		{"signingkey", t.SigningKey != ""},
		{"catalog", t.Catalog != ""},
		{"groups", t.Groups != nil},
		{"acl", t.ACL != nil},
	} {
		if k.set {
			errs = append(errs, fmt.Errorf("auth.token.%s: only used when the registry issues tokens itself (auth.token.htpasswd); an external issuer decides access", k.key))
		}
	}
	return errs
}
