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
	"time"

	"github.com/opencontainers/go-digest"
)

func TestGetBlobAt(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 100)
	d := digest.FromBytes(content)
	serveContent := func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
	}
	tests := []struct {
		name      string
		offset    int64
		serve     http.HandlerFunc
		wantStart int64
		wantBody  []byte
		wantErr   bool // from GetBlobAt itself
		readErr   error
	}{
		{"range honoured", 300, serveContent, 300, content[300:], false, nil},
		{"offset zero", 0, serveContent, 0, content, false, nil},
		{"range ignored: the whole blob, verified", 300, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(content)
		}, 0, content, false, nil},
		{"range ignored, corrupt", 300, func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write(bytes.ToUpper(content[:10]))
		}, 0, nil, false, ErrDigestMismatch},
		{"wrong Content-Range", 300, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes 0-%d/%d", len(content)-1, len(content)))
			w.WriteHeader(http.StatusPartialContent)
			_, _ = w.Write(content)
		}, 0, nil, true, nil},
		{"offset past the end", int64(len(content)), serveContent, 0, nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotRange string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotRange = r.Header.Get("Range")
				tt.serve(w, r)
			}))
			t.Cleanup(srv.Close)
			c, _ := New(strings.TrimPrefix(srv.URL, "http://"))
			rc, start, err := c.GetBlobAt(context.Background(), "app", d, tt.offset)
			if (err != nil) != tt.wantErr {
				t.Fatalf("GetBlobAt = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer rc.Close()
			if tt.offset > 0 && gotRange != fmt.Sprintf("bytes=%d-", tt.offset) {
				t.Errorf("Range = %q", gotRange)
			}
			body, err := io.ReadAll(rc)
			if !errors.Is(err, tt.readErr) || (tt.readErr == nil) != (err == nil) {
				t.Fatalf("reading = %v, want %v", err, tt.readErr)
			}
			if start != tt.wantStart || (tt.readErr == nil && !bytes.Equal(body, tt.wantBody)) {
				t.Errorf("start %d, %d bytes; want %d, %d bytes", start, len(body), tt.wantStart, len(tt.wantBody))
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		c := newTestClient(t, newFake(t), nil)
		if _, _, err := c.GetBlobAt(context.Background(), "app", d, 10); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetBlobAt = %v, want ErrNotFound", err)
		}
	})
}
