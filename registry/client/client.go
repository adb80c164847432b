// Package client speaks the OCI distribution API to one registry: ping,
// catalog, tags, manifests, blobs, monolithic and chunked uploads, mounts.
// It is shared by ctl and the pull-through mirror.
//
// Auth is a decorator: Transport is an http.RoundTripper that answers the
// registry's 401 challenges (docker token spec, OAuth2 refresh tokens,
// Basic), caches tokens and retries. New puts one in front of the base
// transport; callers that speak HTTP themselves can use NewTransport alone.
// Credentials arrive through the Credentials interface declared here; the
// package imports no server package.
//
// Registry refusals come back as *Error (the OCI error envelope), token
// service refusals as *TokenError; both match ErrNotFound, ErrUnauthorized
// and ErrDenied with errors.Is.
package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// Client talks to one registry. It is safe for concurrent use.
type Client struct {
	host       string // host[:port]
	base       url.URL
	http       *http.Client
	singlePOST bool
}

// Option configures New.
type Option func(*options)

type options struct {
	transport  http.RoundTripper
	creds      Credentials
	plainHTTP  *bool
	userAgent  string
	singlePOST bool
	authOpts   []TransportOption
	nilOptions []string
}

// WithTransport sets the round tripper requests finally go through
// (http.DefaultTransport unless set). The auth Transport wraps it.
func WithTransport(rt http.RoundTripper) Option {
	return func(o *options) {
		if rt == nil {
			o.nilOptions = append(o.nilOptions, "WithTransport")
		}
		o.transport = rt
	}
}

// WithCredentials sets where credentials come from (Anonymous unless set).
func WithCredentials(c Credentials) Option {
	return func(o *options) {
		if c == nil {
			o.nilOptions = append(o.nilOptions, "WithCredentials")
		}
		o.creds = c
	}
}

// WithPlainHTTP speaks http instead of https. Unless set, as docker does,
// plain http is used for localhost and loopback addresses (127.0.0.0/8,
// ::1) and https for everything else.
func WithPlainHTTP(plain bool) Option { return func(o *options) { o.plainHTTP = &plain } }

// WithUserAgent sets the User-Agent of every request, token requests
// included ("berth" unless set).
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithSinglePOSTUploads makes PutBlob send replayable content with the
// POST that opens the upload, one request instead of two, for registries
// known to take it (Berth's). The POST asks "Expect: 100-continue" so that
// a registry that would ignore the content can say so before it is sent;
// registry:2 does not answer early, which costs the transport's
// ExpectContinueTimeout and the content twice, hence off by default.
func WithSinglePOSTUploads(on bool) Option { return func(o *options) { o.singlePOST = on } }

// WithTransportOptions passes options to the auth Transport (WithScopes,
// WithOfflineTokens, WithRefreshTokenHandler, WithClientID).
func WithTransportOptions(opts ...TransportOption) Option {
	return func(o *options) { o.authOpts = append(o.authOpts, opts...) }
}

// New returns a client for the registry at registryHost ("host[:port]",
// no scheme: "localhost:5000", "ghcr.io"). It fails for a host that is not
// one, and for nil options.
func New(registryHost string, opts ...Option) (*Client, error) {
	o := options{userAgent: "berth"}
	for _, opt := range opts {
		opt(&o)
	}
	if len(o.nilOptions) > 0 {
		return nil, fmt.Errorf("client: nil %s", strings.Join(o.nilOptions, ", "))
	}
	u, err := url.Parse("//" + registryHost)
	if err != nil || registryHost == "" || u.Host != registryHost || u.User != nil || u.Path != "" ||
		u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(registryHost, "/?#@") {
		return nil, fmt.Errorf("client: invalid registry host %q: want host[:port] without scheme or path", registryHost)
	}
	plain := isLoopback(u.Hostname())
	if o.plainHTTP != nil {
		plain = *o.plainHTTP
	}
	u.Scheme = "https"
	if plain {
		u.Scheme = "http"
	}
	rt := o.transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	if o.userAgent != "" {
		rt = &userAgent{base: rt, ua: o.userAgent}
	}
	auth, err := NewTransport(rt, o.creds, o.authOpts...)
	if err != nil {
		return nil, err
	}
	return &Client{host: registryHost, base: *u, http: &http.Client{Transport: auth}, singlePOST: o.singlePOST}, nil
}

// Host returns the registry's host[:port].
func (c *Client) Host() string { return c.host }

// isLoopback reports whether host names this machine: localhost,
// 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// Ping checks that the registry speaks the distribution API and accepts
// the credentials: GET /v2/ through the auth transport must end in 200, as
// docker login checks. A registry that challenges anonymous clients passes
// when the configured credentials get a token. Wrong credentials give an
// error matching ErrUnauthorized.
func (c *Client) Ping(ctx context.Context) error {
	resp, err := c.do(ctx, http.MethodGet, c.url("/v2/", nil), nil, nil, http.StatusOK)
	if err != nil {
		return fmt.Errorf("ping %s: %w", c.host, err)
	}
	discard(resp)
	return nil
}

// url returns the absolute URL of path (already escaped) on the registry.
func (c *Client) url(path string, q url.Values) string {
	u := c.base
	u.Path = path
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// do sends one request and returns the response when its status is among
// want; otherwise it closes the body and returns the registry's *Error.
// The caller closes the returned body.
func (c *Client) do(ctx context.Context, method, u string, body io.Reader, hdr http.Header, want ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return c.send(req, want...)
}

// send is do for a request already built.
func (c *Client) send(req *http.Request, want ...int) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		// An auth failure names its realm already; the request URL
		// http.Client wraps around it would only make the line longer.
		var ue *url.Error
		var te *TokenError
		if errors.As(err, &ue) && (errors.As(ue.Err, &te) || errors.Is(ue.Err, ErrInsecureRealm)) {
			return nil, ue.Err
		}
		return nil, err
	}
	if !slices.Contains(want, resp.StatusCode) {
		e := parseError(resp)
		resp.Body.Close()
		return nil, e
	}
	return resp, nil
}

// repoPath validates a repository name and returns "/v2/<name>/".
func repoPath(repo string) (string, error) {
	if _, err := reference.WithName(repo); err != nil {
		return "", fmt.Errorf("invalid repository name %q: %w", repo, err)
	}
	if strings.Contains(repo, ":") || strings.ToLower(repo) != repo {
		return "", fmt.Errorf("invalid repository name %q: want a path like team/app", repo)
	}
	return "/v2/" + repo + "/", nil
}

// checkRef validates a manifest reference: a digest or a tag.
func checkRef(ref string) error {
	if strings.Contains(ref, ":") {
		if _, err := digest.Parse(ref); err != nil {
			return fmt.Errorf("invalid digest %q: %w", ref, err)
		}
		return nil
	}
	if ref == "" || reference.TagRegexp.FindString(ref) != ref {
		return fmt.Errorf("invalid tag %q", ref)
	}
	return nil
}

// refString formats repo and ref for messages: repo:tag or repo@digest.
func refString(repo, ref string) string {
	if strings.Contains(ref, ":") {
		return repo + "@" + ref
	}
	return repo + ":" + ref
}

// resolve returns loc (a Location or Link target) made absolute against
// base. A registry over https may not send the client to plain http.
func resolve(base *url.URL, loc string) (*url.URL, error) {
	u, err := base.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("bad location %q: %w", loc, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("bad location %q: not an http(s) URL", loc)
	}
	if base.Scheme == "https" && u.Scheme != "https" {
		return nil, fmt.Errorf("bad location %q: downgrade from https", loc)
	}
	return u, nil
}

// userAgent sets User-Agent on requests that have none.
type userAgent struct {
	base http.RoundTripper
	ua   string
}

// RoundTrip sends a copy of req with the User-Agent set.
func (t *userAgent) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("User-Agent") != "" {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", t.ua)
	return t.base.RoundTrip(r)
}

var _ http.RoundTripper = (*userAgent)(nil)
