package main

import (
	"maps"
	"testing"
)

func TestBearerChallenge(t *testing.T) {
	tests := []struct {
		name   string
		header string
		want   map[string]string // nil: not ok
	}{
		{"realm and service", `Bearer realm="http://127.0.0.1:5000/token",service="berth"`,
			map[string]string{"realm": "http://127.0.0.1:5000/token", "service": "berth"}},
		{"scope with commas, spaces, case", `bearer Realm="https://r/token", service="s",scope="repository:a/b:pull,push"`,
			map[string]string{"realm": "https://r/token", "service": "s", "scope": "repository:a/b:pull,push"}},
		{"unquoted value", `Bearer realm=https://r/token,service=s`,
			map[string]string{"realm": "https://r/token", "service": "s"}},
		{"basic", `Basic realm="registry"`, nil},
		{"unterminated quote", `Bearer realm="https://r/token`, nil},
		{"no equals", `Bearer realm`, nil},
		{"empty", ``, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := bearerChallenge(tt.header)
			if ok != (tt.want != nil) || !maps.Equal(got, tt.want) {
				t.Errorf("bearerChallenge(%q) = %v, %v; want %v", tt.header, got, ok, tt.want)
			}
		})
	}
}
