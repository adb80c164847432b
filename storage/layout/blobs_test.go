package layout_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthhq/berth/storage/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestNew(t *testing.T) {
	t.Run("creates the layout", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "content")
		if _, err := layout.New(dir); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"oci-layout", "index.json", "blobs"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		b, _ := os.ReadFile(filepath.Join(dir, "oci-layout"))
		if string(b) != `{"imageLayoutVersion":"1.0.0"}` {
			t.Errorf("oci-layout = %s", b)
		}
		if _, err := layout.New(dir); err != nil {
			t.Fatalf("reopening: %v", err)
		}
	})
	tests := []struct {
		name, file, content string
	}{
		{"other layout version", "oci-layout", `{"imageLayoutVersion":"2.0.0"}`},
		{"broken oci-layout", "oci-layout", `{`},
		{"broken index.json", "index.json", `not json`},
		{"index of another schema version", "index.json", `{"schemaVersion":1,"manifests":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tt.file), []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := layout.New(dir); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
	if _, err := layout.New(""); err == nil {
		t.Error("New accepted an empty directory")
	}
}

func TestBlobs(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	content, d := blob(t, "", 4096)
	if ok, err := l.Has(ctx, d.Digest); ok || err != nil {
		t.Fatalf("Has before Put = %v, %v", ok, err)
	}
	if _, err := l.Stat(ctx, d.Digest); !errors.Is(err, layout.ErrBlobUnknown) {
		t.Fatalf("Stat of a missing blob = %v", err)
	}
	put(t, l, d, content)
	put(t, l, d, content) // again: a no-op
	if ok, _ := l.Has(ctx, d.Digest); !ok {
		t.Fatal("Has after Put = false")
	}
	if size, err := l.Stat(ctx, d.Digest); size != d.Size || err != nil {
		t.Fatalf("Stat = %d, %v", size, err)
	}
	f, err := l.Open(ctx, d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(100, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(f)
	f.Close()
	if !bytes.Equal(rest, content[100:]) {
		t.Error("Open+Seek read other bytes")
	}
	if _, err := l.ReadBlob(ctx, d.Digest, 100); err == nil {
		t.Error("ReadBlob ignored its limit")
	}
	if _, err := l.Open(ctx, "sha256:../../etc/passwd"); !errors.Is(err, layout.ErrInvalid) {
		t.Errorf("Open of a bad digest = %v, want ErrInvalid", err)
	}

	wd, err := l.WriteBlob(ctx, bytes.NewReader([]byte("unknown digest")))
	if err != nil || wd.Digest != digest.FromString("unknown digest") || wd.Size != 14 {
		t.Fatalf("WriteBlob = %v, %v", wd, err)
	}
	if err := l.Validate(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestBadContentNeverLands puts content that does not match its
// descriptor and checks nothing is kept under blobs/ or ingest/.
func TestBadContentNeverLands(t *testing.T) {
	content, d := blob(t, "", 1000)
	tests := []struct {
		name string
		desc ocispec.Descriptor
		data []byte
	}{
		{"flipped byte", d, append(append([]byte{}, content[:500]...), append([]byte{content[500] ^ 1}, content[501:]...)...)},
		{"too short", d, content[:999]},
		{"too long", d, append(append([]byte{}, content...), 'x')},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLayout(t)
			err := l.Put(context.Background(), tt.desc, bytes.NewReader(tt.data))
			if err == nil {
				t.Fatal("Put accepted it")
			}
			if ok, _ := l.Has(context.Background(), d.Digest); ok {
				t.Fatal("bad content landed under blobs/")
			}
			if tt.name != "too short" { // a short download is kept for resuming
				if !errors.Is(err, layout.ErrDigestMismatch) {
					t.Errorf("err = %v, want ErrDigestMismatch", err)
				}
				assertNoPartials(t, l)
			}
		})
	}
}

func assertNoPartials(t *testing.T, l *layout.Layout) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(l.Dir(), "ingest", "*"))
	if len(left) > 0 {
		t.Errorf("left in ingest/: %v", left)
	}
}

func TestIngestResume(t *testing.T) {
	ctx := context.Background()
	content, d := blob(t, "", 10000)
	t.Run("resumes where the last writer stopped", func(t *testing.T) {
		l := newLayout(t)
		w, err := l.Ingest(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(content[:4000]); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("early Commit = %v, want io.ErrUnexpectedEOF", err)
		}
		w.Close()
		w, err = l.Ingest(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if w.Offset() != 4000 {
			t.Fatalf("Offset = %d, want 4000", w.Offset())
		}
		if _, err := w.Write(content[4000:]); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Ingest(ctx, d); !errors.Is(err, layout.ErrAlreadyExists) {
			t.Fatalf("Ingest of a stored blob = %v, want ErrAlreadyExists", err)
		}
		assertNoPartials(t, l)
	})
	t.Run("a corrupt partial fails at commit and is dropped", func(t *testing.T) {
		l := newLayout(t)
		w, _ := l.Ingest(ctx, d)
		_, _ = w.Write(bytes.Repeat([]byte{0}, 4000))
		w.Close()
		w, _ = l.Ingest(ctx, d)
		_, _ = w.Write(content[w.Offset():])
		if err := w.Commit(); !errors.Is(err, layout.ErrDigestMismatch) {
			t.Fatalf("Commit = %v, want ErrDigestMismatch", err)
		}
		w.Close()
		assertNoPartials(t, l)
		if ok, _ := l.Has(ctx, d.Digest); ok {
			t.Fatal("bad content landed")
		}
	})
	t.Run("reset starts over", func(t *testing.T) {
		l := newLayout(t)
		w, _ := l.Ingest(ctx, d)
		_, _ = w.Write([]byte("garbage"))
		if err := w.Reset(); err != nil || w.Offset() != 0 {
			t.Fatalf("Reset = %v, offset %d", err, w.Offset())
		}
		_, _ = w.Write(content)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		w.Close()
	})
	t.Run("one writer per digest", func(t *testing.T) {
		l := newLayout(t)
		w, err := l.Ingest(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if _, err := l.Ingest(short, d); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Ingest = %v, want to wait until the deadline", err)
		}
		done := make(chan error, 1)
		go func() {
			w2, err := l.Ingest(ctx, d) // waits for the first writer's commit
			if err == nil {
				w2.Close()
			}
			done <- err
		}()
		_, _ = w.Write(content)
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		if err := <-done; !errors.Is(err, layout.ErrAlreadyExists) {
			t.Fatalf("waiting Ingest = %v, want ErrAlreadyExists", err)
		}
	})
	t.Run("bad descriptors", func(t *testing.T) {
		l := newLayout(t)
		for _, bad := range []ocispec.Descriptor{
			{Digest: "sha256:abc", Size: 1},
			{Digest: d.Digest, Size: -1},
			{Digest: "md5:d41d8cd98f00b204e9800998ecf8427e", Size: 0},
		} {
			if _, err := l.Ingest(ctx, bad); !errors.Is(err, layout.ErrInvalid) {
				t.Errorf("Ingest(%v) = %v, want ErrInvalid", bad, err)
			}
		}
	})
}

// TestIngestLarge writes a blob larger than the writeback chunk (16 MiB)
// in pieces, stopping and resuming past a chunk boundary: it lands whole.
func TestIngestLarge(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	content, d := blob(t, "", 40<<20+12345)
	w, err := l.Ingest(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	const piece, stop = 1 << 20, 18 << 20
	for off := 0; off < stop; off += piece {
		if _, err := w.Write(content[off : off+piece]); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	if w, err = l.Ingest(ctx, d); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for off := int(w.Offset()); off < len(content); off += piece {
		if _, err := w.Write(content[off:min(off+piece, len(content))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := l.ReadBlob(ctx, d.Digest, d.Size)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("stored blob: %d bytes, %v", len(got), err)
	}
	assertNoPartials(t, l)
}
