package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/auth/acl"
	"github.com/berthhq/berth/auth/htpasswd"
	"github.com/berthhq/berth/auth/token"
	"github.com/berthhq/berth/registry/config"
)

// The token service's interfaces, as the packages that serve wires in
// implement them.
var (
	_ token.Authenticator = (*htpasswd.File)(nil)
	_ token.Policy        = (*acl.ACL)(nil)
)

func TestNewACL(t *testing.T) {
	yaml := "version: 0.1\nstorage: inmemory\nauth:\n  token:\n    htpasswd: /h\n    catalog: none\n" +
		"    groups: {ops: [carol]}\n    acl:\n" +
		"      - {account: alice, name: \"alice/*\", actions: [pull, push, delete]}\n" +
		"      - {account: group:ops, name: \"**\", actions: [\"*\"]}\n"
	cfg, _, err := config.Load(strings.NewReader(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newACL(cfg.Auth.Token)
	if err != nil {
		t.Fatal(err)
	}
	repo := func(name string) auth.Access {
		return auth.Access{Type: auth.TypeRepository, Name: name, Actions: []string{"*"}}
	}
	tests := []struct {
		account string
		access  auth.Access
		want    []string
	}{
		{"alice", repo("alice/app"), []string{"pull", "push", "delete"}},
		{"alice", repo("bob/app"), nil},
		{"carol", repo("bob/app"), []string{"pull", "push", "delete"}},
		{"carol", auth.Access{Type: auth.TypeRegistry, Name: auth.CatalogName, Actions: []string{"*"}}, nil},
	}
	for _, tt := range tests {
		if got := a.Allowed(tt.account, tt.access); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Allowed(%s, %s) = %q, want %q", tt.account, tt.access, got, tt.want)
		}
	}
}

func TestConfigCheckACL(t *testing.T) {
	const head = "version: 0.1\nstorage: inmemory\nauth:\n  token:\n    htpasswd: /h\n"
	tests := []struct {
		name   string
		yaml   string
		code   int
		stderr []string
	}{
		{"default rules", head, exitOK, nil},
		{"valid rules", head + "    acl:\n      - {account: \"${account}\", name: \"${account}/**\", actions: [pull]}\n", exitOK, nil},
		{"rules refused by auth/acl", head + "    groups: {ops: [anonymous]}\n    acl:\n" +
			"      - {account: al ice, name: \"a/**b\", actions: [pull]}\n", exitError, []string{
			"  auth.token: acl: groups.ops: member \"anonymous\" is reserved",
			"  auth.token: acl: rule[0].account: \"al ice\" holds ' '",
			"  auth.token: acl: rule[0].name: \"a/**b\": ** must be a whole path segment",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "config.yml", tt.yaml)
			code, _, stderr := runCLI(t, nil, "config", "check", path)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstderr: %s", code, tt.code, stderr)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not contain %q", stderr, want)
				}
			}
		})
	}
}
