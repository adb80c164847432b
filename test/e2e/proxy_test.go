//go:build e2e

package e2e

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// exchange is one request a client made through a recordingProxy.
type exchange struct {
	Method string
	Path   string
	Query  url.Values
	Status int
}

// recordingProxy stands between a client and a registry and remembers each
// request, so a test can assert how a client talked to the registry (did
// crane copy mount blobs instead of uploading them?). It keeps the Host
// header, so absolute Location URLs point back at the proxy.
type recordingProxy struct {
	Host string // 127.0.0.1:port of the proxy

	mu  sync.Mutex
	log []exchange
}

func newRecordingProxy(t testing.TB, reg *Registry) *recordingProxy {
	t.Helper()
	backend, _ := url.Parse(reg.URL("/"))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{Host: l.Addr().String()}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(backend)
			pr.Out.Host = pr.In.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.log = append(p.log, exchange{
				Method: resp.Request.Method,
				Path:   resp.Request.URL.Path,
				Query:  resp.Request.URL.Query(),
				Status: resp.StatusCode,
			})
			return nil
		},
	}
	srv := &http.Server{Handler: rp}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

// Ref is "host/repo:tag" through the proxy.
func (p *recordingProxy) Ref(repoAndTag string) string { return p.Host + "/" + repoAndTag }

// requests returns the exchanges so far whose method is method and whose
// path contains part.
func (p *recordingProxy) requests(method, part string) []exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []exchange
	for _, e := range p.log {
		if e.Method == method && strings.Contains(e.Path, part) {
			out = append(out, e)
		}
	}
	return out
}
