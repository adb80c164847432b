package credstore

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// hubKey is the key docker saves Docker Hub's credentials under, and the
// server URL it gives credential helpers for Docker Hub.
const hubKey = "https://index.docker.io/v1/"

// hubHosts are the names of Docker Hub that map to hubKey.
var hubHosts = []string{"docker.io", "index.docker.io", "registry-1.docker.io"}

// authKey returns the key docker uses for the registry host names: hubKey
// for Docker Hub, else the bare host[:port] (a scheme and path are
// dropped, so "https://host:5000/v1/" gives "host:5000"). It fails for an
// empty host.
func authKey(host string) (string, error) {
	h := hostname(host)
	if h == "" || strings.HasSuffix(h, ":") || strings.ContainsAny(h, " \t\r\n") {
		return "", fmt.Errorf("credstore: invalid registry host %q", host)
	}
	for _, hub := range hubHosts {
		if h == hub {
			return hubKey, nil
		}
	}
	return h, nil
}

// sameRegistry reports whether the config.json key k (in any form docker
// ever wrote) names the registry whose key is key.
func sameRegistry(k, key string) bool {
	kk, err := authKey(k)
	return err == nil && kk == key
}

// hostname reduces a registry URL or key ("https://host:port/v1/",
// "host/v1/", "host") to host[:port], the way docker's
// credentials.ConvertToHostname does.
func hostname(maybeURL string) string {
	if strings.Contains(maybeURL, "://") {
		if u, err := url.Parse(maybeURL); err == nil && u.Hostname() != "" {
			if u.Port() == "" {
				return u.Hostname()
			}
			return net.JoinHostPort(u.Hostname(), u.Port())
		}
		if h := hostFromURLFallback(maybeURL); h != "" {
			return h
		}
	}
	h, _, _ := strings.Cut(maybeURL, "/")
	return h
}

// hostFromURLFallback extracts the host of a URL net/url rejects, such as
// one with an unbracketed IPv6 address (docker's fallback, kept so keys
// match).
func hostFromURLFallback(maybeURL string) string {
	_, rest, ok := strings.Cut(maybeURL, "://")
	if !ok {
		return ""
	}
	h, _, _ := strings.Cut(rest, "/")
	if strings.Count(h, ":") > 1 && !strings.HasPrefix(h, "[") {
		i := strings.LastIndex(h, ":")
		if addr, port := h[:i], h[i+1:]; addr != "" && isPort(port) {
			return net.JoinHostPort(addr, port)
		}
	}
	return h
}

// isPort reports whether s is a non-empty string of digits.
func isPort(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// encodeAuth returns the "auth" field docker writes: base64 of
// user:password.
func encodeAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}

// decodeAuth splits an "auth" field into user name and password. Like
// docker, it trims NUL bytes from the password and refuses an empty user
// name; it also accepts base64 without padding.
func decodeAuth(auth string) (user, password string, err error) {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		var rawErr error
		if raw, rawErr = base64.RawStdEncoding.DecodeString(auth); rawErr != nil {
			return "", "", fmt.Errorf("not base64: %w", err)
		}
	}
	user, password, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("no colon between user name and password")
	}
	if user == "" {
		return "", "", errors.New("no user name before the colon")
	}
	return user, strings.Trim(password, "\x00"), nil
}
