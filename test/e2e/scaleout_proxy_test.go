//go:build e2e

package e2e

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// routeKeyHeader names a client's own rotation on a roundRobin proxy: the
// requests carrying one value go to replicas i, i+1, i+2... in turn, so a
// test knows that consecutive requests of one upload land on different
// replicas however many other clients run at once. Requests without it
// share one rotation.
const routeKeyHeader = "X-E2E-Route"

// routed is one request the proxy forwarded.
type routed struct {
	Key     string // the routeKeyHeader value
	Method  string
	Path    string
	Replica int
	Status  int // 502 when the replica failed to answer
}

// roundRobin is the load balancer of the scale-out tests: an HTTP reverse
// proxy sending each request to the next replica that is up. Bodies stream
// both ways (nothing is buffered), the Host header is kept, and an absolute
// Location naming a replica is rewritten to the proxy, as a load balancer in
// front of registry:2 replicas must. A replica marked down is skipped, the
// way a load balancer's health check takes a dead backend out of rotation.
type roundRobin struct {
	Host string // 127.0.0.1:port of the proxy

	mu        sync.Mutex
	replicas  []string // host:port of each replica
	down      []bool
	next      map[string]int // per route key: the next rotation slot
	log       []routed
	rewritten int // absolute replica Locations rewritten to the proxy
}

// routeCtx travels in the forwarded request's context: where it went.
type routeCtx struct {
	replica int
	key     string
}

type routeCtxKey struct{}

func newRoundRobin(t testing.TB, replicas []*Registry) *roundRobin {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &roundRobin{Host: l.Addr().String(), down: make([]bool, len(replicas)), next: map[string]int{}}
	for _, r := range replicas {
		p.replicas = append(p.replicas, r.Host)
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 32,
		// Pass Accept-Encoding through as the client sent it.
		DisableCompression: true,
	}
	rp := &httputil.ReverseProxy{
		Transport:     tr,
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
		Rewrite: func(pr *httputil.ProxyRequest) {
			key := pr.In.Header.Get(routeKeyHeader)
			i, host := p.pick(key)
			pr.SetURL(&url.URL{Scheme: "http", Host: host})
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Del(routeKeyHeader)
			pr.Out = pr.Out.WithContext(context.WithValue(pr.Out.Context(), routeCtxKey{}, routeCtx{i, key}))
		},
		ModifyResponse: func(resp *http.Response) error {
			p.rewriteLocation(resp.Header)
			p.record(resp.Request, resp.StatusCode)
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			p.record(req, http.StatusBadGateway)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: rp}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	return p
}

// pick chooses the replica for a request with route key key.
func (p *roundRobin) pick(key string) (int, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.replicas)
	slot := p.next[key]
	for tries := 0; tries < n; tries++ {
		i := slot % n
		slot++
		if !p.down[i] {
			p.next[key] = slot
			return i, p.replicas[i]
		}
	}
	// All down: send it somewhere, to fail there.
	p.next[key] = slot + 1
	return slot % n, p.replicas[slot%n]
}

func (p *roundRobin) record(out *http.Request, status int) {
	rc, _ := out.Context().Value(routeCtxKey{}).(routeCtx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log = append(p.log, routed{Key: rc.key, Method: out.Method, Path: out.URL.Path,
		Replica: rc.replica, Status: status})
}

// rewriteLocation points an absolute Location at a replica back at the
// proxy; relative ones (what bin/registry sends) resolve against the proxy
// by themselves.
func (p *roundRobin) rewriteLocation(h http.Header) {
	loc := h.Get("Location")
	if loc == "" {
		return
	}
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range p.replicas {
		if u.Host == r {
			u.Host = p.Host
			h.Set("Location", u.String())
			p.rewritten++
			return
		}
	}
}

// setDown takes replica i out of rotation (down) or puts it back, at a
// new address when it was restarted on another port.
func (p *roundRobin) setDown(i int, down bool, host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down[i] = down
	if host != "" {
		p.replicas[i] = host
	}
}

// routes returns the requests forwarded so far with route key key (all of
// them when key is "*").
func (p *roundRobin) routes(key string) []routed {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []routed
	for _, r := range p.log {
		if key == "*" || r.Key == key {
			out = append(out, r)
		}
	}
	return out
}

// perReplica counts the forwarded requests by replica.
func (p *roundRobin) perReplica() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := make([]int, len(p.replicas))
	for _, r := range p.log {
		n[r.Replica]++
	}
	return n
}

// URL is the absolute URL of path on the proxy.
func (p *roundRobin) URL(path string) string { return "http://" + p.Host + path }

// Ref is "host/repo:tag" through the proxy.
func (p *roundRobin) Ref(repoAndTag string) string { return p.Host + "/" + repoAndTag }
