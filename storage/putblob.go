package storage

import (
	"context"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// PutBlob stores body as the blob d in one request (a monolithic upload).
// It hashes with d's own algorithm as the bytes are written and keeps no
// session state: a monolithic upload that fails leaves nothing to resume,
// and one abandoned by a crash is found by upload purging through its data
// file's age. Fails with ErrDigestMismatch when body is not d, and with
// ErrBlobUploadInvalid when body ends in an error; nothing is stored then.
func (r *Repository) PutBlob(ctx context.Context, d digest.Digest, body io.Reader) (v1.Descriptor, error) {
	if err := checkDigest(d); err != nil {
		return v1.Descriptor{}, err
	}
	id, err := newUUID()
	if err != nil {
		return v1.Descriptor{}, err
	}
	discard := func() { r.s.d.Delete(context.WithoutCancel(ctx), uploadPath(r.name, id)) }
	w, err := r.s.d.Writer(ctx, uploadDataPath(r.name, id), false)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h := d.Algorithm().Hash()
	n, err := copyHashed(w, h, body)
	if err == nil {
		if got := digest.NewDigest(d.Algorithm(), h); got != d {
			err = fmt.Errorf("%w: body is %s, not %s", ErrDigestMismatch, got, d)
		}
	} else if !isWriteError(err) {
		err = fmt.Errorf("%w: reading body: %v", ErrBlobUploadInvalid, err)
	}
	if err == nil {
		err = w.Commit(ctx)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		discard()
		return v1.Descriptor{}, err
	}
	desc, err := r.publish(ctx, id, d, n)
	if err != nil {
		discard()
	}
	return desc, err
}
