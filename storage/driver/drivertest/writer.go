package drivertest

import (
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/berthhq/berth/storage/driver"
)

func writerCases() []testCase {
	return []testCase{
		{"WriterStreamLarge", testWriterStreamLarge},
		{"WriterAppendAfterCommit", func(t *testing.T, d driver.Driver) { testWriterAppend(t, d, true) }},
		{"WriterAppendAfterClose", func(t *testing.T, d driver.Driver) { testWriterAppend(t, d, false) }},
		{"WriterTruncates", testWriterTruncates},
		{"WriterCancel", testWriterCancel},
		{"WriterAfterCommit", testWriterAfterCommit},
	}
}

func newWriter(t *testing.T, d driver.Driver, p string, append bool) driver.FileWriter {
	t.Helper()
	w, err := d.Writer(t.Context(), p, append)
	if err != nil {
		t.Fatalf("Writer(%s, append=%v): %v", p, append, err)
	}
	return w
}

// writeChunks writes b to w in chunks of uneven sizes up to max, checking
// Size as it goes.
func writeChunks(t *testing.T, w driver.FileWriter, b []byte, max int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	start := w.Size()
	for off := 0; off < len(b); {
		n := min(1+rng.IntN(max), len(b)-off)
		if m, err := w.Write(b[off : off+n]); err != nil || m != n {
			t.Fatalf("Write(%d bytes at %d) = %d, %v", n, off, m, err)
		}
		off += n
		if got, want := w.Size(), start+int64(off); got != want {
			t.Fatalf("Size() = %d after writing %d bytes, want %d", got, off, want)
		}
	}
}

func commitClose(t *testing.T, w driver.FileWriter) {
	t.Helper()
	if err := w.Commit(t.Context()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// wantDigest compares the sha256 of the object read with Reader to want's.
func wantDigest(t *testing.T, d driver.Driver, p string, want []byte) {
	t.Helper()
	r, err := d.Reader(t.Context(), p, 0)
	if err != nil {
		t.Fatalf("Reader(%s): %v", p, err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		t.Fatalf("reading %s: %v", p, err)
	}
	if n != int64(len(want)) || string(h.Sum(nil)) != sumOf(want) {
		t.Fatalf("%s: read %d bytes with sha256 %x, want %d bytes with sha256 %x", p, n, h.Sum(nil), len(want), sumOf(want))
	}
	fi, err := d.Stat(t.Context(), p)
	if err != nil || fi.Size() != int64(len(want)) {
		t.Fatalf("Stat(%s) = %v, %v; want size %d", p, fi, err, len(want))
	}
}

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return string(s[:])
}

func testWriterStreamLarge(t *testing.T, d driver.Driver) {
	content := randomBytes(9<<20+12345, 5)
	const p = "/docker/registry/v2/repositories/r/_uploads/u1/data"
	w := newWriter(t, d, p, false)
	if w.Size() != 0 {
		t.Fatalf("new Writer Size() = %d, want 0", w.Size())
	}
	writeChunks(t, w, content, 1<<20+17, 1)
	commitClose(t, w)
	wantDigest(t, d, p, content)
}

// testWriterAppend writes an object with two writers, the second appending
// to what the first wrote; the first is committed or only closed, the way a
// chunked upload is resumed by whichever process takes the next chunk.
func testWriterAppend(t *testing.T, d driver.Driver, commitFirst bool) {
	content := randomBytes(3<<20+999, 6)
	split := 1<<20 + 333
	const p = "/up/data"
	w := newWriter(t, d, p, false)
	writeChunks(t, w, content[:split], 64<<10, 2)
	if commitFirst {
		if err := w.Commit(t.Context()); err != nil {
			t.Fatalf("Commit: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	w = newWriter(t, d, p, true)
	if w.Size() != int64(split) {
		t.Fatalf("append Writer Size() = %d, want %d", w.Size(), split)
	}
	writeChunks(t, w, content[split:], 100<<10, 3)
	if w.Size() != int64(len(content)) {
		t.Fatalf("Size() = %d, want %d", w.Size(), len(content))
	}
	commitClose(t, w)
	wantDigest(t, d, p, content)

	// Appending nothing leaves the object as it is.
	w = newWriter(t, d, p, true)
	commitClose(t, w)
	wantDigest(t, d, p, content)
}

func testWriterTruncates(t *testing.T, d driver.Driver) {
	put(t, d, "/t/obj", randomBytes(5000, 7))
	w := newWriter(t, d, "/t/obj", false)
	if w.Size() != 0 {
		t.Errorf("Writer(append=false) on a 5000-byte object: Size() = %d, want 0", w.Size())
	}
	writeChunks(t, w, []byte("new"), 2, 4)
	commitClose(t, w)
	wantContent(t, d, "/t/obj", []byte("new"))
}

func testWriterCancel(t *testing.T, d driver.Driver) {
	ctx := t.Context()
	t.Run("new", func(t *testing.T) {
		w := newWriter(t, d, "/c/new/data", false)
		writeChunks(t, w, randomBytes(100_000, 8), 10_000, 5)
		if err := w.Cancel(ctx); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		_ = w.Close() // must not undo the Cancel or panic
		_, err := d.Stat(ctx, "/c/new/data")
		wantNotFound(t, "Stat after Cancel", err)
		_, err = d.GetContent(ctx, "/c/new/data")
		wantNotFound(t, "GetContent after Cancel", err)
		if _, err := w.Write([]byte("x")); err == nil {
			t.Error("Write after Cancel succeeded")
		}
	})
	t.Run("append", func(t *testing.T) {
		put(t, d, "/c/old/data", []byte("old"))
		w := newWriter(t, d, "/c/old/data", true)
		writeChunks(t, w, []byte("more"), 3, 6)
		if err := w.Cancel(ctx); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		_, err := d.Stat(ctx, "/c/old/data")
		wantNotFound(t, "Stat after Cancel of an append Writer", err)
	})
}

func testWriterAfterCommit(t *testing.T, d driver.Driver) {
	w := newWriter(t, d, "/ac/obj", false)
	writeChunks(t, w, []byte("hello"), 5, 7)
	if err := w.Commit(t.Context()); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if _, err := w.Write([]byte("late")); err == nil {
		t.Error("Write after Commit succeeded")
	}
	if err := w.Commit(t.Context()); err == nil {
		t.Error("second Commit succeeded")
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close after Commit: %v", err)
	}
	wantContent(t, d, "/ac/obj", []byte("hello"))
}
