package storage

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/go-digest"
)

// copySizes are the source sizes copyHashed is tried with: the edges of its
// buffer ring included.
var copySizes = []struct {
	name string
	n    int
}{
	{"empty", 0},
	{"one byte", 1},
	{"small", 4096},
	{"buffer minus one", pipeBufSize - 1},
	{"exactly one buffer", pipeBufSize},
	{"buffer plus one", pipeBufSize + 1},
	{"exactly the ring", pipeBufs * pipeBufSize},
	{"five buffers and change", 5*pipeBufSize + 7},
}

func randomData(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) digest.Digest { return digest.FromBytes(b) }

func TestCopyHashed(t *testing.T) {
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"half reads", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
		{"odd sized reads", func(r io.Reader) io.Reader { return &chunkReader{r: r, n: 333331} }},
	}
	for _, size := range copySizes {
		for _, rd := range readers {
			t.Run(size.name+"/"+rd.name, func(t *testing.T) {
				src := randomData(t, size.n)
				var dst bytes.Buffer
				h := sha256.New()
				n, err := copyHashed(&dst, h, rd.wrap(bytes.NewReader(src)))
				if err != nil {
					t.Fatalf("copyHashed: %v", err)
				}
				if n != int64(size.n) {
					t.Errorf("copied %d bytes, want %d", n, size.n)
				}
				if !bytes.Equal(dst.Bytes(), src) {
					t.Errorf("destination differs from source (%d vs %d bytes)", dst.Len(), len(src))
				}
				if got := digest.NewDigest(digest.SHA256, h); got != sha(src) {
					t.Errorf("hash %s, want %s", got, sha(src))
				}
			})
		}
	}
}

// The hash continues a state that already covers earlier bytes, as it does
// when an upload gets its next chunk.
func TestCopyHashedContinuesHash(t *testing.T) {
	prefix, rest := randomData(t, 1000), randomData(t, pipeBufSize+5)
	h := sha256.New()
	h.Write(prefix)
	if _, err := copyHashed(io.Discard, h, bytes.NewReader(rest)); err != nil {
		t.Fatal(err)
	}
	if got, want := digest.NewDigest(digest.SHA256, h), sha(append(prefix, rest...)); got != want {
		t.Errorf("hash %s, want %s", got, want)
	}
}

var errSource = errors.New("source broke")

func TestCopyHashedReadError(t *testing.T) {
	for _, size := range copySizes {
		t.Run(size.name, func(t *testing.T) {
			src := randomData(t, size.n)
			var dst bytes.Buffer
			h := sha256.New()
			r := io.MultiReader(bytes.NewReader(src), iotest.ErrReader(errSource))
			n, err := copyHashed(&dst, h, r)
			if !errors.Is(err, errSource) {
				t.Fatalf("copyHashed error = %v, want the source's error", err)
			}
			if isWriteError(err) {
				t.Errorf("a read error reported as a write error: %v", err)
			}
			if n != int64(size.n) || !bytes.Equal(dst.Bytes(), src) {
				t.Errorf("copied %d bytes (%d in destination), want all %d read", n, dst.Len(), size.n)
			}
			if got := digest.NewDigest(digest.SHA256, h); got != sha(src) {
				t.Errorf("hash %s does not cover exactly the bytes read", got)
			}
		})
	}
	t.Run("error with data", func(t *testing.T) {
		src := randomData(t, 10)
		var dst bytes.Buffer
		h := sha256.New()
		n, err := copyHashed(&dst, h, &dataErrReader{data: src, err: errSource})
		if !errors.Is(err, errSource) || n != 10 || !bytes.Equal(dst.Bytes(), src) || digest.NewDigest(digest.SHA256, h) != sha(src) {
			t.Errorf("copyHashed = %d, %v; destination %d bytes", n, err, dst.Len())
		}
	})
}

var errSink = errors.New("disk full")

func TestCopyHashedWriteError(t *testing.T) {
	cases := []struct {
		name    string
		w       *limitedWriter
		wantErr error
	}{
		{"fails at once", &limitedWriter{limit: 0, err: errSink}, errSink},
		{"fails after one byte", &limitedWriter{limit: 1, err: errSink}, errSink},
		{"fails after a buffer", &limitedWriter{limit: pipeBufSize, err: errSink}, errSink},
		{"fails inside the third buffer", &limitedWriter{limit: 2*pipeBufSize + 3, err: errSink}, errSink},
		{"short write", &limitedWriter{limit: pipeBufSize + 9, short: true}, io.ErrShortWrite},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := randomData(t, 5*pipeBufSize+7)
			n, err := copyHashed(tc.w, sha256.New(), bytes.NewReader(src))
			if !isWriteError(err) {
				t.Fatalf("copyHashed error = %v, want a write error", err)
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tc.wantErr)
			}
			if n != int64(tc.w.limit) || n != int64(tc.w.buf.Len()) {
				t.Errorf("copyHashed = %d, destination took %d, limit %d", n, tc.w.buf.Len(), tc.w.limit)
			}
			if !bytes.Equal(tc.w.buf.Bytes(), src[:tc.w.buf.Len()]) {
				t.Error("destination holds bytes other than the source's prefix")
			}
		})
	}
}

// TestCopyHashedBuffersReturned runs many copies, failing and not, to show
// that copyHashed neither deadlocks nor leaks its ring of buffers.
func TestCopyHashedBuffersReturned(t *testing.T) {
	src := randomData(t, 2*pipeBufSize+1)
	for i := range 50 {
		var w io.Writer = io.Discard
		if i%3 == 1 {
			w = &limitedWriter{limit: i * 1000, err: errSink}
		}
		var r io.Reader = bytes.NewReader(src)
		if i%3 == 2 {
			r = io.MultiReader(bytes.NewReader(src[:i*5000]), iotest.ErrReader(errSource))
		}
		if _, err := copyHashed(w, sha256.New(), r); (err == nil) != (i%3 == 0) {
			t.Fatalf("round %d: %v", i, err)
		}
	}
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// dataErrReader returns all its data together with err in one Read.
type dataErrReader struct {
	data []byte
	err  error
}

func (d *dataErrReader) Read(p []byte) (int, error) {
	n := copy(p, d.data)
	d.data = d.data[n:]
	if len(d.data) == 0 {
		return n, d.err
	}
	return n, nil
}

// limitedWriter accepts limit bytes, then fails with err or, when short,
// reports a short write without an error.
type limitedWriter struct {
	buf   bytes.Buffer
	limit int
	err   error
	short bool
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	room := w.limit - w.buf.Len()
	if len(p) <= room {
		return w.buf.Write(p)
	}
	w.buf.Write(p[:room])
	if w.short {
		return room, nil
	}
	return room, w.err
}

func TestPaginate(t *testing.T) {
	all := []string{"a", "b", "c", "d"}
	cases := []struct {
		name string
		list []string
		last string
		n    int
		want []string
		more bool
	}{
		{"all", all, "", -1, all, false},
		{"first page", all, "", 2, []string{"a", "b"}, true},
		{"second page", all, "b", 2, []string{"c", "d"}, false},
		{"page of one", all, "a", 1, []string{"b"}, true},
		{"n equals the length", all, "", 4, all, false},
		{"n beyond the length", all, "", 10, all, false},
		{"last not in the list", all, "bb", 1, []string{"c"}, true},
		{"last before everything", all, "0", -1, all, false},
		{"last is the final entry", all, "d", 5, []string{}, false},
		{"last after everything", all, "z", -1, []string{}, false},
		{"n zero", all, "", 0, []string{}, true},
		{"empty list", []string{}, "", 10, []string{}, false},
		{"empty list with last", []string{}, "a", 10, []string{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, more := paginate(tc.list, tc.last, tc.n)
			if len(got) != len(tc.want) || more != tc.more {
				t.Fatalf("paginate(%v, %q, %d) = %v, %v; want %v, %v", tc.list, tc.last, tc.n, got, more, tc.want, tc.more)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("paginate(%v, %q, %d) = %v, want %v", tc.list, tc.last, tc.n, got, tc.want)
				}
			}
		})
	}
}

// endless never runs out of bytes.
type endless struct{}

func (endless) Read(p []byte) (int, error) { return len(p), nil }

// A failing destination stops the copy even when the source never ends.
func TestCopyHashedWriteErrorStopsEndlessSource(t *testing.T) {
	cases := []struct {
		name  string
		limit int
	}{
		{"fails at once", 0},
		{"fails in the first buffer", 100},
		{"fails at a buffer boundary", pipeBufSize},
		{"fails past the ring", pipeBufs*pipeBufSize + 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := &limitedWriter{limit: tc.limit, err: errSink}
			n, err := copyHashed(w, sha256.New(), endless{})
			if !isWriteError(err) || n != int64(tc.limit) {
				t.Errorf("copyHashed = %d, %v; want %d and a write error", n, err, tc.limit)
			}
		})
	}
}
