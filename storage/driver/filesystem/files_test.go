package filesystem_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/filesystem"
)

func TestNew(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		root    string
		wantErr bool
	}{
		{"existing", dir, false},
		{"created with parents", filepath.Join(dir, "a", "b"), false},
		{"empty", "", true},
		{"a file", filepath.Join(dir, "file"), true},
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := filesystem.New(tc.root)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New(%q) = %v, want error %v", tc.root, err, tc.wantErr)
			}
			if err == nil && !filepath.IsAbs(d.Root()) {
				t.Errorf("Root() = %q, want an absolute path", d.Root())
			}
		})
	}
}

func TestTempFiles(t *testing.T) {
	d := newDriver(t)
	ctx := t.Context()
	for i := range 20 {
		put(t, d, "/a/b/obj", bytes.Repeat([]byte{byte(i)}, i*1000))
	}
	// A failed PutContent (the target is a directory) removes its temp file.
	put(t, d, "/a/dir/obj", []byte("x"))
	if err := d.PutContent(ctx, "/a/dir", []byte("y")); err == nil {
		t.Fatal("PutContent over a directory succeeded")
	}
	// A temp file left by a crash is never listed or walked.
	stale := filepath.Join(d.Root(), "a", "b", ".tmp-stale")
	if err := os.WriteFile(stale, []byte("stale"), 0o666); err != nil {
		t.Fatal(err)
	}
	names, err := d.List(ctx, "/a/b")
	if err != nil || len(names) != 1 || names[0] != "/a/b/obj" {
		t.Errorf("List(/a/b) = %q, %v; want only /a/b/obj", names, err)
	}
	var walked []string
	if err := d.Walk(ctx, "/a/b", func(fi driver.FileInfo) error {
		walked = append(walked, fi.Path())
		return nil
	}); err != nil || len(walked) != 1 {
		t.Errorf("Walk(/a/b) = %q, %v; want only /a/b/obj", walked, err)
	}
	// Nor can it be reached by path.
	var ie *driver.InvalidPathError
	if _, err := d.GetContent(ctx, "/a/b/.tmp-stale"); !errors.As(err, &ie) {
		t.Errorf("GetContent of a temp name = %v, want *driver.InvalidPathError", err)
	}
	if err := os.Remove(stale); err != nil {
		t.Fatal(err)
	}
}

func TestOpenReturnsFile(t *testing.T) {
	d := newDriver(t)
	put(t, d, "/obj", []byte("0123456789"))
	f, err := d.Open(t.Context(), "/obj")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := f.(*os.File); !ok {
		t.Errorf("Open returned %T, want *os.File for sendfile", f)
	}
	r, err := d.Reader(t.Context(), "/obj", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok := r.(*os.File); !ok {
		t.Errorf("Reader returned %T, want *os.File", r)
	}
}

func TestWriterReadFrom(t *testing.T) {
	d := newDriver(t)
	src := filepath.Join(t.TempDir(), "src")
	content := bytes.Repeat([]byte("berth"), 300_000)
	if err := os.WriteFile(src, content, 0o666); err != nil {
		t.Fatal(err)
	}
	put(t, d, "/up/data", []byte("head"))
	w, err := d.Writer(t.Context(), "/up/data", true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, ok := w.(io.ReaderFrom); !ok {
		t.Fatalf("writer %T does not implement io.ReaderFrom", w)
	}
	n, err := io.Copy(w, f)
	if err != nil || n != int64(len(content)) {
		t.Fatalf("io.Copy = %d, %v; want %d", n, err, len(content))
	}
	if w.Size() != int64(4+len(content)) {
		t.Errorf("Size() = %d, want %d", w.Size(), 4+len(content))
	}
	if err := w.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	got, err := d.GetContent(t.Context(), "/up/data")
	if err != nil || !bytes.Equal(got, append([]byte("head"), content...)) {
		t.Errorf("GetContent = %d bytes, %v; want head + %d bytes", len(got), err, len(content))
	}
}

func put(t *testing.T, d *filesystem.Driver, p string, b []byte) {
	t.Helper()
	if err := d.PutContent(t.Context(), p, b); err != nil {
		t.Fatalf("PutContent(%s): %v", p, err)
	}
}

func BenchmarkWriter(b *testing.B) {
	root := b.TempDir()
	d, err := filesystem.New(root)
	if err != nil {
		b.Fatal(err)
	}
	chunk := bytes.Repeat([]byte{0xab}, 1<<20)
	b.SetBytes(int64(len(chunk)) * 64)
	for b.Loop() {
		w, err := d.Writer(b.Context(), "/blob", false)
		if err != nil {
			b.Fatal(err)
		}
		for range 64 {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutContent(b *testing.B) {
	d, err := filesystem.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	link := []byte("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	for b.Loop() {
		if err := d.PutContent(b.Context(), "/repo/_manifests/tags/latest/current/link", link); err != nil {
			b.Fatal(err)
		}
	}
}
