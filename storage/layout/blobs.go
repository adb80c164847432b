package layout

import (
	"context"
	_ "crypto/sha256" // digest algorithms go-digest resolves at run time
	_ "crypto/sha512"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// blobPath returns the path of blob d, after checking d is a digest of an
// algorithm this program can hash (so no digest can name a path outside
// blobs/).
func (l *Layout) blobPath(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("digest %q: %w: %v", d, ErrInvalid, err)
	}
	return l.path(ocispec.ImageBlobsDir, d.Algorithm().String(), d.Encoded()), nil
}

// Has reports whether blob d is stored.
func (l *Layout) Has(ctx context.Context, d digest.Digest) (bool, error) {
	_, err := l.Stat(ctx, d)
	if errors.Is(err, ErrBlobUnknown) {
		return false, nil
	}
	return err == nil, err
}

// Stat returns the size of blob d. A missing blob matches ErrBlobUnknown.
func (l *Layout) Stat(ctx context.Context, d digest.Digest) (int64, error) {
	p, err := l.blobPath(d)
	if err != nil {
		return 0, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("blob %s: %w", d, ErrBlobUnknown)
	}
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("blob %s: %s is not a regular file", d, p)
	}
	return fi.Size(), nil
}

// Open opens blob d for reading. The caller closes it. A missing blob
// matches ErrBlobUnknown. The content was checked when it was stored.
func (l *Layout) Open(ctx context.Context, d digest.Digest) (io.ReadSeekCloser, error) {
	p, err := l.blobPath(d)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob %s: %w", d, ErrBlobUnknown)
	}
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadBlob returns the content of blob d, which must be at most max bytes
// (manifests, configs: small documents). A missing blob matches
// ErrBlobUnknown.
func (l *Layout) ReadBlob(ctx context.Context, d digest.Digest, max int64) ([]byte, error) {
	f, err := l.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("blob %s: %w", d, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("blob %s: larger than %d bytes", d, max)
	}
	return b, nil
}

// Put stores the content of r as blob desc (digest and size required),
// checking both; it does nothing, and reads nothing, when the blob is
// already stored. Content that does not match is discarded and the error
// matches ErrDigestMismatch.
func (l *Layout) Put(ctx context.Context, desc ocispec.Descriptor, r io.Reader) error {
	w, err := l.Ingest(ctx, desc)
	if errors.Is(err, ErrAlreadyExists) {
		return nil
	}
	if err != nil {
		return err
	}
	defer w.Close()
	if w.Offset() > 0 {
		if err := w.Reset(); err != nil {
			return err
		}
	}
	if _, err := io.Copy(w, r); err != nil {
		if errors.Is(err, ErrDigestMismatch) {
			_ = w.Discard()
		}
		return err
	}
	return w.Commit()
}

// WriteBlob stores the content of r, whose digest is not known in advance,
// under its sha256 digest, and returns its descriptor (digest and size; no
// media type). Storing content already there is not an error.
func (l *Layout) WriteBlob(ctx context.Context, r io.Reader) (ocispec.Descriptor, error) {
	f, err := os.CreateTemp(l.path(ingestDir), "tmp-*")
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	tmp := f.Name()
	defer func() {
		f.Close()
		os.Remove(tmp) // no-op after the rename
	}()
	dg := digest.SHA256.Digester()
	n, err := io.Copy(io.MultiWriter(f, dg.Hash()), ctxReader{ctx, r})
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{Digest: dg.Digest(), Size: n}
	if err := commitFile(f, l.mustBlobPath(desc.Digest)); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return desc, nil
}

// mustBlobPath is blobPath for digests this package computed itself.
func (l *Layout) mustBlobPath(d digest.Digest) string {
	return l.path(ocispec.ImageBlobsDir, d.Algorithm().String(), d.Encoded())
}

// commitFile fsyncs f, renames it to dst (creating dst's directory),
// fsyncs that directory and closes f. The rename happens before the close,
// so a lock held on f covers it.
func commitFile(f *os.File, dst string) error {
	defer f.Close()
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	dir := filepath.Dir(dst)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), dst); err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	return f.Close()
}

// Delete removes blob d. Blobs are normally freed by GC; Delete is for
// callers that know the blob is referenced by nothing.
func (l *Layout) Delete(ctx context.Context, d digest.Digest) error {
	p, err := l.blobPath(d)
	if err != nil {
		return err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob %s: %w", d, ErrBlobUnknown)
	} else if err != nil {
		return err
	}
	return nil
}

// Lease marks the start of work that writes blobs before referencing
// them from index.json (a pull, a load): until release is called, GC
// waits rather than sweeping those blobs. Leases are shared; any number
// can be held at once, by any processes. GC called while the same
// goroutine holds a lease waits for ctx.
func (l *Layout) Lease(ctx context.Context) (release func(), err error) {
	return lockPath(ctx, l.path(gcLock), lockShared)
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
