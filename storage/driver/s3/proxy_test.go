package s3_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"
)

// fault is what the faulting proxy does with one request.
type fault int

const (
	pass     fault = iota // forward to S3
	slowDown              // 503 SlowDown, as S3 throttles
	internal              // 500 InternalError
	drop                  // close the connection without answering
	hang                  // answer nothing until the client gives up
)

func (f fault) String() string {
	return [...]string{"pass", "503 SlowDown", "500 InternalError", "dropped connection", "no answer"}[f]
}

// faultProxy sits between the driver and S3 and decides, per request,
// whether to forward it or fail it. It keeps the Host header, which the
// SigV4 signature covers.
type faultProxy struct {
	URL string

	mu     sync.Mutex
	decide func(n int, r *http.Request) fault // n counts requests from 1
	seen   []string                           // "METHOD path?query" of every request
	failed int
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{decide: func(int, *http.Request) fault { return pass }}
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.URL.RequestURI())
		f := p.decide(len(p.seen), r)
		if f != pass {
			p.failed++
		}
		p.mu.Unlock()
		switch f {
		case pass:
			rp.ServeHTTP(w, r)
		case slowDown:
			s3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		case internal:
			s3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
		case drop:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
		case hang:
			// Read the body first: only then does the server notice the
			// client hanging up and cancel the request's context.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

func s3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>` + msg + `</Message></Error>`))
}

// set replaces the proxy's decision and forgets the requests seen.
func (p *faultProxy) set(decide func(n int, r *http.Request) fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.decide, p.seen, p.failed = decide, nil, 0
}

// requests returns the requests seen since the last set.
func (p *faultProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func (p *faultProxy) failures() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// always fails every request with f.
func always(f fault) func(int, *http.Request) fault {
	return func(int, *http.Request) fault { return f }
}

// firstN fails the first len(fs) requests, the i-th with fs[i], and passes
// the rest.
func firstN(fs ...fault) func(int, *http.Request) fault {
	return func(n int, _ *http.Request) fault {
		if n <= len(fs) {
			return fs[n-1]
		}
		return pass
	}
}

// isUploadPart reports whether r uploads a part of a multipart upload.
func isUploadPart(r *http.Request) bool {
	q := r.URL.Query()
	return r.Method == http.MethodPut && q.Has("partNumber") && q.Has("uploadId") && r.Header.Get("X-Amz-Copy-Source") == ""
}
