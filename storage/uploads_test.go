package storage_test

import (
	"bytes"
	"errors"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
)

// newUpload starts an upload in repository name of e's store.
func newUpload(t *testing.T, e *env, name string) *storage.Upload {
	t.Helper()
	u, err := e.repo(t, name).NewUpload(t.Context())
	if err != nil {
		t.Fatalf("NewUpload: %v", err)
	}
	return u
}

// reopen looks the upload up through a new Store over the same driver,
// proving that nothing about it lives in the first Store's memory.
func reopen(t *testing.T, e *env, name, id string) *storage.Upload {
	t.Helper()
	u, err := mustRepo(t, e.fresh(t), name).Upload(t.Context(), id)
	if err != nil {
		t.Fatalf("Upload(%s) from a new store: %v", id, err)
	}
	return u
}

// appendChunk appends chunk at start through a new Store and checks the
// returned size and Size.
func appendChunk(t *testing.T, e *env, name, id string, chunk []byte, start int64) {
	t.Helper()
	u := reopen(t, e, name, id)
	before, err := u.Size(t.Context())
	if err != nil {
		t.Fatalf("Size: %v", err)
	}
	size, err := u.Append(t.Context(), bytes.NewReader(chunk), start)
	if want := before + int64(len(chunk)); err != nil || size != want {
		t.Fatalf("Append(%d bytes at %d) = %d, %v; want %d", len(chunk), start, size, err, want)
	}
	if got, err := u.Size(t.Context()); err != nil || got != size {
		t.Fatalf("Size = %d, %v; want %d", got, err, size)
	}
}

// commitAndCheck commits the upload through a new Store with the digest of
// content under alg and checks the stored blob and that the session is gone.
func commitAndCheck(t *testing.T, e *env, name, id string, content []byte, alg digest.Algorithm) {
	t.Helper()
	ctx := t.Context()
	d := alg.FromBytes(content)
	desc, err := reopen(t, e, name, id).Commit(ctx, d, bytes.NewReader(nil))
	if err != nil {
		t.Fatalf("Commit(%s): %v", d, err)
	}
	if desc.Digest != d || desc.Size != int64(len(content)) {
		t.Errorf("Commit = %s/%d, want %s/%d", desc.Digest, desc.Size, d, len(content))
	}
	r := mustRepo(t, e.fresh(t), name)
	if got := readBlob(t, r, d); !bytes.Equal(got, content) {
		t.Errorf("committed blob has %d bytes, want %d (equal prefix: %v)", len(got), len(content), bytes.HasPrefix(content, got))
	}
	assertAbsent(t, e.d, uploadDir(name, id))
	if _, err := r.Upload(ctx, id); !errors.Is(err, storage.ErrBlobUploadUnknown) {
		t.Errorf("Upload after Commit = %v, want ErrBlobUploadUnknown", err)
	}
}

// splits cuts content into chunks of the given sizes (the rest, if any,
// goes in a last chunk).
func splits(content []byte, sizes ...int) [][]byte {
	var out [][]byte
	for _, n := range sizes {
		out, content = append(out, content[:n]), content[n:]
	}
	if len(content) > 0 {
		out = append(out, content)
	}
	return out
}

func TestUploadChunks(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name    string
		size    int
		chunks  []int
		offsets bool // send start offsets (PATCH with Content-Range)
	}{
		{"no chunks", 0, nil, false},
		{"one chunk", 1000, nil, true},
		{"one byte chunks", 5, []int{1, 1, 1, 1}, true},
		{"uneven chunks", 100, []int{3, 50, 1}, true},
		{"uneven chunks without offsets", 100, []int{3, 50, 1}, false},
		{"chunks across the copy buffer", 3*mib + 5, []int{mib - 1, mib + 2, 1}, true},
		{"empty chunk in the middle", 10, []int{4, 0, 3}, true},
	}
	for _, tc := range cases {
		for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
			t.Run(tc.name+"/"+alg.String(), func(t *testing.T) {
				content := randomBytes(t, tc.size)
				forEachDriver(t, func(t *testing.T, e *env) {
					u := newUpload(t, e, "up/chunks")
					if u.ID() == "" {
						t.Fatal("empty upload ID")
					}
					var at int64
					for _, c := range splits(content, tc.chunks...) {
						start := int64(-1)
						if tc.offsets {
							start = at
						}
						appendChunk(t, e, "up/chunks", u.ID(), c, start)
						at += int64(len(c))
					}
					if size, err := reopen(t, e, "up/chunks", u.ID()).Size(t.Context()); err != nil || size != int64(tc.size) {
						t.Fatalf("Size before commit = %d, %v; want %d", size, err, tc.size)
					}
					commitAndCheck(t, e, "up/chunks", u.ID(), content, alg)
				})
			})
		}
	}
}

func TestUploadCommitWithBody(t *testing.T) {
	cases := []struct {
		name            string
		appended, final int
	}{
		{"whole body in commit", 0, 4096},
		{"last chunk in commit", 1000, 24},
		{"empty commit body", 1024, 0},
		{"empty blob", 0, 0},
	}
	for _, tc := range cases {
		for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
			t.Run(tc.name+"/"+alg.String(), func(t *testing.T) {
				content := randomBytes(t, tc.appended+tc.final)
				forEachDriver(t, func(t *testing.T, e *env) {
					u := newUpload(t, e, "up/commit")
					if tc.appended > 0 {
						appendChunk(t, e, "up/commit", u.ID(), content[:tc.appended], 0)
					}
					d := alg.FromBytes(content)
					desc, err := reopen(t, e, "up/commit", u.ID()).Commit(t.Context(), d, bytes.NewReader(content[tc.appended:]))
					if err != nil || desc.Digest != d || desc.Size != int64(len(content)) {
						t.Fatalf("Commit = %+v, %v", desc, err)
					}
					if got := readBlob(t, e.repo(t, "up/commit"), d); !bytes.Equal(got, content) {
						t.Error("committed content differs")
					}
					assertNoUploads(t, e.d, "up/commit")
				})
			})
		}
	}
}

func TestUploadOutOfOrder(t *testing.T) {
	cases := []struct {
		name   string
		before int   // bytes already received
		start  int64 // start offset of the refused chunk
	}{
		{"gap on a new upload", 0, 1},
		{"gap", 10, 11},
		{"far ahead", 10, 1 << 30},
		{"overlap", 10, 9},
		{"restart from zero", 10, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			content := randomBytes(t, tc.before+7)
			forEachDriver(t, func(t *testing.T, e *env) {
				u := newUpload(t, e, "up/range")
				if tc.before > 0 {
					appendChunk(t, e, "up/range", u.ID(), content[:tc.before], 0)
				}
				u = reopen(t, e, "up/range", u.ID())
				size, err := u.Append(t.Context(), bytes.NewReader(content[tc.before:]), tc.start)
				var re *storage.RangeError
				if !errors.As(err, &re) {
					t.Fatalf("Append at %d = %d, %v; want *RangeError", tc.start, size, err)
				}
				if re.Size != int64(tc.before) || re.Start != tc.start {
					t.Errorf("RangeError = %+v, want Start %d Size %d", re, tc.start, tc.before)
				}
				if !errors.Is(err, storage.ErrRangeInvalid) {
					t.Errorf("%v does not match ErrRangeInvalid", err)
				}
				if size != int64(tc.before) {
					t.Errorf("Append returned size %d, want %d", size, tc.before)
				}
				if got, _ := u.Size(t.Context()); got != int64(tc.before) {
					t.Errorf("refused chunk changed the size to %d", got)
				}
				// The chunk at the right offset is still accepted.
				appendChunk(t, e, "up/range", u.ID(), content[tc.before:], int64(tc.before))
				commitAndCheck(t, e, "up/range", u.ID(), content, digest.SHA256)
			})
		})
	}
}

func TestUploadUnknown(t *testing.T) {
	cases := []struct {
		name string
		id   func(t *testing.T, e *env) string
	}{
		{"empty", func(*testing.T, *env) string { return "" }},
		{"not a uuid", func(*testing.T, *env) string { return "upload-1" }},
		{"uppercase uuid", func(t *testing.T, e *env) string { return strings.ToUpper(newUpload(t, e, "up/known").ID()) }},
		{"path traversal", func(*testing.T, *env) string { return "../../../_manifests" }},
		{"uuid with a slash", func(*testing.T, *env) string { return "12345678-1234-4234-8234-1234567890ab/x" }},
		{"well formed but never started", func(*testing.T, *env) string { return "12345678-1234-4234-8234-1234567890ab" }},
		{"another repository's upload", func(t *testing.T, e *env) string { return newUpload(t, e, "up/other").ID() }},
		{"committed", func(t *testing.T, e *env) string {
			u := newUpload(t, e, "up/known")
			if _, err := u.Commit(t.Context(), digest.FromString("x"), strings.NewReader("x")); err != nil {
				t.Fatal(err)
			}
			return u.ID()
		}},
		{"cancelled", func(t *testing.T, e *env) string {
			u := newUpload(t, e, "up/known")
			if err := u.Cancel(t.Context()); err != nil {
				t.Fatal(err)
			}
			return u.ID()
		}},
		{"failed commit", func(t *testing.T, e *env) string {
			u := newUpload(t, e, "up/known")
			if _, err := u.Commit(t.Context(), digest.FromString("y"), strings.NewReader("x")); !errors.Is(err, storage.ErrDigestMismatch) {
				t.Fatalf("Commit with a wrong digest = %v", err)
			}
			return u.ID()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				id := tc.id(t, e)
				for _, s := range []*storage.Store{e.s, e.fresh(t)} {
					u, err := mustRepo(t, s, "up/known").Upload(t.Context(), id)
					if !errors.Is(err, storage.ErrBlobUploadUnknown) {
						t.Errorf("Upload(%q) = %v, %v; want ErrBlobUploadUnknown", id, u, err)
					}
				}
			})
		})
	}
}

func TestUploadStartedAt(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		before := time.Now().Truncate(time.Second)
		u := newUpload(t, e, "up/time")
		after := time.Now()
		again := reopen(t, e, "up/time", u.ID())
		for _, got := range []time.Time{u.StartedAt(), again.StartedAt()} {
			if got.Before(before) || got.After(after) {
				t.Errorf("StartedAt = %v, want between %v and %v", got, before, after)
			}
		}
		if again.ID() != u.ID() {
			t.Errorf("ID = %q, want %q", again.ID(), u.ID())
		}
		if size, err := again.Size(t.Context()); err != nil || size != 0 {
			t.Errorf("Size of a new upload = %d, %v", size, err)
		}
	})
}

func TestUploadCancel(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		content := randomBytes(t, 300)
		u := newUpload(t, e, "up/cancel")
		appendChunk(t, e, "up/cancel", u.ID(), content, 0)
		if err := reopen(t, e, "up/cancel", u.ID()).Cancel(ctx); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
		assertAbsent(t, e.d, uploadDir("up/cancel", u.ID()))
		if err := u.Cancel(ctx); !errors.Is(err, storage.ErrBlobUploadUnknown) {
			t.Errorf("second Cancel = %v, want ErrBlobUploadUnknown", err)
		}
		assertAbsent(t, e.d, blobData(digest.FromBytes(content)))
	})
}

// After Cancel (say a DELETE that raced a PATCH holding the same session)
// the Upload value must not bring the session back to life.
func TestUploadUseAfterCancel(t *testing.T) {
	content := []byte("late chunk")
	cases := []struct {
		name string
		op   func(t *testing.T, u *storage.Upload) error
	}{
		{"append", func(t *testing.T, u *storage.Upload) error {
			_, err := u.Append(t.Context(), bytes.NewReader(content), -1)
			return err
		}},
		{"commit", func(t *testing.T, u *storage.Upload) error {
			_, err := u.Commit(t.Context(), digest.FromBytes(content), bytes.NewReader(content))
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				u := newUpload(t, e, "up/late")
				if err := reopen(t, e, "up/late", u.ID()).Cancel(t.Context()); err != nil {
					t.Fatal(err)
				}
				if err := tc.op(t, u); !errors.Is(err, storage.ErrBlobUploadUnknown) {
					t.Errorf("%s after Cancel = %v, want ErrBlobUploadUnknown", tc.name, err)
				}
				assertAbsent(t, e.d, uploadDir("up/late", u.ID()))
				if _, err := e.repo(t, "up/late").StatBlob(t.Context(), digest.FromBytes(content)); !errors.Is(err, storage.ErrBlobUnknown) {
					t.Errorf("cancelled upload produced a blob: StatBlob = %v", err)
				}
			})
		})
	}
}

func TestUploadCommitRejected(t *testing.T) {
	content := randomBytes(t, 2048)
	cases := []struct {
		name    string
		d       digest.Digest
		wantErr error
		gone    bool // the session is discarded
	}{
		{"wrong sha256", digest.FromString("other"), storage.ErrDigestMismatch, true},
		{"wrong sha512", digest.SHA512.FromString("other"), storage.ErrDigestMismatch, true},
		{"sha256 of a prefix", digest.FromBytes(content[:1024]), storage.ErrDigestMismatch, true},
		{"malformed digest", "sha256:1234", storage.ErrDigestInvalid, false},
		{"unknown algorithm", "crc32:abcdef01", storage.ErrDigestInvalid, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				u := newUpload(t, e, "up/bad")
				appendChunk(t, e, "up/bad", u.ID(), content[:1024], 0)
				_, err := reopen(t, e, "up/bad", u.ID()).Commit(t.Context(), tc.d, bytes.NewReader(content[1024:]))
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, storage.ErrDigestInvalid) {
					t.Fatalf("Commit = %v, want %v", err, tc.wantErr)
				}
				r := e.repo(t, "up/bad")
				for _, d := range []digest.Digest{digest.FromBytes(content), digest.FromBytes(content[:1024])} {
					if _, err := r.StatBlob(t.Context(), d); !errors.Is(err, storage.ErrBlobUnknown) {
						t.Errorf("StatBlob(%s) after a refused commit = %v", d, err)
					}
					assertAbsent(t, e.d, blobData(d))
				}
				if tc.gone {
					assertAbsent(t, e.d, uploadDir("up/bad", u.ID()))
					assertNoUploads(t, e.d, "up/bad")
					return
				}
				// A malformed digest is refused before anything is read:
				// the client can still finish with the right one.
				commitAndCheck(t, e, "up/bad", u.ID(), content[:1024], digest.SHA256)
			})
		})
	}
}

func TestUploadHashStateStored(t *testing.T) {
	forEachDriver(t, func(t *testing.T, e *env) {
		u := newUpload(t, e, "up/state")
		dir := path.Join(uploadDir("up/state", u.ID()), "hashstates", "sha256")
		size := 0
		for _, chunk := range []int{10, 15, 1 << 20} {
			appendChunk(t, e, "up/state", u.ID(), randomBytes(t, chunk), -1)
			size += chunk
			states, err := e.d.List(t.Context(), dir)
			if err != nil {
				t.Fatalf("listing hash states: %v", err)
			}
			// One state, at the new size; the previous one is dropped.
			if want := path.Join(dir, strconv.Itoa(size)); len(states) != 1 || states[0] != want {
				t.Errorf("hash states after %d bytes = %v, want [%s]", size, states, want)
			}
		}
		if _, err := e.d.Stat(t.Context(), path.Join(uploadDir("up/state", u.ID()), "startedat")); err != nil {
			t.Errorf("no startedat: %v", err)
		}
	})
}
