package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

const (
	selfIssued = minimal + "auth:\n  token:\n    htpasswd: /etc/berth/htpasswd\n"
	external   = minimal + "auth:\n  token:\n    realm: https://auth.example.com/token\n    rootcertbundle: /certs.pem\n"
)

func TestTokenLoad(t *testing.T) {
	defaults := func(htpasswd string) *Token {
		tok := &Token{Service: "berth", Issuer: "berth", Expiration: 5 * time.Minute, HTPasswd: htpasswd}
		if htpasswd != "" {
			tok.ACL = DefaultACL()
		}
		return tok
	}
	tests := []struct {
		name     string
		yaml     string
		env      []string
		want     *Token
		warnings []string
	}{
		{name: "no auth", yaml: minimal},
		{name: "empty auth", yaml: minimal + "auth:\n"},
		{name: "htpasswd only", yaml: selfIssued, want: defaults("/etc/berth/htpasswd")},
		{name: "empty acl denies all", yaml: selfIssued + "    acl: []\n",
			want: func() *Token { t := defaults("/etc/berth/htpasswd"); t.ACL = []ACLRule{}; return t }()},
		{name: "null acl is the default", yaml: selfIssued + "    acl:\n", want: defaults("/etc/berth/htpasswd")},
		{name: "external issuer", yaml: external, want: &Token{Service: "berth", Issuer: "berth", Expiration: 5 * time.Minute,
			Realm: "https://auth.example.com/token", RootCertBundle: "/certs.pem"}},
		{name: "auth: token with the environment", yaml: minimal + "auth: token\n",
			env: []string{"REGISTRY_AUTH_TOKEN_HTPASSWD=/h"}, want: defaults("/h")},
		{name: "environment alone", yaml: minimal, env: []string{"REGISTRY_AUTH_TOKEN_HTPASSWD=/h"}, want: defaults("/h")},
		{name: "REGISTRY_AUTH=token", yaml: minimal, env: []string{"REGISTRY_AUTH=token", "REGISTRY_AUTH_TOKEN_HTPASSWD=/h"}, want: defaults("/h")},
		{name: "environment over the file", yaml: selfIssued + "    expiration: 1h\n    service: file\n",
			env: []string{
				"REGISTRY_AUTH_TOKEN_REALM=https://r.example.com/token", "REGISTRY_AUTH_TOKEN_SERVICE=env",
				"REGISTRY_AUTH_TOKEN_ISSUER=iss", "REGISTRY_AUTH_TOKEN_HTPASSWD=/env/htpasswd",
				"REGISTRY_AUTH_TOKEN_SIGNINGKEY=/k.pem", "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE=/c.pem",
				"REGISTRY_AUTH_TOKEN_JWKS=/j.json", "REGISTRY_AUTH_TOKEN_EXPIRATION=90s", "REGISTRY_AUTH_TOKEN_CATALOG=NONE",
			},
			want: &Token{Realm: "https://r.example.com/token", Service: "env", Issuer: "iss", HTPasswd: "/env/htpasswd",
				SigningKey: "/k.pem", RootCertBundle: "/c.pem", JWKS: "/j.json", Expiration: 90 * time.Second,
				Catalog: "none", ACL: DefaultACL()}},
		{name: "anchors", yaml: selfIssued + "    groups:\n      ops: &ops [alice]\n      all: *ops\n    acl:\n" +
			"      - &pull {account: \"*\", name: \"library/**\", actions: [pull]}\n      - *pull\n",
			want: func() *Token {
				t := defaults("/etc/berth/htpasswd")
				t.Groups = map[string][]string{"ops": {"alice"}, "all": {"alice"}}
				r := ACLRule{Account: "*", Name: "library/**", Actions: []string{"pull"}}
				t.ACL = []ACLRule{r, r}
				return t
			}()},
		{name: "registry:2 keys", yaml: external + "    service: registry\n    issuer: auth\n    autoredirect: true\n    signingalgorithms: [RS256]\n",
			want: &Token{Realm: "https://auth.example.com/token", RootCertBundle: "/certs.pem", Service: "registry", Issuer: "auth", Expiration: 5 * time.Minute},
			warnings: []string{
				"auth.token.autoredirect: ignored: the realm is auth.token.realm, http.host + /token, or derived from the listening address",
				"auth.token.signingalgorithms: ignored: the algorithm follows from each trusted key's type",
			}},
		{name: "ignored variable does not turn auth on", yaml: minimal, env: []string{"REGISTRY_AUTH_TOKEN_AUTOREDIRECT=true", "REGISTRY_AUTH_TOKEN_ACL=x"},
			warnings: []string{
				"REGISTRY_AUTH_TOKEN_ACL: auth.token.acl cannot be set from the environment; set it in the configuration file",
				"REGISTRY_AUTH_TOKEN_AUTOREDIRECT: ignored (auth.token.autoredirect): the realm is auth.token.realm, http.host + /token, or derived from the listening address",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, warnings, err := Load(strings.NewReader(tt.yaml), tt.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(c.Auth.Token, tt.want) {
				t.Errorf("auth.token = %+v\nwant %+v", c.Auth.Token, tt.want)
			}
			if !reflect.DeepEqual(warnings, tt.warnings) {
				t.Errorf("warnings = %q\nwant %q", warnings, tt.warnings)
			}
		})
	}
}

func TestTokenLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		env  []string
		want []string
	}{
		{"relative realm", selfIssued + "    realm: /token\n", nil, []string{`auth.token.realm: "/token" is not an absolute URL such as https://registry.example.com/token (line 7)`}},
		{"ftp realm", selfIssued + "    realm: ftp://x/token\n", nil, []string{`auth.token.realm: "ftp://x/token" is not an absolute URL`}},
		{"realm from env", selfIssued, []string{"REGISTRY_AUTH_TOKEN_REALM=example.com"}, []string{`REGISTRY_AUTH_TOKEN_REALM: "example.com" is not an absolute URL`}},
		{"empty service from env", selfIssued, []string{"REGISTRY_AUTH_TOKEN_SERVICE="}, []string{"REGISTRY_AUTH_TOKEN_SERVICE: must not be empty"}},
		{"zero expiration", selfIssued + "    expiration: 0s\n", nil, []string{"auth.token.expiration: must be positive"}},
		{"bad expiration", selfIssued + "    expiration: 5 minutes\n", nil, []string{`auth.token.expiration: "5 minutes" is not a duration`}},
		{"bad catalog", selfIssued + "    catalog: everyone\n", nil, []string{`auth.token.catalog: "everyone" is not one of authenticated, anyone, none`}},
		{"nothing configured", minimal + "auth: token\n", nil, []string{"auth.token.realm: required with an external token issuer", "auth.token: an external token issuer needs auth.token.rootcertbundle or auth.token.jwks"}},
		{"external without keys", minimal + "auth:\n  token:\n    realm: https://a.example.com/token\n", nil, []string{"needs auth.token.rootcertbundle or auth.token.jwks"}},
		{"external with access settings", external + "    signingkey: /k\n    catalog: anyone\n    groups: {a: [b]}\n    acl: []\n", nil, []string{
			"auth.token.signingkey: only used when the registry issues tokens itself",
			"auth.token.catalog: only used", "auth.token.groups: only used", "auth.token.acl: only used"}},
		{"silly", minimal + "auth:\n  silly:\n    realm: r\n", nil, []string{"auth.silly: silly authentication is not supported; use auth.token"}},
		{"silly from env", minimal, []string{"REGISTRY_AUTH=silly"}, []string{"REGISTRY_AUTH: silly authentication is not supported"}},
		{"unknown token key", selfIssued + "    expiraton: 5m\n", nil, []string{"auth.token.expiraton: unknown key (line 7); did you mean expiration?"}},
		{"acl not a list", selfIssued + "    acl: {account: a}\n", nil, []string{"auth.token.acl: must be a list (line 7)"}},
		{"rule not a mapping", selfIssued + "    acl: [alice]\n", nil, []string{"auth.token.acl[0]: must be a mapping such as"}},
		{"misspelled rule key", selfIssued + "    acl:\n      - {account: a, name: b, action: [pull]}\n", nil,
			[]string{"auth.token.acl[0].action: unknown key (line 8); did you mean actions?"}},
		{"repeated rule key", selfIssued + "    acl:\n      - {account: a, account: b, name: c, actions: [pull]}\n", nil,
			[]string{"auth.token.acl[0].account: repeated key"}},
		{"actions not a list", selfIssued + "    acl:\n      - {account: a, name: b, actions: pull}\n", nil,
			[]string{"auth.token.acl[0].actions: must be a list of actions, such as [pull, push] (line 8)"}},
		{"account a list", selfIssued + "    acl:\n      - {account: [a], name: b, actions: [pull]}\n", nil,
			[]string{"auth.token.acl[0].account: must be a single value"}},
		{"unknown action", selfIssued + "    acl:\n      - {account: a, name: b, actions: [pull]}\n      - {account: a, name: b, actions: [pull, write]}\n", nil,
			[]string{`auth.token.acl[1].actions: "write" is not one of pull, push, delete, * (line 9)`}},
		{"missing fields", selfIssued + "    acl:\n      - {actions: []}\n", nil,
			[]string{"auth.token.acl[0].account: must not be empty", "auth.token.acl[0].name: must not be empty", "auth.token.acl[0].actions: must not be empty"}},
		{"undefined group", selfIssued + "    groups: {ops: [a]}\n    acl:\n      - {account: group:admins, name: b, actions: [pull]}\n", nil,
			[]string{`auth.token.acl[0].account: group "admins" is not defined in auth.token.groups`}},
		{"groups not a mapping", selfIssued + "    groups: [a]\n", nil, []string{"auth.token.groups: must be a mapping of keys to values (line 7)"}},
		{"members not a list", selfIssued + "    groups:\n      ops: alice\n", nil, []string{"auth.token.groups.ops: must be a list of accounts, such as [alice, bob] (line 8)"}},
		{"empty member", selfIssued + "    groups:\n      ops: [alice, \"\"]\n", nil, []string{"auth.token.groups.ops: account must not be empty"}},
		{"empty group name", selfIssued + "    groups:\n      \"\": [alice]\n", nil, []string{"auth.token.groups: group name must not be empty"}},
		{"repeated group", selfIssued + "    groups:\n      ops: [a]\n      ops: [b]\n", nil, []string{"auth.token.groups.ops: repeated group (line 9)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(strings.NewReader(tt.yaml), tt.env)
			if err == nil {
				t.Fatalf("Load succeeded with %+v", c.Auth.Token)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}

func TestTokenValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *Token)
		want   string
	}{
		{"ok", func(*Token) {}, ""},
		{"realm", func(t *Token) { t.Realm = "token" }, `auth.token.realm: "token" is not an absolute URL`},
		{"issuer", func(t *Token) { t.Issuer = "" }, "auth.token.issuer: must not be empty"},
		{"expiration", func(t *Token) { t.Expiration = -time.Second }, "auth.token.expiration: must be positive"},
		{"catalog", func(t *Token) { t.Catalog = "all" }, `auth.token.catalog: "all" is not one of`},
		{"rule", func(t *Token) { t.ACL = []ACLRule{{Account: " ", Name: "x", Actions: []string{"pull"}}} }, "auth.token.acl[0].account: must not be empty"},
		{"group", func(t *Token) { t.Groups = map[string][]string{"ops": {""}} }, "auth.token.groups.ops: must not be empty"},
		{"external", func(t *Token) { t.HTPasswd, t.ACL = "", nil }, "auth.token.realm: required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Auth.Token = newToken()
			c.Auth.Token.HTPasswd = "/h"
			c.Auth.Token.ACL = DefaultACL()
			tt.change(c.Auth.Token)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestTokenRealmAndKey(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		realm     string
		key       string
		createKey bool
	}{
		{"no auth", DefaultYAML(), "", "", false},
		{"nothing set", strings.Replace(DefaultYAML(), "http:\n", "auth:\n  token:\n    htpasswd: /h\nhttp:\n", 1),
			"", "data/berth/token.key", true},
		{"from http.host", strings.Replace(DefaultYAML(), "http:\n", "auth:\n  token:\n    htpasswd: /h\nhttp:\n  host: https://r.example.com/\n", 1),
			"https://r.example.com/token", "data/berth/token.key", true},
		{"set", selfIssued + "    realm: https://a.example.com/auth\n    signingkey: /k.pem\n", "https://a.example.com/auth", "/k.pem", false},
		{"in memory", selfIssued, "", "", false},
		{"external", external, "https://auth.example.com/token", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := Load(strings.NewReader(tt.yaml), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.TokenRealm(); got != tt.realm {
				t.Errorf("TokenRealm() = %q, want %q", got, tt.realm)
			}
			if key, create := c.TokenSigningKey(); key != tt.key || create != tt.createKey {
				t.Errorf("TokenSigningKey() = %q, %v; want %q, %v", key, create, tt.key, tt.createKey)
			}
		})
	}
}
