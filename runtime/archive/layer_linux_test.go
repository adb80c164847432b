package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/opencontainers/go-digest"
)

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecompress(t *testing.T) {
	plain := mkTar(t, reg("f", "hello", 0o644))
	for name, in := range map[string][]byte{"plain": plain, "gzip": gz(t, plain), "zstd": zst(t, plain), "empty": nil} {
		t.Run(name, func(t *testing.T) {
			rc, err := Decompress(bytes.NewReader(in))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			want := plain
			if in == nil {
				want = nil
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got %d bytes, want %d", len(got), len(want))
			}
		})
	}
}

func TestApplyLayer(t *testing.T) {
	requireRoot(t)
	tarb := mkTar(t, dir("d/", 0o755), reg("d/f", "layer content", 0o644))
	diffID := digest.FromBytes(tarb)
	for name, blob := range map[string][]byte{"gzip": gz(t, tarb), "zstd": zst(t, tarb), "plain": tarb} {
		t.Run(name, func(t *testing.T) {
			good := digest.FromBytes(blob)
			bad := digest.FromString("something else")
			cases := []struct {
				name           string
				layer, diff    digest.Digest
				opts           []Option
				wantMismatched bool
			}{
				{"match", good, diffID, nil, false},
				{"layer digest mismatch", bad, diffID, nil, true},
				{"diff id mismatch", good, bad, nil, true},
				{"blob verified by the caller", bad, diffID, []Option{WithBlobVerified()}, false},
				{"blob verified, diff id mismatch", good, bad, []Option{WithBlobVerified()}, true},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					s := newSandbox(t)
					st, err := ApplyLayer(context.Background(), s.root, bytes.NewReader(blob), c.layer, c.diff, c.opts...)
					if c.wantMismatched {
						if !errors.Is(err, ErrDigestMismatch) {
							t.Fatalf("ApplyLayer: %v, want ErrDigestMismatch", err)
						}
					} else if err != nil {
						t.Fatal(err)
					} else if st.Files != 1 || st.Bytes != int64(len(tarb)) || readFile(t, filepath.Join(s.root, "d/f")) != "layer content" {
						t.Errorf("stats %+v", st)
					}
					s.checkOutside(t)
				})
			}
		})
	}
	t.Run("invalid digest", func(t *testing.T) {
		s := newSandbox(t)
		if _, err := ApplyLayer(context.Background(), s.root, bytes.NewReader(tarb), "sha256:nope", diffID); err == nil {
			t.Fatal("ApplyLayer accepted an invalid digest")
		}
	})
}

func TestApplyLimits(t *testing.T) {
	requireRoot(t)
	const limit = 1 << 20
	bomb := gz(t, mkTar(t, reg("zeros", string(make([]byte, 32<<20)), 0o644)))
	if len(bomb) > limit/8 {
		t.Fatalf("bomb is %d bytes compressed", len(bomb))
	}
	t.Run("gzip bomb", func(t *testing.T) {
		s := newSandbox(t)
		rc, err := Decompress(bytes.NewReader(bomb))
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		st, err := Apply(context.Background(), s.root, rc, WithMaxSize(limit))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Apply: %v, want ErrTooLarge", err)
		}
		if st.Bytes > limit+1 {
			t.Errorf("read %d bytes past a limit of %d", st.Bytes, limit)
		}
		if fi, err := os.Stat(filepath.Join(s.root, "zeros")); err == nil && fi.Size() > limit {
			t.Errorf("wrote %d bytes past a limit of %d", fi.Size(), limit)
		}
		s.checkOutside(t)
	})
	t.Run("gzip bomb through ApplyLayer", func(t *testing.T) {
		s := newSandbox(t)
		_, err := ApplyLayer(context.Background(), s.root, bytes.NewReader(bomb), digest.FromBytes(bomb), digest.FromString("x"), WithMaxSize(limit))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("ApplyLayer: %v, want ErrTooLarge", err)
		}
	})
	t.Run("entries", func(t *testing.T) {
		s := newSandbox(t)
		layer := mkTar(t, reg("a", "", 0o644), reg("b", "", 0o644), reg("c", "", 0o644))
		if _, err := Apply(context.Background(), s.root, bytes.NewReader(layer), WithMaxEntries(2)); !errors.Is(err, ErrTooManyEntries) {
			t.Fatalf("Apply: %v, want ErrTooManyEntries", err)
		}
		if exists(filepath.Join(s.root, "c")) {
			t.Error("entry past the limit was written")
		}
	})
	t.Run("bad options", func(t *testing.T) {
		s := newSandbox(t)
		if _, err := Apply(context.Background(), s.root, bytes.NewReader(nil), WithMaxSize(0)); err == nil {
			t.Error("WithMaxSize(0) accepted")
		}
	})
	t.Run("canceled", func(t *testing.T) {
		s := newSandbox(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Apply(ctx, s.root, bytes.NewReader(mkTar(t, reg("a", "", 0o644))), WithMaxSize(limit)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply: %v, want context.Canceled", err)
		}
	})
	t.Run("missing root", func(t *testing.T) {
		if _, err := Apply(context.Background(), filepath.Join(t.TempDir(), "nope"), bytes.NewReader(nil)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Apply: %v, want not exist", err)
		}
	})
}
