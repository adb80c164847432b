package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

// TestGetBlobUnchecked: content that is not the digest passes, for the
// caller to judge; a body shorter than announced still fails.
func TestGetBlobUnchecked(t *testing.T) {
	content := []byte("layer content")
	d := digest.FromBytes(content)
	tests := []struct {
		name     string
		serve    []byte
		announce int // Content-Length
		wantErr  error
	}{
		{"good", content, len(content), nil},
		{"other content", []byte("layer CONTENT"), len(content), nil},
		{"cut short", content[:5], len(content), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", fmt.Sprint(tt.announce))
				_, _ = w.Write(tt.serve)
			}))
			t.Cleanup(srv.Close)
			c, _ := New(strings.TrimPrefix(srv.URL, "http://"))
			rc, _, err := c.GetBlobUnchecked(context.Background(), "app", d)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("reading = %v, want %v", err, tt.wantErr)
			}
			if err == nil && !bytes.Equal(got, tt.serve) {
				t.Errorf("got %q, want %q", got, tt.serve)
			}
		})
	}
}

func TestGetBlob(t *testing.T) {
	content := []byte("layer content")
	d := digest.FromBytes(content)
	tests := []struct {
		name    string
		serve   []byte
		length  string // Content-Length override
		wantErr error
	}{
		{"good", content, "", nil},
		{"corrupted", []byte("layer CONTENT"), "", ErrDigestMismatch},
		{"truncated", content[:5], "", ErrDigestMismatch},
		{"unknown length", content, "chunked", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.length != "chunked" {
					w.Header().Set("Content-Length", fmt.Sprint(len(tt.serve)))
				}
				_, _ = w.Write(tt.serve)
				w.(http.Flusher).Flush()
			}))
			t.Cleanup(srv.Close)
			c, _ := New(strings.TrimPrefix(srv.URL, "http://"))
			rc, size, err := c.GetBlob(context.Background(), "app", d)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("reading = %v, want %v", err, tt.wantErr)
			}
			if err == nil && (!bytes.Equal(got, content) || (tt.length == "" && size != int64(len(content)))) {
				t.Errorf("got %q size %d", got, size)
			}
			if _, err2 := rc.Read(make([]byte, 1)); err != nil && err2 == nil {
				t.Error("the error is not sticky")
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		c := newTestClient(t, newFake(t), nil)
		if _, _, err := c.GetBlob(context.Background(), "app", d); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetBlob = %v, want ErrNotFound", err)
		}
	})
	t.Run("follows redirects", func(t *testing.T) {
		cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "" {
				t.Error("credentials sent to the redirect target")
			}
			_, _ = w.Write(content)
		}))
		t.Cleanup(cdn.Close)
		f := newFake(t)
		f.auth = "basic"
		f.users["alice"] = fakeUser{password: "wonderland"}
		reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			ok := f.authorize(w, r)
			f.mu.Unlock()
			if !ok {
				return
			}
			http.Redirect(w, r, cdn.URL+"/blob", http.StatusTemporaryRedirect)
		}))
		t.Cleanup(reg.Close)
		c, _ := New(strings.TrimPrefix(reg.URL, "http://"),
			WithCredentials(StaticCredentials{strings.TrimPrefix(reg.URL, "http://"): {Username: "alice", Password: "wonderland"}}))
		rc, _, err := c.GetBlob(context.Background(), "app", d)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, content) {
			t.Errorf("got %q, %v", got, err)
		}
	})
}

func TestPutBlob(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 1000)
	d := digest.FromBytes(content)
	readerAt := func() io.Reader { return bytes.NewReader(content) }
	stream := func() io.Reader { return io.MultiReader(bytes.NewReader(content)) }
	tests := []struct {
		name        string
		single      bool // WithSinglePOSTUploads
		noSingle    bool // the registry answers a single POST with a session
		reader      func() io.Reader
		posts, puts int
	}{
		{"POST then PUT from a ReaderAt", false, false, readerAt, 1, 1},
		{"POST then PUT from a stream", false, false, stream, 1, 1},
		{"single POST from a ReaderAt", true, false, readerAt, 1, 0},
		{"single POST answered with a session", true, true, readerAt, 1, 1},
		{"single POST asked, but a stream cannot be replayed", true, false, stream, 1, 1},
		{"single POST from the middle of a reader", true, false, func() io.Reader {
			r := bytes.NewReader(append([]byte("skip"), content...))
			_, _ = r.Seek(4, io.SeekStart)
			return r
		}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.noSingle = tt.noSingle
			c := newTestClient(t, f, nil)
			c.singlePOST = tt.single
			if err := c.PutBlob(context.Background(), "app", d, int64(len(content)), tt.reader()); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if !bytes.Equal(f.blobs[d], content) {
				t.Errorf("registry holds %d bytes", len(f.blobs[d]))
			}
			if len(f.uploads) != 0 {
				t.Errorf("%d upload sessions left open", len(f.uploads))
			}
			posts, puts := f.paths["POST /v2/app/blobs/uploads/"], 0
			for k, n := range f.paths {
				if strings.HasPrefix(k, "PUT ") {
					puts += n
				}
			}
			if posts != tt.posts || puts != tt.puts {
				t.Errorf("%d POSTs and %d PUTs, want %d and %d", posts, puts, tt.posts, tt.puts)
			}
			if f.received != int64(len(content)) {
				t.Errorf("registry read %d bytes of upload bodies, want the content once (%d)", f.received, len(content))
			}
		})
	}
	t.Run("empty blob", func(t *testing.T) {
		f := newFake(t)
		c := newTestClient(t, f, nil)
		if err := c.PutBlob(context.Background(), "app", digest.FromBytes(nil), 0, bytes.NewReader(nil)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("wrong digest", func(t *testing.T) {
		for _, single := range []bool{false, true} {
			f := newFake(t)
			c := newTestClient(t, f, nil)
			c.singlePOST = single
			err := c.PutBlob(context.Background(), "app", digest.FromString("x"), int64(len(content)), readerAt())
			var e *Error
			if !errors.As(err, &e) || e.Code != "DIGEST_INVALID" {
				t.Errorf("PutBlob = %v, want DIGEST_INVALID", err)
			}
		}
	})
}

func TestPutBlobChunked(t *testing.T) {
	content := bytes.Repeat([]byte("abcdefghij"), 100)
	d := digest.FromBytes(content)
	tests := []struct {
		name      string
		content   []byte
		dgst      digest.Digest
		chunk     int64
		minChunk  int
		wantErr   error
		wantPatch int
	}{
		{"even chunks", content, d, 250, 0, nil, 4},
		{"ragged last chunk", content, d, 300, 0, nil, 4},
		{"one chunk", content, d, 0, 0, nil, 1},
		{"registry minimum wins", content, d, 10, 500, nil, 2},
		{"empty", nil, digest.FromBytes(nil), 100, 0, nil, 0},
		{"digest mismatch", content, digest.FromString("other"), 300, 0, ErrDigestMismatch, 4},
	}
	// From a bytes.Reader the chunks are sections of it; from a plain
	// io.Reader they are read into memory.
	sources := []struct {
		name string
		wrap func(*bytes.Reader) io.Reader
	}{
		{"replayable", func(r *bytes.Reader) io.Reader { return r }},
		{"stream", func(r *bytes.Reader) io.Reader { return struct{ io.Reader }{r} }},
	}
	for _, src := range sources {
		for _, tt := range tests {
			t.Run(src.name+"/"+tt.name, func(t *testing.T) {
				testPutBlobChunked(t, src.wrap(bytes.NewReader(tt.content)), tt.content, tt.dgst, tt.chunk, tt.minChunk, tt.wantErr, tt.wantPatch)
			})
		}
	}
	t.Run("from the reader's offset", func(t *testing.T) {
		r := bytes.NewReader(append([]byte("skipped"), content...))
		_, _ = r.Seek(int64(len("skipped")), io.SeekStart)
		testPutBlobChunked(t, r, content, d, 300, 0, nil, 4)
	})
}

// testPutBlobChunked uploads r as dgst in chunks of chunk bytes to a fake
// registry that wants chunks of at least minChunk, and checks the error,
// the number of PATCHes, that no session is left open and that the
// registry holds content.
func testPutBlobChunked(t *testing.T, r io.Reader, content []byte, dgst digest.Digest, chunk int64, minChunk int, wantErr error, wantPatch int) {
	t.Helper()
	f := newFake(t)
	f.minChunk = minChunk
	c := newTestClient(t, f, nil)
	err := c.PutBlobChunked(context.Background(), "app", dgst, r, chunk)
	if !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
		t.Fatalf("PutBlobChunked = %v, want %v", err, wantErr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	patches := 0
	for k, n := range f.paths {
		if strings.HasPrefix(k, "PATCH ") {
			patches += n
		}
	}
	if patches != wantPatch {
		t.Errorf("%d PATCHes, want %d", patches, wantPatch)
	}
	if len(f.uploads) != 0 {
		t.Errorf("%d upload sessions left open", len(f.uploads))
	}
	if wantErr == nil && !bytes.Equal(f.blobs[dgst], content) {
		t.Errorf("registry holds %d bytes", len(f.blobs[dgst]))
	}
}

func TestMountBlob(t *testing.T) {
	f := newFake(t)
	c := newTestClient(t, f, nil)
	d := f.putBlob("src", []byte("layer"))
	ctx := context.Background()
	if ok, err := c.MountBlob(ctx, "dst", d, "src"); err != nil || !ok {
		t.Fatalf("MountBlob = %v, %v", ok, err)
	}
	if _, err := c.HeadBlob(ctx, "dst", d); err != nil {
		t.Errorf("mounted blob not in dst: %v", err)
	}
	missing := digest.FromString("missing")
	if ok, err := c.MountBlob(ctx, "dst", missing, "src"); err != nil || ok {
		t.Fatalf("MountBlob of a missing blob = %v, %v; want false, nil", ok, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.uploads) != 0 {
		t.Errorf("the session a refused mount opened was left open")
	}
}
