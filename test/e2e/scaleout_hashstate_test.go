//go:build e2e

package e2e

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// s3Gate stands between a registry and its S3 server and, once armed,
// holds back the first PUT whose key contains a substring, telling the test
// which key: the moment to kill the registry between two writes.
type s3Gate struct {
	URL string // http://127.0.0.1:port, for regionendpoint

	substr string
	armed  atomic.Bool
	hit    chan string
}

func newS3Gate(t testing.TB, endpoint, substr string) *s3Gate {
	t.Helper()
	backend, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &s3Gate{URL: "http://" + l.Addr().String(), substr: substr, hit: make(chan string, 1)}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(backend)
		pr.Out.Host = pr.In.Host // the signature covers Host
	}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, g.substr) && g.armed.CompareAndSwap(true, false) {
			g.hit <- r.URL.Path
			<-r.Context().Done() // held until the registry dies
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		srv.Close()
	})
	return g
}

// TestScaleOutSIGKILLBeforeHashState kills a replica at the moment it
// stores a chunk's hash state, before the chunk itself is recorded.
// DESIGN.md: everything an upload needs lives in storage, so another
// replica takes the next request: the survivor reports the Range before
// the chunk (or, if the state made it, after) and carries the upload on
// from there to a blob whose digest verifies.
func TestScaleOutSIGKILLBeforeHashState(t *testing.T) {
	t.Parallel()
	st := TempS3(t)
	gate := newS3Gate(t, st.Bucket.Endpoint, "/hashstates/")
	gated := S3(*st.Bucket)
	gated.Config["s3"].(map[string]any)["regionendpoint"] = gate.URL
	victim := startRegistry(t, Berth, gated, startOptions{})
	survivor := startRegistry(t, Berth, st, startOptions{})

	b := newBlob(t, 7<<20+11) // PATCH 1 fills one S3 part and a tail
	a, sv := victim.API(t), survivor.API(t)
	loc := sv.startUpload("crash/hashstate")
	a.patch(loc, b.Bytes[:1<<20], 0).expect(t, http.StatusAccepted)

	gate.armed.Store(true)
	done := make(chan *response, 1)
	go func() {
		c := newRawClient(victim.URL("/"), "")
		resp, _ := c.send("PATCH", loc, hdr{"Content-Type", "application/octet-stream",
			"Content-Range", "1048576-6291455"}, b.Bytes[1<<20:6<<20])
		done <- resp
	}()
	select {
	case key := <-gate.hit:
		t.Logf("killing %s while it saves %s", victim.Host, key)
	case resp := <-done:
		t.Fatalf("PATCH 2 finished without saving a hash state:\n%v", resp)
	case <-time.After(30 * time.Second):
		t.Fatal("PATCH 2 saved no hash state within 30s")
	}
	victim.kill()
	<-done

	status := sv.do("GET", loc, nil, nil)
	if status.Status != http.StatusNoContent {
		status.expectError(t, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN")
		sv.expectNoBlob("crash/hashstate", b.Digest)
		return
	}
	kept := received(t, status.Header.Get("Range"))
	t.Logf("after the kill the survivor reports %d bytes (1 MiB acknowledged, 6 MiB sent)", kept)
	if kept != 1<<20 && kept != 6<<20 {
		t.Fatalf("upload holds %d bytes: neither the acknowledged 1 MiB nor the 6 MiB sent", kept)
	}
	if l := status.Header.Get("Location"); l != "" {
		loc = l
	}
	resp := sv.do("PATCH", loc, hdr{"Content-Type", "application/octet-stream",
		"Content-Range", rangeOf(kept, len(b.Bytes))}, b.Bytes[kept:])
	if resp.Status == http.StatusAccepted {
		sv.finish(resp.Header.Get("Location"), b.Digest, nil).expect(t, http.StatusCreated)
		sv.expectBlob("crash/hashstate", b)
		return
	}
	// The hash state after a chunk is stored before the chunk is kept,
	// so the survivor always has a state at the size it reports.
	t.Fatalf("the survivor reported %d bytes kept, then refused to go on from there:\n%s", kept, resp)
}

// rangeOf is the Content-Range of bytes start..end-1.
func rangeOf(start, end int) string {
	return strconv.Itoa(start) + "-" + strconv.Itoa(end-1)
}
