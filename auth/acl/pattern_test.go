package acl

import (
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	tests := []struct {
		glob, name, account string
		want                bool
	}{
		{"team/*", "team/app", "", true},
		{"team/*", "team/a/b", "", false},
		{"team/*", "team", "", false},
		{"team/*", "teams/app", "", false},
		{"team/*", "xteam/app", "", false},
		{"library/**", "library/x", "", true},
		{"library/**", "library/x/y", "", true},
		{"library/**", "library", "", false},
		{"library/**", "librar/x", "", false},
		{"**", "a", "", true},
		{"**", "a/b/c", "", true},
		{"a/**/z", "a/b/z", "", true},
		{"a/**/z", "a/b/c/z", "", true},
		{"a/**/z", "a/z", "", false},
		{"a/**/z", "a/b/z/y", "", false},
		{"**/cache", "x/y/cache", "", true},
		{"**/**", "a", "", false},
		{"**/**", "a/b", "", true},
		{"app-*", "app-web", "", true},
		{"app-*", "app-", "", true},
		{"app-*", "web-app", "", false},
		{"*-app-*", "x-app-y", "", true},
		{"*-app-*", "x-ap-y", "", false},
		{"a*b*c", "abc", "", true},
		{"a*b*c", "axxbyyc", "", true},
		{"a*b*c", "acb", "", false},
		{"a*bc*bc", "abcbc", "", true},
		{"a*bc*bc", "abc", "", false},
		{"exact", "exact", "", true},
		{"exact", "exactly", "", false},
		{"${account}/**", "bob/x", "bob", true},
		{"${account}/**", "bob/x/y", "bob", true},
		{"${account}/**", "bob", "bob", false},
		{"${account}/**", "alice/x", "bob", false},
		{"${account}/**", "bobby/x", "bob", false},
		{"team-${account}/*", "team-bob/app", "bob", true},
		{"u/${account}-*", "u/bob-dev", "bob", true},
		// Neither the name nor the account is a pattern.
		{"${account}/**", "anything/x", "*", false},
		{"${account}/**", "*/x", "*", true},
		{"${account}/**", "a/b/x", "a/b", false},
		{"${account}/**", "a/x", "a/b", false},
		{"team/app", "team/*", "", false},
		{"team/*", "team/*", "", true},
		{"team/ap?", "team/app", "", false},
		{"team/ap?", "team/ap?", "", true},
		{"team/[a]pp", "team/app", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.glob+" "+tt.name+" "+tt.account, func(t *testing.T) {
			p, err := compile(tt.glob)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.match(tt.name, tt.account); got != tt.want {
				t.Errorf("%q matching %q as %q = %v, want %v", tt.glob, tt.name, tt.account, got, tt.want)
			}
		})
	}
}

func TestPatternCompileErrors(t *testing.T) {
	tests := []struct {
		glob, want string
	}{
		{"", "empty"},
		{"/team", "empty path segment"},
		{"team/", "empty path segment"},
		{"a//b", "empty path segment"},
		{"a/b**", "** must be a whole path segment"},
		{"***", "** must be a whole path segment"},
		{"${user}/*", "the only variable is ${account}"},
		{"$HOME/*", "the only variable is ${account}"},
		{"a{b}", "the only variable"},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			_, err := compile(tt.glob)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("compile(%q) = %v, want an error containing %q", tt.glob, err, tt.want)
			}
		})
	}
}

// TestPatternLongName bounds the work of many ** against a long name.
func TestPatternLongName(t *testing.T) {
	p, err := compile("**/**/**/**/**/**/x")
	if err != nil {
		t.Fatal(err)
	}
	name := strings.Repeat("a/", 127) + "b"
	if p.match(name, "") {
		t.Error("matched")
	}
}
