package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/berthhq/berth/auth/credstore"
	"github.com/berthhq/berth/registry/client"
)

// hubEndpoint is the host Docker Hub's registry API answers on; docker.io
// is only its name.
const hubEndpoint = "registry-1.docker.io"

// registries makes registry clients for one command: credentials from
// docker's config.json (or its credential helpers), plain HTTP where
// --insecure or the config allows it, mirrors from the config.
type registries struct {
	cfg      *config
	insecure bool // --insecure: every registry
	creds    *credstore.Store
}

// registries reads the config and opens the credential store.
func (a *app) registries() (*registries, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, err
	}
	creds, err := a.credStore()
	if err != nil {
		return nil, err
	}
	return &registries{cfg: cfg, insecure: a.insecure, creds: creds}, nil
}

// credStore opens docker's credential store: config.json in
// $DOCKER_CONFIG, else ~/.docker.
func (a *app) credStore() (*credstore.Store, error) {
	dir, err := credstore.DefaultDir(a.getenv, a.home)
	if err != nil {
		return nil, err
	}
	return credstore.New(dir, credstore.WithHelperStderr(a.errOut))
}

// storeCredentials adapts docker's credential store to registry/client.
type storeCredentials struct{ s *credstore.Store }

// Credentials returns what config.json (or its helper) holds for host.
func (c storeCredentials) Credentials(ctx context.Context, host string) (client.Credential, error) {
	cred, err := c.s.Get(ctx, host)
	if err != nil {
		return client.Credential{}, err
	}
	return client.Credential{
		Username:      cred.Username,
		Password:      cred.Password,
		IdentityToken: cred.IdentityToken,
		RegistryToken: cred.RegistryToken,
	}, nil
}

var _ client.Credentials = storeCredentials{}

// endpoint returns the host[:port] the registry named host (as in an image
// reference: "docker.io", "localhost:5000") answers on.
func endpoint(host string) string {
	if h, err := canonicalHost(host); err == nil && h == "docker.io" {
		return hubEndpoint
	}
	return host
}

// client returns a client for the registry named host, with the stored
// credentials (unless opts set others).
func (r *registries) client(ctx context.Context, host string, opts ...client.Option) (*client.Client, error) {
	ep := endpoint(host)
	base := []client.Option{client.WithCredentials(storeCredentials{r.creds}), client.WithUserAgent("ctl")}
	if r.isInsecure(host) && !isLoopback(ep) {
		plain, err := preferPlainHTTP(ctx, ep)
		if err != nil {
			return nil, err
		}
		base = append(base, client.WithPlainHTTP(plain), client.WithTransport(insecureTransport()))
	}
	c, err := client.New(ep, append(base, opts...)...)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// isInsecure reports whether --insecure or the config lets host go
// without verified TLS.
func (r *registries) isInsecure(host string) bool {
	if r.insecure {
		return true
	}
	h, err := canonicalHost(host)
	return err == nil && r.cfg.Registries[h].Insecure
}

// mirrors returns the mirrors the config lists for host, in order.
func (r *registries) mirrors(host string) []string {
	h, err := canonicalHost(host)
	if err != nil {
		return nil
	}
	return r.cfg.Mirrors[h]
}

// insecureTransport is http.DefaultTransport without certificate checks.
func insecureTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the user asked for it
	return t
}

// preferPlainHTTP decides how to reach an insecure registry, as docker
// does: HTTPS (unverified) when the host answers it, plain HTTP
// otherwise.
func preferPlainHTTP(ctx context.Context, host string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/v2/", nil)
	if err != nil {
		return false, fmt.Errorf("invalid registry host %q: %w", host, err)
	}
	resp, err := (&http.Client{Transport: insecureTransport()}).Do(req)
	if err == nil {
		resp.Body.Close()
		return false, nil
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return false, ctx.Err()
	}
	return true, nil
}

// isLoopback reports whether the host of hostport names this machine, for
// which registry/client speaks plain HTTP anyway.
func isLoopback(hostport string) bool {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}
