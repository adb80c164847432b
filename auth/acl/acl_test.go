package acl

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berthhq/berth/auth"
)

// issueRules are the example rules of the token auth issue.
var issueRules = []Rule{
	{Account: "alice", Name: "alice/*", Actions: []string{"pull", "push", "delete"}},
	{Account: "*", Name: "library/**", Actions: []string{"pull"}},
	{Account: "anonymous", Name: "public/**", Actions: []string{"pull"}},
	{Account: "${account}", Name: "${account}/**", Actions: []string{"pull", "push"}},
}

func repo(name string, actions ...string) auth.Access {
	return auth.Access{Type: auth.TypeRepository, Name: name, Actions: actions}
}

func TestAllowed(t *testing.T) {
	rules := append(issueRules,
		Rule{Account: "group:admins", Name: "**", Actions: []string{"*"}},
		Rule{Account: "carol", Name: "shared/app", Actions: []string{"pull"}},
		Rule{Account: "carol", Name: "shared/*", Actions: []string{"push"}},
	)
	groups := map[string][]string{"admins": {"root", "ops"}, "empty": nil}
	a, err := New(rules, groups)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		account string
		access  auth.Access
		want    []string
	}{
		{"alice pushes alice/app", "alice", repo("alice/app", "pull", "push"), []string{"pull", "push"}},
		{"alice deletes alice/app", "alice", repo("alice/app", "delete"), []string{"delete"}},
		{"alice cannot push bob/app", "alice", repo("bob/app", "pull", "push"), nil},
		{"alice/* is one level", "alice", repo("alice/a/b", "delete"), nil},
		{"alice's own namespace is deeper", "alice", repo("alice/a/b", "push"), []string{"push"}},
		{"bob pushes bob/x", "bob", repo("bob/x", "pull", "push"), []string{"pull", "push"}},
		{"bob cannot delete bob/x", "bob", repo("bob/x", "delete"), nil},
		{"bob cannot push alice/x", "bob", repo("alice/x", "push"), nil},
		{"bob does not own top-level bob", "bob", repo("bob", "push"), nil},
		{"logged in pulls library/a/b", "bob", repo("library/a/b", "pull", "push"), []string{"pull"}},
		{"anonymous pulls public/x", "", repo("public/x", "pull"), []string{"pull"}},
		{"anonymous pushes nothing", "", repo("public/x", "push"), nil},
		{"anonymous cannot pull library", "", repo("library/a/b", "pull"), nil},
		{"anonymous gets no ${account}", "", repo("/x", "pull"), nil},
		{"accounts get what anonymous gets", "bob", repo("public/x", "pull"), []string{"pull"}},
		{"star asks for all", "alice", repo("alice/app", "*"), []string{"pull", "push", "delete"}},
		{"star gets the subset", "bob", repo("bob/x", "*"), []string{"pull", "push"}},
		{"result in canonical order", "alice", repo("alice/app", "delete", "pull"), []string{"pull", "delete"}},
		{"unknown action", "alice", repo("alice/app", "pull", "frob"), []string{"pull"}},
		{"group member", "ops", repo("anything/at/all", "*"), []string{"pull", "push", "delete"}},
		{"not a group member", "dave", repo("anything", "pull"), nil},
		{"group name is not an account", "admins", repo("anything", "pull"), nil},
		{"union of rules", "carol", repo("shared/app", "pull", "push"), []string{"pull", "push"}},
		{"union needs both to match", "carol", repo("shared/lib", "pull", "push"), []string{"push"}},
		{"glob in name matched literally", "alice", repo("alice/*", "push"), []string{"push"}},
		{"glob in account matched literally", "*", repo("anything/x", "push"), nil},
		{"account with a slash", "bob/x", repo("bob/x/y", "push"), nil},
		{"other resource type", "root", auth.Access{Type: "plugin", Name: "x", Actions: []string{"pull"}}, nil},
		{"catalog for an account", "bob", auth.Access{Type: auth.TypeRegistry, Name: auth.CatalogName, Actions: []string{"*"}}, []string{"*"}},
		{"catalog for anonymous", "", auth.Access{Type: auth.TypeRegistry, Name: auth.CatalogName, Actions: []string{"*"}}, nil},
		{"other registry resource", "root", auth.Access{Type: auth.TypeRegistry, Name: "gc", Actions: []string{"*"}}, nil},
		{"catalog with another action", "bob", auth.Access{Type: auth.TypeRegistry, Name: auth.CatalogName, Actions: []string{"pull"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := a.Allowed(tt.account, tt.access); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Allowed(%q, %s) = %q, want %q", tt.account, tt.access, got, tt.want)
			}
		})
	}
}

func TestNoRules(t *testing.T) {
	a, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, account := range []string{"", "alice"} {
		if got := a.Allowed(account, repo("x", "pull")); got != nil {
			t.Errorf("Allowed(%q) = %q without rules", account, got)
		}
	}
}

func TestCatalog(t *testing.T) {
	catalog := auth.Access{Type: auth.TypeRegistry, Name: auth.CatalogName, Actions: []string{"*"}}
	tests := []struct {
		catalog           Catalog
		anonymous, member bool
	}{
		{CatalogAuthenticated, false, true},
		{"", false, true},
		{CatalogAnyone, true, true},
		{CatalogNone, false, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.catalog), func(t *testing.T) {
			a, err := New(issueRules, nil, WithCatalog(tt.catalog))
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Allowed("", catalog) != nil; got != tt.anonymous {
				t.Errorf("anonymous may list: %v, want %v", got, tt.anonymous)
			}
			if got := a.Allowed("alice", catalog) != nil; got != tt.member {
				t.Errorf("alice may list: %v, want %v", got, tt.member)
			}
		})
	}
	if _, err := New(nil, nil, WithCatalog("everyone")); err == nil || !strings.Contains(err.Error(), `catalog: "everyone" is not one of`) {
		t.Errorf("New with an unknown catalog policy = %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	ok := Rule{Account: "alice", Name: "alice/*", Actions: []string{"pull"}}
	tests := []struct {
		name   string
		rules  []Rule
		groups map[string][]string
		want   []string
	}{
		{"empty account", []Rule{ok, {Name: "x", Actions: []string{"pull"}}}, nil, []string{"rule[1].account: empty"}},
		{"undefined group", []Rule{{Account: "group:admins", Name: "x", Actions: []string{"pull"}}}, nil,
			[]string{`rule[0].account: group "admins" is not defined in groups`}},
		{"bad account", []Rule{{Account: "al ice", Name: "x", Actions: []string{"pull"}}}, nil, []string{"rule[0].account:", "holds ' '"}},
		{"account pattern", []Rule{{Account: "team-*", Name: "x", Actions: []string{"pull"}}}, nil, []string{"rule[0].account:", "holds '*'"}},
		{"account variable in a name", []Rule{{Account: "x${account}", Name: "x", Actions: []string{"pull"}}}, nil, []string{"rule[0].account:"}},
		{"empty name", []Rule{{Account: "alice", Actions: []string{"pull"}}}, nil, []string{"rule[0].name: empty"}},
		{"bad glob", []Rule{{Account: "alice", Name: "a/**b", Actions: []string{"pull"}}}, nil, []string{"rule[0].name:", "whole path segment"}},
		{"anonymous with ${account}", []Rule{{Account: "anonymous", Name: "${account}/*", Actions: []string{"pull"}}}, nil,
			[]string{"rule[0].name:", "anonymous callers do not have"}},
		{"no actions", []Rule{{Account: "alice", Name: "x"}}, nil, []string{"rule[0].actions: empty"}},
		{"unknown action", []Rule{{Account: "alice", Name: "x", Actions: []string{"pull", "write"}}}, nil,
			[]string{`rule[0].actions: "write" is not one of pull, push, delete, *`}},
		{"bad group name", []Rule{ok}, map[string][]string{"a:b": {"alice"}}, []string{`groups: group "a:b" holds ':'`}},
		{"bad member", []Rule{ok}, map[string][]string{"admins": {"alice", ""}}, []string{"groups.admins: member name is empty"}},
		{"anonymous member", []Rule{ok}, map[string][]string{"admins": {"anonymous"}}, []string{"groups.admins: member", "reserved"}},
		{"every problem", []Rule{{Name: "x", Actions: []string{"pull"}}, {Account: "bob", Name: "", Actions: []string{"fly"}}}, nil,
			[]string{"rule[0].account", "rule[1].name", "rule[1].actions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.rules, tt.groups)
			if err == nil {
				t.Fatalf("New succeeded with %d rules", len(a.rules))
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}

// TestNewCopies checks that changing the inputs after New changes nothing.
func TestNewCopies(t *testing.T) {
	groups := map[string][]string{"admins": {"alice"}}
	rules := []Rule{{Account: "group:admins", Name: "x", Actions: []string{"push"}}}
	a, err := New(rules, groups)
	if err != nil {
		t.Fatal(err)
	}
	groups["admins"][0] = "mallory"
	rules[0].Actions[0] = "delete"
	if got := a.Allowed("alice", repo("x", "push")); !reflect.DeepEqual(got, []string{"push"}) {
		t.Errorf("Allowed(alice) = %q after the inputs changed", got)
	}
	if got := a.Allowed("mallory", repo("x", "push")); got != nil {
		t.Errorf("Allowed(mallory) = %q after the inputs changed", got)
	}
}
