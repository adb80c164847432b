package storage

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strconv"

	"github.com/berthhq/berth/storage/driver"
	"github.com/opencontainers/go-digest"
)

// The running sha256 state of an upload is stored after every chunk at
// _uploads/<id>/hashstates/sha256/<offset>, in the encoding of Go's
// sha256 MarshalBinary (the one registry:2 uses), so a PATCH or PUT served
// by any process continues the hash without reading the data again.

// loadHash returns a sha256 state covering the first size bytes of the
// upload: the stored state at size when there is one, otherwise the nearest
// earlier state (or none) brought up to size by hashing the stored data.
func (u *Upload) loadHash(ctx context.Context, size int64) (hash.Hash, error) {
	h := digest.SHA256.Hash()
	if size == 0 {
		return h, nil
	}
	dir := uploadHashStatesPath(u.r.name, u.id, digest.SHA256)
	if b, err := u.r.s.d.GetContent(ctx, path.Join(dir, strconv.FormatInt(size, 10))); err == nil {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err == nil {
			return h, nil
		}
		h = digest.SHA256.Hash()
	} else if !errors.Is(err, driver.ErrNotFound) {
		return nil, err
	}
	// No state at size: a process died between writing data and state.
	best := int64(0)
	paths, err := u.r.s.d.List(ctx, dir)
	if err != nil && !errors.Is(err, driver.ErrNotFound) {
		return nil, err
	}
	for _, p := range paths {
		off, err := strconv.ParseInt(path.Base(p), 10, 64)
		if err != nil || off > size || off <= best {
			continue
		}
		b, err := u.r.s.d.GetContent(ctx, p)
		if err != nil {
			continue
		}
		cand := digest.SHA256.Hash()
		if cand.(encoding.BinaryUnmarshaler).UnmarshalBinary(b) == nil {
			h, best = cand, off
		}
	}
	if err := u.rehashRange(ctx, h, best, size); errors.Is(err, driver.ErrNotFound) {
		// The driver cannot read data that is not committed (S3 keeps
		// it in an unfinished multipart upload): the session is lost,
		// and the client must start a new one.
		return nil, fmt.Errorf("%w: %s: hash state at %d lost and the data cannot be read back", ErrBlobUploadInvalid, u.id, size)
	} else if err != nil {
		return nil, fmt.Errorf("rebuilding hash state of upload %s: %w", u.id, err)
	}
	return h, nil
}

// rehashRange feeds bytes [from, to) of the upload's data into h.
func (u *Upload) rehashRange(ctx context.Context, h hash.Hash, from, to int64) error {
	rc, err := u.r.s.d.Reader(ctx, uploadDataPath(u.r.name, u.id), from)
	if err != nil {
		return err
	}
	defer rc.Close()
	n, err := io.Copy(h, io.LimitReader(rc, to-from))
	if err == nil && n != to-from {
		err = fmt.Errorf("data ends at %d, want %d", from+n, to)
	}
	return err
}

// saveHash stores h as the state at offset to.
func (u *Upload) saveHash(ctx context.Context, h hash.Hash, to int64) error {
	b, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return err
	}
	dir := uploadHashStatesPath(u.r.name, u.id, digest.SHA256)
	return u.r.s.d.PutContent(ctx, path.Join(dir, strconv.FormatInt(to, 10)), b)
}

// dropHash removes the state at offset at, best effort: a stale state is
// only ever used when it is the nearest one below the data's size, and
// then it is still right.
func (u *Upload) dropHash(ctx context.Context, at int64) {
	dir := uploadHashStatesPath(u.r.name, u.id, digest.SHA256)
	_ = u.r.s.d.Delete(ctx, path.Join(dir, strconv.FormatInt(at, 10)))
}
