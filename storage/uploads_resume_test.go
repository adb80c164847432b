package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/opencontainers/go-digest"
)

func TestUploadResumesAfterFailedBody(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name   string
		before int // bytes received before the failing request
		failAt int // bytes of the failing request that arrive
		total  int
	}{
		{"fails at once", 0, 0, 100},
		{"fails after one byte", 0, 1, 100},
		{"fails after some bytes", 0, 37, 100},
		{"fails after earlier chunks", 64, 10, 200},
		{"fails at a buffer boundary", 0, mib, 2*mib + 3},
		{"fails past a buffer boundary", 5, mib + 1, 3 * mib},
		{"fails after several buffers", 0, 3*mib + 17, 4 * mib},
	}
	for _, tc := range cases {
		for _, alg := range []digest.Algorithm{digest.SHA256, digest.SHA512} {
			t.Run(tc.name+"/"+alg.String(), func(t *testing.T) {
				content := randomBytes(t, tc.total)
				forEachDriver(t, func(t *testing.T, e *env) {
					ctx := t.Context()
					u := newUpload(t, e, "up/resume")
					if tc.before > 0 {
						appendChunk(t, e, "up/resume", u.ID(), content[:tc.before], 0)
					}
					kept := tc.before + tc.failAt
					size, err := reopen(t, e, "up/resume", u.ID()).Append(ctx, failAfter(content[tc.before:], tc.failAt), int64(tc.before))
					if err == nil {
						t.Fatal("Append of a failing body succeeded")
					}
					if !errors.Is(err, storage.ErrBlobUploadInvalid) {
						t.Errorf("Append error %v does not match ErrBlobUploadInvalid", err)
					}
					if size != int64(kept) {
						t.Errorf("Append returned size %d, want %d", size, kept)
					}
					if got, err := reopen(t, e, "up/resume", u.ID()).Size(ctx); err != nil || got != int64(kept) {
						t.Fatalf("Size after the failure = %d, %v; want %d", got, err, kept)
					}
					appendChunk(t, e, "up/resume", u.ID(), content[kept:], int64(kept))
					commitAndCheck(t, e, "up/resume", u.ID(), content, alg)
				})
			})
		}
	}
}

// A Commit whose body fails keeps what arrived, like Append: the client
// resumes and commits again.
func TestUploadCommitBodyFails(t *testing.T) {
	content := randomBytes(t, 5000)
	forEachDriver(t, func(t *testing.T, e *env) {
		ctx := t.Context()
		u := newUpload(t, e, "up/commitfail")
		appendChunk(t, e, "up/commitfail", u.ID(), content[:1000], 0)
		d := digest.FromBytes(content)
		_, err := reopen(t, e, "up/commitfail", u.ID()).Commit(ctx, d, failAfter(content[1000:], 1500))
		if !errors.Is(err, storage.ErrBlobUploadInvalid) {
			t.Fatalf("Commit with a failing body = %v, want ErrBlobUploadInvalid", err)
		}
		if _, err := e.repo(t, "up/commitfail").StatBlob(ctx, d); !errors.Is(err, storage.ErrBlobUnknown) {
			t.Errorf("StatBlob after a failed commit = %v", err)
		}
		if got, _ := reopen(t, e, "up/commitfail", u.ID()).Size(ctx); got != 2500 {
			t.Fatalf("Size after the failed commit = %d, want 2500", got)
		}
		desc, err := reopen(t, e, "up/commitfail", u.ID()).Commit(ctx, d, bytes.NewReader(content[2500:]))
		if err != nil || desc.Size != int64(len(content)) {
			t.Fatalf("resumed Commit = %+v, %v", desc, err)
		}
		if !bytes.Equal(readBlob(t, e.repo(t, "up/commitfail"), d), content) {
			t.Error("committed content differs")
		}
		assertNoUploads(t, e.d, "up/commitfail")
	})
}

// TestUploadHashStateRebuilt damages the stored sha256 state the way a
// crash or a registry:2 replica could leave it and checks that the next
// request rebuilds it from the data.
func TestUploadHashStateRebuilt(t *testing.T) {
	first, second, third := randomBytes(t, 1000), randomBytes(t, 3000), randomBytes(t, 500)
	all := bytes.Join([][]byte{first, second, third}, nil)
	cases := []struct {
		name   string
		damage func(t *testing.T, e *damageEnv, dir string)
	}{
		{"hashstates directory deleted", func(t *testing.T, e *damageEnv, dir string) {
			if err := e.d.Delete(t.Context(), path.Dir(dir)); err != nil {
				t.Fatal(err)
			}
		}},
		{"state at the current offset corrupt", func(t *testing.T, e *damageEnv, dir string) {
			if err := e.d.PutContent(t.Context(), path.Join(dir, "4000"), []byte("not a sha256 state")); err != nil {
				t.Fatal(err)
			}
		}},
		{"only an older state left", func(t *testing.T, e *damageEnv, dir string) {
			ctx := t.Context()
			if err := e.d.Delete(ctx, path.Join(dir, "4000")); err != nil {
				t.Fatal(err)
			}
			if err := e.d.PutContent(ctx, path.Join(dir, "1000"), e.state1000); err != nil {
				t.Fatal(err)
			}
		}},
		{"state names that are not offsets", func(t *testing.T, e *damageEnv, dir string) {
			ctx := t.Context()
			if err := e.d.Delete(ctx, path.Join(dir, "4000")); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"x", "-5", "99999"} {
				if err := e.d.PutContent(ctx, path.Join(dir, name), []byte("junk")); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"data written but no state (crash between the two)", func(t *testing.T, e *damageEnv, dir string) {
			ctx := t.Context()
			w, err := e.d.Writer(ctx, path.Join(path.Dir(path.Dir(dir)), "data"), true)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := w.Write(third[:200]); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			e.extra = 200
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, base *env) {
				e := &damageEnv{env: base}
				u := newUpload(t, base, "up/crash")
				dir := path.Join(uploadDir("up/crash", u.ID()), "hashstates", "sha256")
				appendChunk(t, base, "up/crash", u.ID(), first, 0)
				state, err := base.d.GetContent(t.Context(), path.Join(dir, "1000"))
				if err != nil {
					t.Fatalf("no hash state after 1000 bytes: %v", err)
				}
				e.state1000 = state
				appendChunk(t, base, "up/crash", u.ID(), second, 1000)
				tc.damage(t, e, dir)
				at := int64(len(first) + len(second) + e.extra)
				if base.d.Name() == "s3" && e.extra == 0 {
					// S3 cannot read back uncommitted upload data, so a
					// lost hash state ends the session, cleanly.
					up, err := base.s.Repository("up/crash")
					if err == nil {
						var u2 *storage.Upload
						if u2, err = up.Upload(t.Context(), u.ID()); err == nil {
							_, err = u2.Append(t.Context(), bytes.NewReader(third), at)
						}
					}
					if !errors.Is(err, storage.ErrBlobUploadInvalid) {
						t.Fatalf("Append after the hash state was lost = %v, want ErrBlobUploadInvalid", err)
					}
					return
				}
				appendChunk(t, base, "up/crash", u.ID(), third[e.extra:], at)
				commitAndCheck(t, base, "up/crash", u.ID(), all, digest.SHA256)
			})
		})
	}
}

// damageEnv carries what the damage functions of TestUploadHashStateRebuilt
// need besides the driver.
type damageEnv struct {
	*env
	state1000 []byte
	extra     int // bytes of third written behind the store's back
}

func TestUploadLarge(t *testing.T) {
	const size = 8<<20 + 7
	content := randomBytes(t, size)
	cases := []struct {
		name string
		run  func(t *testing.T, e *env) string // returns the repository
	}{
		{"one append then commit", func(t *testing.T, e *env) string {
			u := newUpload(t, e, "up/large")
			appendChunk(t, e, "up/large", u.ID(), content, 0)
			commitAndCheck(t, e, "up/large", u.ID(), content, digest.SHA256)
			return "up/large"
		}},
		{"monolithic put", func(t *testing.T, e *env) string {
			r := e.repo(t, "up/large")
			pushBlob(t, r, mtOCILayer, content)
			if !bytes.Equal(readBlob(t, r, digest.FromBytes(content)), content) {
				t.Error("read back differs")
			}
			return "up/large"
		}},
		{"sha512 commit", func(t *testing.T, e *env) string {
			u := newUpload(t, e, "up/large")
			appendChunk(t, e, "up/large", u.ID(), content, 0)
			commitAndCheck(t, e, "up/large", u.ID(), content, digest.SHA512)
			return "up/large"
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				name := tc.run(t, e)
				assertNoUploads(t, e.d, name)
				if fi, err := e.d.Stat(t.Context(), blobData(digest.FromBytes(content))); tc.name != "sha512 commit" && (err != nil || fi.Size() != size) {
					t.Errorf("blob data: %v, %v", describe(fi), err)
				}
			})
		})
	}
}

// hangUp yields b and then, like a client closing its connection, cancels
// the request's context and fails.
type hangUp struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (h *hangUp) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err == io.EOF {
		h.cancel()
		return n, errBody
	}
	return n, err
}

// A client that hangs up mid-chunk cancels the request's context as its
// body fails. What arrived is kept and its hash state recorded all the
// same, on every driver (on S3 the state cannot be rebuilt later), for a
// PATCH and for a closing PUT.
func TestUploadClientHangsUp(t *testing.T) {
	content := randomBytes(t, 3<<20+5)
	for _, closing := range []bool{false, true} {
		t.Run(map[bool]string{false: "patch", true: "put"}[closing], func(t *testing.T) {
			forEachDriver(t, func(t *testing.T, e *env) {
				u := newUpload(t, e, "up/hangup")
				appendChunk(t, e, "up/hangup", u.ID(), content[:1000], 0)
				ctx, cancel := context.WithCancel(t.Context())
				body := &hangUp{r: bytes.NewReader(content[1000 : 2<<20]), cancel: cancel}
				var err error
				if closing {
					_, err = reopen(t, e, "up/hangup", u.ID()).Commit(ctx, digest.FromBytes(content), body)
				} else {
					_, err = reopen(t, e, "up/hangup", u.ID()).Append(ctx, body, 1000)
				}
				if !errors.Is(err, storage.ErrBlobUploadInvalid) {
					t.Fatalf("request whose client hung up = %v, want ErrBlobUploadInvalid", err)
				}
				if got, err := reopen(t, e, "up/hangup", u.ID()).Size(t.Context()); err != nil || got != 2<<20 {
					t.Fatalf("Size after the hang-up = %d, %v; want %d", got, err, 2<<20)
				}
				appendChunk(t, e, "up/hangup", u.ID(), content[2<<20:], 2<<20)
				commitAndCheck(t, e, "up/hangup", u.ID(), content, digest.SHA256)
			})
		})
	}
}
