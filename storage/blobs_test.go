package storage_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/filesystem"
	"github.com/opencontainers/go-digest"
)

func TestPutBlob(t *testing.T) {
	cases := []struct {
		name    string
		content []byte
		alg     digest.Algorithm
	}{
		{"empty sha256", []byte{}, digest.SHA256},
		{"empty sha512", []byte{}, digest.SHA512},
		{"one byte", []byte{0}, digest.SHA256},
		{"text sha256", []byte("hello, berth"), digest.SHA256},
		{"text sha512", []byte("hello, berth"), digest.SHA512},
		{"one MiB plus one sha256", bytes.Repeat([]byte{'x'}, 1<<20+1), digest.SHA256},
		{"three MiB sha512", bytes.Repeat([]byte("0123456789abcdef"), 3<<16), digest.SHA512},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				ctx := t.Context()
				r := e.repo(t, "lib/blobs")
				d := tc.alg.FromBytes(tc.content)
				desc, err := r.PutBlob(ctx, d, bytes.NewReader(tc.content))
				if err != nil {
					t.Fatalf("PutBlob: %v", err)
				}
				if desc.Digest != d || desc.Size != int64(len(tc.content)) {
					t.Errorf("PutBlob = %s/%d, want %s/%d", desc.Digest, desc.Size, d, len(tc.content))
				}
				for _, s := range []*storage.Store{e.s, e.fresh(t)} {
					st, err := mustRepo(t, s, "lib/blobs").StatBlob(ctx, d)
					if err != nil || st.Digest != d || st.Size != int64(len(tc.content)) {
						t.Errorf("StatBlob = %+v, %v", st, err)
					}
				}
				if got := readBlob(t, r, d); !bytes.Equal(got, tc.content) {
					t.Errorf("read back %d bytes, want %d", len(got), len(tc.content))
				}
				if _, err := e.d.Stat(ctx, blobData(d)); err != nil {
					t.Errorf("blob not at its registry:2 path %s: %v", blobData(d), err)
				}
				assertNoUploads(t, e.d, "lib/blobs")
			})
		})
	}
}

func TestPutBlobRejected(t *testing.T) {
	content := []byte("the real content")
	other := digest.FromString("something else")
	cases := []struct {
		name    string
		d       digest.Digest
		body    io.Reader
		wantErr error
	}{
		{"wrong sha256", other, bytes.NewReader(content), storage.ErrDigestMismatch},
		{"wrong sha512", digest.SHA512.FromString("x"), bytes.NewReader(content), storage.ErrDigestMismatch},
		{"digest of a prefix", digest.FromBytes(content[:4]), bytes.NewReader(content), storage.ErrDigestMismatch},
		{"empty body", digest.FromBytes(content), bytes.NewReader(nil), storage.ErrDigestMismatch},
		{"body fails midway", digest.FromBytes(content), failAfter(content, 5), storage.ErrBlobUploadInvalid},
		{"short hex", "sha256:abc", bytes.NewReader(content), storage.ErrDigestInvalid},
		{"uppercase hex", digest.Digest("sha256:" + strings.ToUpper(digest.FromBytes(content).Encoded())), bytes.NewReader(content), storage.ErrDigestInvalid},
		{"unknown algorithm", "md5:d41d8cd98f00b204e9800998ecf8427e", bytes.NewReader(content), storage.ErrDigestInvalid},
		{"no algorithm", digest.Digest(digest.FromBytes(content).Encoded()), bytes.NewReader(content), storage.ErrDigestInvalid},
		{"empty digest", "", bytes.NewReader(content), storage.ErrDigestInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				ctx := t.Context()
				r := e.repo(t, "reject")
				_, err := r.PutBlob(ctx, tc.d, tc.body)
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("PutBlob error = %v, want %v", err, tc.wantErr)
				}
				if errors.Is(tc.wantErr, storage.ErrDigestMismatch) && !errors.Is(err, storage.ErrDigestInvalid) {
					t.Errorf("mismatch %v does not match ErrDigestInvalid", err)
				}
				real := digest.FromBytes(content)
				if _, err := r.StatBlob(ctx, real); !errors.Is(err, storage.ErrBlobUnknown) {
					t.Errorf("StatBlob of the content after a refused put = %v, want ErrBlobUnknown", err)
				}
				assertAbsent(t, e.d, blobData(real))
				if tc.d.Validate() == nil {
					assertAbsent(t, e.d, blobData(tc.d))
				}
				assertNoUploads(t, e.d, "reject")
			})
		})
	}
}

func TestBlobMalformedDigest(t *testing.T) {
	bad := []digest.Digest{"", "sha256", "sha256:", "sha256:abc", "nope:abc", digest.Digest(strings.Repeat("a", 64))}
	ops := []struct {
		name string
		op   func(t *testing.T, r, from *storage.Repository, d digest.Digest) error
	}{
		{"StatBlob", func(t *testing.T, r, _ *storage.Repository, d digest.Digest) error {
			_, err := r.StatBlob(t.Context(), d)
			return err
		}},
		{"OpenBlob", func(t *testing.T, r, _ *storage.Repository, d digest.Digest) error {
			_, _, err := r.OpenBlob(t.Context(), d)
			return err
		}},
		{"DeleteBlob", func(t *testing.T, r, _ *storage.Repository, d digest.Digest) error {
			return r.DeleteBlob(t.Context(), d)
		}},
		{"MountBlob", func(t *testing.T, r, from *storage.Repository, d digest.Digest) error {
			_, err := r.MountBlob(t.Context(), from, d)
			return err
		}},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				for _, d := range bad {
					var err error
					noPanic(t, op.name+"("+string(d)+")", func() { err = op.op(t, e.repo(t, "to"), e.repo(t, "from"), d) })
					if !errors.Is(err, storage.ErrDigestInvalid) {
						t.Errorf("%s(%q) = %v, want ErrDigestInvalid", op.name, d, err)
					}
				}
			})
		})
	}
}

func TestBlobVisibility(t *testing.T) {
	content := []byte("layer shared between repositories")
	d := digest.FromBytes(content)
	cases := []struct {
		name string
		// run acts on repositories a (which has the blob) and b; it
		// returns whether b should see the blob afterwards.
		run func(t *testing.T, a, b *storage.Repository) bool
	}{
		{"not visible in another repository", func(t *testing.T, a, b *storage.Repository) bool {
			return false
		}},
		{"mounted", func(t *testing.T, a, b *storage.Repository) bool {
			desc, err := b.MountBlob(t.Context(), a, d)
			if err != nil || desc.Digest != d || desc.Size != int64(len(content)) {
				t.Fatalf("MountBlob = %+v, %v", desc, err)
			}
			return true
		}},
		{"mounted twice", func(t *testing.T, a, b *storage.Repository) bool {
			for range 2 {
				if _, err := b.MountBlob(t.Context(), a, d); err != nil {
					t.Fatalf("MountBlob: %v", err)
				}
			}
			return true
		}},
		{"mount from a repository without it", func(t *testing.T, a, b *storage.Repository) bool {
			_, err := a.MountBlob(t.Context(), b, d)
			if !errors.Is(err, storage.ErrBlobUnknown) {
				t.Fatalf("MountBlob from a repository without the blob = %v, want ErrBlobUnknown", err)
			}
			_, err = b.MountBlob(t.Context(), b, d)
			if !errors.Is(err, storage.ErrBlobUnknown) {
				t.Fatalf("MountBlob into itself without the blob = %v, want ErrBlobUnknown", err)
			}
			return false
		}},
		{"pushed again to the other repository", func(t *testing.T, a, b *storage.Repository) bool {
			pushBlob(t, b, mtOCILayer, content)
			return true
		}},
		{"mounted then deleted from the source", func(t *testing.T, a, b *storage.Repository) bool {
			if _, err := b.MountBlob(t.Context(), a, d); err != nil {
				t.Fatalf("MountBlob: %v", err)
			}
			if err := a.DeleteBlob(t.Context(), d); err != nil {
				t.Fatalf("DeleteBlob: %v", err)
			}
			if _, err := a.StatBlob(t.Context(), d); !errors.Is(err, storage.ErrBlobUnknown) {
				t.Errorf("StatBlob after DeleteBlob = %v, want ErrBlobUnknown", err)
			}
			if err := a.DeleteBlob(t.Context(), d); !errors.Is(err, storage.ErrBlobUnknown) {
				t.Errorf("second DeleteBlob = %v, want ErrBlobUnknown", err)
			}
			return true
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				ctx := t.Context()
				a, b := e.repo(t, "team/a"), e.repo(t, "team/b")
				pushBlob(t, a, mtOCILayer, content)
				want := tc.run(t, a, b)
				_, err := b.StatBlob(ctx, d)
				_, _, openErr := b.OpenBlob(ctx, d)
				if !want {
					if !errors.Is(err, storage.ErrBlobUnknown) || !errors.Is(openErr, storage.ErrBlobUnknown) {
						t.Errorf("b: StatBlob = %v, OpenBlob = %v; want ErrBlobUnknown", err, openErr)
					}
					if err := b.DeleteBlob(ctx, d); !errors.Is(err, storage.ErrBlobUnknown) {
						t.Errorf("b: DeleteBlob = %v, want ErrBlobUnknown", err)
					}
					return
				}
				if err != nil || openErr != nil {
					t.Fatalf("b: StatBlob = %v, OpenBlob = %v", err, openErr)
				}
				if got := readBlob(t, b, d); !bytes.Equal(got, content) {
					t.Errorf("b reads %q", got)
				}
			})
		})
	}
}

func TestDeleteBlobUnknown(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		err := e.repo(t, "x").DeleteBlob(t.Context(), digest.FromString("never pushed"))
		if !errors.Is(err, storage.ErrBlobUnknown) {
			t.Errorf("DeleteBlob = %v, want ErrBlobUnknown", err)
		}
	})
}

// seekCases read a 100-byte blob of bytes 0..99 after a seek.
var seekCases = []struct {
	name   string
	offset int64
	whence int
	n      int   // bytes to read; -1: to the end
	want   int64 // offset the Seek returns, where reading starts
}{
	{"start", 0, io.SeekStart, -1, 0},
	{"range from start", 10, io.SeekStart, 20, 10},
	{"to the last byte", 99, io.SeekStart, -1, 99},
	{"to the end", 100, io.SeekStart, -1, 100},
	{"past the end", 150, io.SeekStart, -1, 150},
	{"from the end", -5, io.SeekEnd, -1, 95},
	{"from current", 42, io.SeekCurrent, 8, 42},
}

func checkSeeks(t *testing.T, open func(t *testing.T) io.ReadSeekCloser, content []byte) {
	t.Helper()
	for _, tc := range seekCases {
		t.Run(tc.name, func(t *testing.T) {
			rs := open(t)
			defer rs.Close()
			pos, err := rs.Seek(tc.offset, tc.whence)
			if err != nil || pos != tc.want {
				t.Fatalf("Seek(%d, %d) = %d, %v; want %d", tc.offset, tc.whence, pos, err, tc.want)
			}
			var want []byte
			if pos < int64(len(content)) {
				want = content[pos:]
			}
			var r io.Reader = rs
			if tc.n >= 0 {
				want = want[:tc.n]
				r = io.LimitReader(rs, int64(tc.n))
			}
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("read %v (err %v), want %v", got, err, want)
			}
		})
	}
	t.Run("seek back after reading", func(t *testing.T) {
		rs := open(t)
		defer rs.Close()
		buf := make([]byte, 30)
		if _, err := io.ReadFull(rs, buf); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.Seek(3, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rs, buf[:4]); err != nil || !bytes.Equal(buf[:4], content[3:7]) {
			t.Errorf("after seeking back read %v (%v), want %v", buf[:4], err, content[3:7])
		}
	})
}

func TestOpenBlobSeeks(t *testing.T) {
	content := make([]byte, 100)
	for i := range content {
		content[i] = byte(i)
	}
	d := digest.FromBytes(content)
	forEachDriver(t, func(t *testing.T, e *env) {
		r := e.repo(t, "seek")
		pushBlob(t, r, mtOCILayer, content)
		checkSeeks(t, func(t *testing.T) io.ReadSeekCloser {
			rs, desc, err := r.OpenBlob(t.Context(), d)
			if err != nil || desc.Size != 100 || desc.Digest != d {
				t.Fatalf("OpenBlob = %+v, %v", desc, err)
			}
			if _, ok := e.d.(*filesystem.Driver); ok {
				if _, ok := rs.(*os.File); !ok {
					t.Errorf("filesystem OpenBlob returned %T, want *os.File for sendfile", rs)
				}
			}
			return rs
		}, content)
	})
}

// readerOnly hides the driver's Opener upgrade, so OpenBlob falls back to
// reopening driver Readers at the offsets Seek asks for.
type readerOnly struct{ driver.Driver }

func TestOpenBlobSeeksWithoutOpener(t *testing.T) {
	content := make([]byte, 100)
	for i := range content {
		content[i] = byte(100 - i)
	}
	d := digest.FromBytes(content)
	forEachDriver(t, func(t *testing.T, e *env) {
		r := mustRepo(t, newStore(t, readerOnly{e.d}), "seek")
		pushBlob(t, r, mtOCILayer, content)
		checkSeeks(t, func(t *testing.T) io.ReadSeekCloser {
			rs, _, err := r.OpenBlob(t.Context(), d)
			if err != nil {
				t.Fatalf("OpenBlob: %v", err)
			}
			return rs
		}, content)
		t.Run("seek before start", func(t *testing.T) {
			rs, _, err := r.OpenBlob(t.Context(), d)
			if err != nil {
				t.Fatal(err)
			}
			defer rs.Close()
			if _, err := rs.Seek(-1, io.SeekStart); err == nil {
				t.Error("Seek(-1) succeeded")
			}
		})
	})
}
