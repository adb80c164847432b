package layout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Writer receives the content of one blob of known digest and size. It
// hashes what it is given as it writes it to ingest/<alg>-<hex>.partial
// and moves it under blobs/ only when Commit finds the size and digest
// right. Content from an earlier Writer of the same digest that was closed
// without Commit is kept: Offset says how much, and writes append to it
// (the caller fetches the rest, e.g. with a Range request).
//
// A Writer holds an flock on its partial file, so at most one Writer per
// digest exists at a time across processes. It is not safe for concurrent
// use. Close it in every case (after Commit or Discard it is a no-op).
type Writer struct {
	l        *Layout
	desc     ocispec.Descriptor
	f        *os.File
	digester digest.Digester
	offset   int64
	synced   int64 // writeback has been started up to here
	done     bool
}

// writebackChunk is how many bytes a Writer lets pile up in the page cache
// before it starts writing them back.
const writebackChunk = 16 << 20

// Ingest opens a Writer for blob desc, whose Digest and Size must be set.
// It waits, until ctx is done, while another Writer of the same digest is
// open. When the blob is already stored the error matches
// ErrAlreadyExists.
func (l *Layout) Ingest(ctx context.Context, desc ocispec.Descriptor) (*Writer, error) {
	if _, err := l.blobPath(desc.Digest); err != nil {
		return nil, err
	}
	if !desc.Digest.Algorithm().Available() {
		return nil, fmt.Errorf("blob %s: %w: digest algorithm not available", desc.Digest, ErrInvalid)
	}
	if desc.Size < 0 {
		return nil, fmt.Errorf("blob %s: %w: size %d", desc.Digest, ErrInvalid, desc.Size)
	}
	exists := fmt.Errorf("blob %s: %w", desc.Digest, ErrAlreadyExists)
	if ok, err := l.Has(ctx, desc.Digest); err != nil || ok {
		if err == nil {
			err = exists
		}
		return nil, err
	}
	f, err := l.openPartial(ctx, desc.Digest)
	if err != nil {
		return nil, err
	}
	// Checked again under the lock: a Writer that held it may just have
	// committed the blob. The partial file is then of no use.
	if ok, err := l.Has(ctx, desc.Digest); err != nil || ok {
		if err == nil {
			os.Remove(f.Name())
			err = exists
		}
		f.Close()
		return nil, err
	}
	w := &Writer{l: l, desc: desc, f: f, digester: desc.Digest.Algorithm().Digester()}
	if err := w.seed(); err != nil {
		f.Close()
		return nil, err
	}
	return w, nil
}

// partialPath is where the download of d is kept.
func (l *Layout) partialPath(d digest.Digest) string {
	return l.path(ingestDir, d.Algorithm().String()+"-"+d.Encoded()+".partial")
}

// openPartial opens (creating) the partial file of d and locks it. After
// the lock is taken it checks the path still names the file it locked: a
// Writer that held the lock before may have renamed it into blobs/.
func (l *Layout) openPartial(ctx context.Context, d digest.Digest) (*os.File, error) {
	p := l.partialPath(d)
	for {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := flockFile(ctx, f, lockExclusive); err != nil {
			f.Close()
			return nil, err
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(p)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return f, nil
		}
		f.Close()
		if err1 != nil {
			return nil, err1
		}
		if err2 != nil && !errors.Is(err2, fs.ErrNotExist) {
			return nil, err2
		}
	}
}

// seed hashes the content already in the partial file and positions the
// writer after it. A partial longer than the blob is dropped.
func (w *Writer) seed() error {
	fi, err := w.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > w.desc.Size {
		return w.Reset()
	}
	n, err := io.Copy(w.digester.Hash(), io.LimitReader(w.f, fi.Size()))
	if err != nil {
		return fmt.Errorf("blob %s: reading partial download: %w", w.desc.Digest, err)
	}
	w.offset = n
	_, err = w.f.Seek(n, io.SeekStart)
	return err
}

// Offset returns how many bytes the Writer holds: where the content it
// still needs starts.
func (w *Writer) Offset() int64 { return w.offset }

// Descriptor returns the descriptor the Writer was opened with.
func (w *Writer) Descriptor() ocispec.Descriptor { return w.desc }

// Write appends p. Content beyond the blob's size is refused with an error
// matching ErrDigestMismatch, and nothing of p is written then.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("blob %s: write after commit or discard", w.desc.Digest)
	}
	if w.offset+int64(len(p)) > w.desc.Size {
		return 0, fmt.Errorf("blob %s: more than the %d bytes of its descriptor: %w", w.desc.Digest, w.desc.Size, ErrDigestMismatch)
	}
	n, err := w.f.Write(p)
	w.digester.Hash().Write(p[:n])
	w.offset += int64(n)
	if w.offset-w.synced >= writebackChunk {
		startWriteback(w.f, w.synced, w.offset-w.synced)
		w.synced = w.offset
	}
	return n, err
}

// Reset drops the content held so far, to start from the beginning.
func (w *Writer) Reset() error {
	if err := w.f.Truncate(0); err != nil {
		return err
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	w.digester = w.desc.Digest.Algorithm().Digester()
	w.offset, w.synced = 0, 0
	return nil
}

// Commit checks the content and moves it under blobs/. When there is less
// content than the size it returns an error matching io.ErrUnexpectedEOF
// and keeps the partial download; when the content does not hash to the
// digest it deletes it and returns an error matching ErrDigestMismatch.
// The Writer is done after a successful Commit or a mismatch.
func (w *Writer) Commit() error {
	if w.done {
		return fmt.Errorf("blob %s: commit after commit or discard", w.desc.Digest)
	}
	if w.offset < w.desc.Size {
		return fmt.Errorf("blob %s: have %d of %d bytes: %w", w.desc.Digest, w.offset, w.desc.Size, io.ErrUnexpectedEOF)
	}
	if got := w.digester.Digest(); got != w.desc.Digest {
		_ = w.Discard()
		return fmt.Errorf("blob %s: content hashes to %s: %w", w.desc.Digest, got, ErrDigestMismatch)
	}
	w.done = true
	if err := commitFile(w.f, w.l.mustBlobPath(w.desc.Digest)); err != nil {
		return fmt.Errorf("blob %s: %w", w.desc.Digest, err)
	}
	return nil
}

// Discard deletes the content held and closes the Writer.
func (w *Writer) Discard() error {
	if w.done {
		return nil
	}
	w.done = true
	err := os.Remove(w.f.Name())
	w.f.Close()
	return err
}

// Close releases the Writer. Content not committed stays as a partial
// download for the next Writer of the same digest.
func (w *Writer) Close() error {
	if w.done {
		w.f.Close() // after commitFile: already closed; harmless
		return nil
	}
	w.done = true
	return w.f.Close()
}

var _ io.WriteCloser = (*Writer)(nil)
