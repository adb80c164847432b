//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// faultProxy is a TCP proxy on 127.0.0.1 in front of a registry that
// breaks one response on purpose. It reads each request off the client
// connection (so it knows which response is which), records it and
// writes it on to the registry; responses come back byte for byte, with
// their body bytes counted. A fault set for a blob applies to the first
// GET of it only: cut the connection after N body bytes, stall after N
// body bytes until the client goes away, or flip the body byte at N.
type faultProxy struct {
	Host string // 127.0.0.1:port to use instead of the registry's
	reg  *Registry

	mu     sync.Mutex
	faults map[string]*fault // by path suffix "/blobs/<digest>"
	log    []*proxied
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

type faultKind int

const (
	cutAfter   faultKind = iota // close both connections after at body bytes
	stallAfter                  // send at body bytes, then nothing until the client hangs up
	flipAt                      // invert the body byte at offset at
)

type fault struct {
	kind    faultKind
	at      int64
	used    bool
	reached chan struct{} // closed when a stall or cut has happened
}

// proxied is one request that went through, and how much of its
// response's body the client got.
type proxied struct {
	Method, Path, Range string
	Body                int64 // body bytes sent to the client
	Faulted             bool
}

// newFaultProxy starts a proxy to reg and stops it, with every
// connection, when the test ends.
func newFaultProxy(t testing.TB, reg *Registry) *faultProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{Host: l.Addr().String(), reg: reg,
		faults: map[string]*fault{}, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// Ref is "host/repo:tag" through the proxy.
func (p *faultProxy) Ref(repoAndTag string) string { return p.Host + "/" + repoAndTag }

// inject sets a fault for the first GET of blob dgst; the channel is
// closed once a cut or stall has happened.
func (p *faultProxy) inject(dgst string, kind faultKind, at int64) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := &fault{kind: kind, at: at, reached: make(chan struct{})}
	p.faults["/blobs/"+dgst] = f
	return f.reached
}

// blobGets returns the GETs of blob dgst so far, in order.
func (p *faultProxy) blobGets(dgst string) []proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []proxied
	for _, e := range p.log {
		if e.Method == http.MethodGet && strings.HasSuffix(e.Path, "/blobs/"+dgst) {
			out = append(out, *e)
		}
	}
	return out
}

// track remembers connections for Cleanup to close.
func (p *faultProxy) track(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
}

// exchangeState is the request a connection is answering, shared by its
// two directions.
type exchangeState struct {
	mu     sync.Mutex
	rec    *proxied
	fault  *fault // this response's fault, if any
	head   []byte // response bytes before the end of the headers
	inBody bool
}

// serve proxies one client connection over a connection of its own to
// the registry. The client sends a request only after it has read the
// whole response to the one before (no pipelining), so the response
// bytes flowing back belong to the last request read.
func (p *faultProxy) serve(client net.Conn) {
	up, err := net.Dial("tcp", p.reg.Host)
	if err != nil {
		client.Close()
		return
	}
	p.track(client, up)
	st := &exchangeState{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		br := bufio.NewReader(client)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			p.begin(st, req)
			if err := req.Write(up); err != nil {
				return
			}
		}
	}()
	p.answer(st, up, client, done)
	client.Close()
	up.Close()
	<-done
}

// begin records req and makes it the one the connection is answering.
func (p *faultProxy) begin(st *exchangeState, req *http.Request) {
	rec := &proxied{Method: req.Method, Path: req.URL.Path, Range: req.Header.Get("Range")}
	p.mu.Lock()
	p.log = append(p.log, rec)
	var f *fault
	for suffix, cand := range p.faults {
		if req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, suffix) && !cand.used {
			cand.used, f, rec.Faulted = true, cand, true
		}
	}
	p.mu.Unlock()
	st.mu.Lock()
	st.rec, st.fault, st.head, st.inBody = rec, f, nil, false
	st.mu.Unlock()
}

// answer copies the registry's bytes to the client, counting and
// breaking bodies as the faults say, until either side is done.
func (p *faultProxy) answer(st *exchangeState, up, client net.Conn, done <-chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			out, stop := p.pass(st, buf[:n])
			if len(out) > 0 {
				if _, werr := client.Write(out); werr != nil {
					return
				}
			}
			switch stop {
			case cutAfter:
				return
			case stallAfter:
				<-done // until the client hangs up (or Cleanup closes it)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// pass decides what of chunk goes to the client, and whether to stop
// after it (cutAfter or stallAfter; -1 to go on).
func (p *faultProxy) pass(st *exchangeState, chunk []byte) ([]byte, faultKind) {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := bytes.Clone(chunk)
	body := out
	if !st.inBody {
		st.head = append(st.head, out...)
		i := bytes.Index(st.head, []byte("\r\n\r\n"))
		if i < 0 {
			return out, -1
		}
		st.inBody = true
		body = out[len(out)-(len(st.head)-i-4):]
	}
	if st.rec == nil {
		return out, -1
	}
	f := st.fault
	headLen := int64(len(out) - len(body))
	switch {
	case f == nil:
	case f.kind == flipAt && st.rec.Body <= f.at && f.at < st.rec.Body+int64(len(body)):
		body[f.at-st.rec.Body] ^= 0xff
	case (f.kind == cutAfter || f.kind == stallAfter) && st.rec.Body+int64(len(body)) >= f.at:
		keep := f.at - st.rec.Body
		p.mu.Lock()
		st.rec.Body = f.at
		p.mu.Unlock()
		close(f.reached)
		return out[:headLen+keep], f.kind
	}
	p.mu.Lock()
	st.rec.Body += int64(len(body))
	p.mu.Unlock()
	return out, -1
}
