package storage

import (
	"context"
	"errors"
	"fmt"
	"io"

	// Link the hash implementations go-digest looks up by algorithm.
	_ "crypto/sha256"
	_ "crypto/sha512"

	"github.com/berthhq/berth/storage/driver"
	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// StatBlob describes the blob d if it is linked into the repository, as a
// layer or config blob or as a manifest. It fails with ErrBlobUnknown.
func (r *Repository) StatBlob(ctx context.Context, d digest.Digest) (v1.Descriptor, error) {
	if err := checkDigest(d); err != nil {
		return v1.Descriptor{}, err
	}
	linked, err := r.s.hasLink(ctx, layerLinkPath(r.name, d), d)
	if err == nil && !linked {
		linked, err = r.s.hasLink(ctx, revisionLinkPath(r.name, d), d)
	}
	if err != nil {
		return v1.Descriptor{}, err
	}
	if !linked {
		return v1.Descriptor{}, fmt.Errorf("%w: %s in %s", ErrBlobUnknown, d, r.name)
	}
	return r.s.statBlob(ctx, d)
}

// statBlob describes the global blob d, ignoring repository links.
func (s *Store) statBlob(ctx context.Context, d digest.Digest) (v1.Descriptor, error) {
	fi, err := s.d.Stat(ctx, blobDataPath(d))
	if errors.Is(err, driver.ErrNotFound) {
		return v1.Descriptor{}, fmt.Errorf("%w: %s", ErrBlobUnknown, d)
	}
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: "application/octet-stream", Digest: d, Size: fi.Size()}, nil
}

// OpenBlob opens the blob d for reading. The result seeks (for Range
// requests) and, on the filesystem driver, is the *os.File itself so that
// the kernel can sendfile it. The caller closes it. Fails with
// ErrBlobUnknown when the repository does not link d.
func (r *Repository) OpenBlob(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, v1.Descriptor, error) {
	desc, err := r.StatBlob(ctx, d)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	p := blobDataPath(d)
	if o, ok := r.s.d.(driver.Opener); ok {
		f, err := o.Open(ctx, p)
		if errors.Is(err, driver.ErrNotFound) {
			return nil, v1.Descriptor{}, fmt.Errorf("%w: %s", ErrBlobUnknown, d)
		}
		return f, desc, err
	}
	return &seekReader{ctx: ctx, d: r.s.d, path: p, size: desc.Size}, desc, nil
}

// DeleteBlob unlinks the blob d from the repository. The content itself is
// left for garbage collection, as other repositories may link it.
func (r *Repository) DeleteBlob(ctx context.Context, d digest.Digest) error {
	if err := checkDigest(d); err != nil {
		return err
	}
	p := layerLinkPath(r.name, d)
	err := r.s.d.Delete(ctx, p[:len(p)-len("/link")])
	if errors.Is(err, driver.ErrNotFound) {
		return fmt.Errorf("%w: %s in %s", ErrBlobUnknown, d, r.name)
	}
	return err
}

// MountBlob links the blob d, already linked in repository from, into r.
// It fails with ErrBlobUnknown when from does not have it; callers then
// fall back to a normal upload.
func (r *Repository) MountBlob(ctx context.Context, from *Repository, d digest.Digest) (v1.Descriptor, error) {
	desc, err := from.StatBlob(ctx, d)
	if err != nil {
		return v1.Descriptor{}, err
	}
	if err := r.s.writeLink(ctx, layerLinkPath(r.name, d), d); err != nil {
		return v1.Descriptor{}, err
	}
	return desc, nil
}

// linkBlob links the existing global blob d into the repository, unless
// it is linked already (a re-push), which saves a durable write.
func (r *Repository) linkBlob(ctx context.Context, d digest.Digest) error {
	p := layerLinkPath(r.name, d)
	if ok, err := r.s.hasLink(ctx, p, d); err != nil || ok {
		return err
	}
	return r.s.writeLink(ctx, p, d)
}

// seekReader gives random access to an object of a driver without Opener by
// reopening a driver.Reader at the wanted offset after a Seek.
type seekReader struct {
	ctx    context.Context
	d      driver.Driver
	path   string
	size   int64
	offset int64
	rc     io.ReadCloser
}

func (s *seekReader) Read(p []byte) (int, error) {
	if s.offset >= s.size {
		return 0, io.EOF
	}
	if s.rc == nil {
		rc, err := s.d.Reader(s.ctx, s.path, s.offset)
		if err != nil {
			return 0, err
		}
		s.rc = rc
	}
	n, err := s.rc.Read(p)
	s.offset += int64(n)
	return n, err
}

func (s *seekReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += s.offset
	case io.SeekEnd:
		offset += s.size
	}
	if offset < 0 {
		return 0, errors.New("seek before start")
	}
	if offset != s.offset && s.rc != nil {
		s.rc.Close()
		s.rc = nil
	}
	s.offset = offset
	return offset, nil
}

func (s *seekReader) Close() error {
	if s.rc != nil {
		return s.rc.Close()
	}
	return nil
}
