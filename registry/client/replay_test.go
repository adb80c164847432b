package client

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// A request whose body cannot be replayed is not retried: the 401 comes
// back, and the body was read once.
func TestNonReplayableBodyNotRetried(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	tr, err := NewTransport(nil, Anonymous{})
	if err != nil {
		t.Fatal(err)
	}
	body := &countingReader{r: strings.NewReader("payload")}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v2/custom/thing", io.NopCloser(body))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", resp.StatusCode)
	}
	if n := f.count(http.MethodPost, "/v2/custom/thing"); n != 1 {
		t.Errorf("request sent %d times, want 1", n)
	}
	if n := len(f.tokenRequests()); n != 0 {
		t.Errorf("%d token requests, want 0", n)
	}

	// The same request with GetBody is answered and retried.
	req, _ = http.NewRequest(http.MethodGet, f.srv.URL+"/v2/custom/thing", nil)
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := f.count(http.MethodGet, "/v2/custom/thing"); n != 2 || len(f.tokenRequests()) != 1 {
		t.Errorf("replayable request sent %d times with %d token requests, want 2 and 1", n, len(f.tokenRequests()))
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// A request the transport cannot replay, to a registry it has never seen,
// still goes out with a token: it asks /v2/ for the challenge first and
// fetches a token for the scope the request's path implies.
func TestStreamingRequestOnFreshTransport(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.users["alice"] = fakeUser{password: "wonderland"}
	tr, err := NewTransport(nil, StaticCredentials{f.host(): {Username: "alice", Password: "wonderland"}})
	if err != nil {
		t.Fatal(err)
	}
	content := "streamed layer"
	d := digest.FromString(content)
	body := io.NopCloser(io.MultiReader(strings.NewReader(content))) // no GetBody
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v2/app/blobs/uploads/?digest="+d.String(), body)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status %d, want 201", resp.StatusCode)
	}
	if n := f.count(http.MethodPost, "/v2/app/blobs/uploads/"); n != 1 {
		t.Errorf("upload POSTed %d times, want 1", n)
	}
	if n := f.count(http.MethodGet, "/v2/"); n != 1 {
		t.Errorf("GET /v2/ %d times, want 1", n)
	}
	reqs := f.tokenRequests()
	if len(reqs) != 1 || !slices.Equal(reqs[0].scopes, []string{"repository:app:pull,push"}) {
		t.Errorf("token requests %+v, want one for repository:app:pull,push", reqs)
	}
}

// When the transport fails before sending, it still closes the body, as
// the RoundTripper contract asks.
func TestBodyClosedOnError(t *testing.T) {
	f := newFake(t)
	f.auth = "bearer"
	f.users["alice"] = fakeUser{password: "wonderland"}
	tr, _ := NewTransport(nil, StaticCredentials{f.host(): {Username: "alice", Password: "wrong"}})
	body := &closeRecorder{Reader: strings.NewReader("payload")}
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v2/app/blobs/uploads/", body)
	if _, err := tr.RoundTrip(req); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("RoundTrip = %v, want the token service's refusal", err)
	}
	if !body.closed {
		t.Error("request body left open")
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }
