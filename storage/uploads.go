package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"time"

	"github.com/berthhq/berth/storage/driver"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// uploadIDRegexp matches the UUIDs registry:2 and Berth use as upload IDs.
var uploadIDRegexp = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Upload is a blob upload session. All of its state (the bytes received,
// the start time and the running sha256 state) lives in the driver, so any
// process sharing the driver can continue it. An Upload value holds no
// state beyond its identity; it is cheap to recreate per request.
type Upload struct {
	r         *Repository
	id        string
	startedAt time.Time
}

// NewUpload starts an upload session in the repository.
func (r *Repository) NewUpload(ctx context.Context) (*Upload, error) {
	id, err := newUUID()
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	if err := r.s.d.PutContent(ctx, uploadStartedAtPath(r.name, id), []byte(now.Format(time.RFC3339))); err != nil {
		return nil, err
	}
	return &Upload{r: r, id: id, startedAt: now}, nil
}

// Upload returns the session id, failing with ErrBlobUploadUnknown when
// there is none (never started, finished, cancelled or purged).
func (r *Repository) Upload(ctx context.Context, id string) (*Upload, error) {
	if !uploadIDRegexp.MatchString(id) {
		return nil, fmt.Errorf("%w: %q", ErrBlobUploadUnknown, id)
	}
	b, err := r.s.d.GetContent(ctx, uploadStartedAtPath(r.name, id))
	if errors.Is(err, driver.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrBlobUploadUnknown, id)
	}
	if err != nil {
		return nil, err
	}
	started, err := time.Parse(time.RFC3339, string(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: corrupt start time: %v", ErrBlobUploadInvalid, id, err)
	}
	return &Upload{r: r, id: id, startedAt: started}, nil
}

// ID returns the session's identifier.
func (u *Upload) ID() string { return u.id }

// StartedAt returns when the session began.
func (u *Upload) StartedAt() time.Time { return u.startedAt }

// Size returns the number of bytes received so far.
func (u *Upload) Size(ctx context.Context) (int64, error) {
	fi, err := u.r.s.d.Stat(ctx, uploadDataPath(u.r.name, u.id))
	if errors.Is(err, driver.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Append streams body onto the end of the upload and returns the new size.
// With start >= 0 the chunk must begin exactly at the current size, or
// Append fails with a *RangeError and writes nothing. When body fails
// midway (a client that drops), the bytes that did arrive are kept and
// counted, so the client can resume from the size GET reports.
func (u *Upload) Append(ctx context.Context, body io.Reader, start int64) (int64, error) {
	size, _, err := u.append(ctx, body, start, true)
	return size, err
}

func (u *Upload) append(ctx context.Context, body io.Reader, start int64, persist bool) (int64, hash.Hash, error) {
	// A session cancelled or finished since this Upload was looked up must
	// not be brought back by the writer recreating its data.
	if _, err := u.r.s.d.Stat(ctx, uploadStartedAtPath(u.r.name, u.id)); errors.Is(err, driver.ErrNotFound) {
		return 0, nil, fmt.Errorf("%w: %s", ErrBlobUploadUnknown, u.id)
	} else if err != nil {
		return 0, nil, err
	}
	size, err := u.Size(ctx)
	if err != nil {
		return 0, nil, err
	}
	if start >= 0 && start != size {
		return size, nil, &RangeError{Start: start, Size: size}
	}
	h, err := u.loadHash(ctx, size)
	if err != nil {
		return size, nil, err
	}
	w, err := u.r.s.d.Writer(ctx, uploadDataPath(u.r.name, u.id), size > 0)
	if err != nil {
		return size, nil, err
	}
	defer w.Close()
	n, copyErr := copyHashed(w, h, body)
	if isWriteError(copyErr) {
		// The hash saw bytes that may not be stored: keep the old state
		// and let the next request rehash whatever did reach the driver.
		return size, nil, copyErr
	}
	// A chunk is kept by closing the writer; only the request that
	// finishes the upload, with its body whole, commits (fsyncs) the data,
	// once, before the blob is published. The hash state after the chunk is stored first, and
	// the one before it removed only once the chunk is kept: whenever the
	// process dies, a state at the data's size exists, which matters where
	// data cannot be read back to rebuild one (S3 keeps it in an unfinished
	// multipart upload). A client that hung up has cancelled ctx, but what
	// did arrive is still recorded.
	newSize := size + n
	if !persist && copyErr == nil {
		if err := w.Commit(ctx); err != nil {
			return size, nil, err
		}
	} else {
		keep := context.WithoutCancel(ctx)
		if n > 0 {
			if err := u.saveHash(keep, h, newSize); err != nil {
				return size, nil, err
			}
		}
		if err := w.Close(); err != nil {
			return size, nil, err
		}
		if n > 0 && size > 0 {
			u.dropHash(keep, size)
		}
	}
	if copyErr != nil {
		return newSize, nil, fmt.Errorf("%w: %s: reading body: %v", ErrBlobUploadInvalid, u.id, copyErr)
	}
	return newSize, h, nil
}

// Commit appends body (which may be empty), checks the whole upload against
// d, and moves it into the content store, linked into the repository. On a
// mismatch it fails with ErrDigestMismatch and the upload is discarded.
func (u *Upload) Commit(ctx context.Context, d digest.Digest, body io.Reader) (v1.Descriptor, error) {
	if err := checkDigest(d); err != nil {
		return v1.Descriptor{}, err
	}
	size, h, err := u.append(ctx, body, -1, false)
	if err != nil {
		return v1.Descriptor{}, err
	}
	got, err := u.digest(ctx, d.Algorithm(), h)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if got != d {
		u.Cancel(context.WithoutCancel(ctx))
		return v1.Descriptor{}, fmt.Errorf("%w: upload %s is %s, not %s", ErrDigestMismatch, u.id, got, d)
	}
	return u.r.publish(ctx, u.id, d, size)
}

// publish moves the verified data of upload id into the content store as
// blob d, links it into the repository and removes the upload. A blob the
// store has already is replaced by the same bytes, atomically; asking
// first would cost every new blob a lookup (three requests on S3) to
// spare the rare full upload of a blob the client could have mounted.
func (r *Repository) publish(ctx context.Context, id string, d digest.Digest, size int64) (v1.Descriptor, error) {
	s := r.s
	if err := s.d.Move(ctx, uploadDataPath(r.name, id), blobDataPath(d)); err != nil {
		return v1.Descriptor{}, err
	}
	if err := r.linkBlob(ctx, d); err != nil {
		return v1.Descriptor{}, err
	}
	if err := s.d.Delete(ctx, uploadPath(r.name, id)); err != nil && !errors.Is(err, driver.ErrNotFound) {
		s.log.Warn("removing finished upload", "repository", r.name, "upload", id, "err", err)
	}
	return v1.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: size}, nil
}

// Cancel discards the upload and everything it received.
func (u *Upload) Cancel(ctx context.Context) error {
	err := u.r.s.d.Delete(ctx, uploadPath(u.r.name, u.id))
	if errors.Is(err, driver.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrBlobUploadUnknown, u.id)
	}
	return err
}

// digest returns the upload's digest under alg: from the running sha256
// state when it has one, otherwise by reading the data back.
func (u *Upload) digest(ctx context.Context, alg digest.Algorithm, h hash.Hash) (digest.Digest, error) {
	if alg == digest.SHA256 && h != nil {
		return digest.NewDigest(alg, h), nil
	}
	h = alg.Hash()
	if err := u.rehash(ctx, h, 0); err != nil {
		return "", err
	}
	return digest.NewDigest(alg, h), nil
}

// rehash feeds the upload's data from offset to its end into h.
func (u *Upload) rehash(ctx context.Context, h hash.Hash, offset int64) error {
	rc, err := u.r.s.d.Reader(ctx, uploadDataPath(u.r.name, u.id), offset)
	if errors.Is(err, driver.ErrNotFound) && offset == 0 {
		return nil
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(h, rc)
	return err
}

func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}
