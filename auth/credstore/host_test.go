package credstore

import "testing"

func TestAuthKey(t *testing.T) {
	tests := []struct {
		host, want string
	}{
		{"docker.io", hubKey},
		{"index.docker.io", hubKey},
		{"registry-1.docker.io", hubKey},
		{"https://index.docker.io/v1/", hubKey},
		{"https://registry-1.docker.io/v2/", hubKey},
		{"localhost:5000", "localhost:5000"},
		{"http://localhost:5000", "localhost:5000"},
		{"https://r.example:8443/v1/", "r.example:8443"},
		{"r.example/v1/", "r.example"},
		{"r.example/v2/", "r.example"},
		{"[::1]:5000", "[::1]:5000"},
		{"https://[::1]:5000/v1/", "[::1]:5000"},
		{"https://::1:5000/v1/", "[::1]:5000"}, // docker's fallback for unbracketed IPv6
		{"127.0.0.1", "127.0.0.1"},
		{"docker.io:443", "docker.io:443"}, // a port makes it another registry, as in docker
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got, err := authKey(tt.host); err != nil || got != tt.want {
				t.Errorf("authKey(%q) = %q, %v; want %q", tt.host, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "/", "/v1/", "https://", "http:///x", "a b", "host:"} {
		if got, err := authKey(bad); err == nil {
			t.Errorf("authKey(%q) = %q, want an error", bad, got)
		}
	}
}

func TestDecodeAuth(t *testing.T) {
	tests := []struct {
		name, auth, user, password string
		wantErr                    bool
	}{
		{"plain", "dTpw", "u", "p", false},
		{"colon in password", encodeAuth("u", "a:b:c"), "u", "a:b:c", false},
		{"empty password", encodeAuth("u", ""), "u", "", false},
		{"unpadded", "dTpwdw", "u", "pw", false},
		{"no colon", "dXNlcg==", "", "", true},
		{"no user", encodeAuth("", "p"), "", "", true},
		{"not base64", "%%%", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, password, err := decodeAuth(tt.auth)
			if (err != nil) != tt.wantErr || user != tt.user || password != tt.password {
				t.Errorf("decodeAuth(%q) = %q, %q, %v", tt.auth, user, password, err)
			}
		})
	}
}
