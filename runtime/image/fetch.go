package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/berthhq/berth/storage/layout"
)

// retryDelay is the pause before the first resumed attempt; it doubles
// with each further one.
const retryDelay = 200 * time.Millisecond

// fetchBlob stores blob b of repo unless the store has it, resuming a
// kept partial download and retrying a transfer that broke off after
// bytes arrived, up to o.retries times.
func (s *Service) fetchBlob(ctx context.Context, f Fetcher, repo string, b blobRef, o *options, rep *reporter) error {
	d := b.desc
	report := func(st Status) {
		if b.layer {
			rep.send(d.Digest, d.Size, st)
		}
	}
	kind := "config"
	if b.layer {
		kind = "layer"
	}
	freshTried := false
	for attempt := 0; ; attempt++ {
		w, err := s.store.Ingest(ctx, d)
		if errors.Is(err, layout.ErrAlreadyExists) {
			report(StatusAlreadyExists)
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", kind, d.Digest, err)
		}
		resumed := w.Offset() > 0
		progressed, err := s.download(ctx, f, repo, w, b, rep)
		w.Close()
		if err == nil {
			report(StatusDownloadComplete)
			return nil
		}
		if isMismatch(err) && resumed && !freshTried {
			// The kept partial download may be what was wrong (a crash
			// after bad bytes were written); it is gone now: start over.
			freshTried = true
			report(StatusRetrying)
			continue
		}
		if isMismatch(err) {
			return fmt.Errorf("%s %s from %s: the registry sent other content: %w", kind, d.Digest, repo, err)
		}
		if attempt >= o.retries || ctx.Err() != nil || !(progressed || isNetError(err)) {
			return fmt.Errorf("%s %s: %w", kind, d.Digest, err)
		}
		report(StatusRetrying)
		t := time.NewTimer(retryDelay << attempt)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%s %s: %w", kind, d.Digest, ctx.Err())
		case <-t.C:
		}
	}
}

// download streams the rest of w's blob into it and commits it. It
// reports whether any byte arrived. Whatever the transfer's end, once the
// writer holds the blob's size the content is judged by its digest: a
// mismatch discards it (the error matches ErrDigestMismatch).
func (s *Service) download(ctx context.Context, f Fetcher, repo string, w *layout.Writer, b blobRef, rep *reporter) (progressed bool, err error) {
	d := w.Descriptor()
	if w.Offset() == d.Size { // all there, but never committed
		if b.layer {
			rep.send(d.Digest, d.Size, StatusVerifying)
		}
		return false, w.Commit()
	}
	var dst io.Writer = w
	if b.stream != nil && w.Offset() == 0 {
		if tee := b.stream(d.Digest); tee != nil {
			dst = io.MultiWriter(w, tee)
			defer func() { tee.finish(err) }() // EOF only once the blob is committed
		}
	}
	body, err := s.openBlob(ctx, f, repo, w)
	if err != nil {
		return false, err
	}
	defer body.Close()
	start := w.Offset()
	c := &counter{r: body, rep: rep, d: d.Digest, st: StatusDownloading, n: start, total: d.Size, silent: !b.layer}
	_, copyErr := io.Copy(dst, c)
	progressed = w.Offset() > start
	if errors.Is(copyErr, layout.ErrDigestMismatch) { // more bytes than the size
		_ = w.Discard()
		return progressed, copyErr
	}
	if w.Offset() < d.Size {
		if copyErr == nil {
			copyErr = fmt.Errorf("got %d of %d bytes: %w", w.Offset(), d.Size, io.ErrUnexpectedEOF)
		}
		return progressed, copyErr
	}
	if b.layer {
		rep.send(d.Digest, d.Size, StatusVerifying)
	}
	if err := w.Commit(); err != nil {
		return progressed, err
	}
	return progressed, nil
}

// openBlob opens the part of w's blob that w lacks: from w's offset with
// a range request when f can, else from the start (dropping what w held).
func (s *Service) openBlob(ctx context.Context, f Fetcher, repo string, w *layout.Writer) (io.ReadCloser, error) {
	d := w.Descriptor()
	if off := w.Offset(); off > 0 {
		if rf, ok := f.(RangeFetcher); ok {
			body, start, err := rf.GetBlobAt(ctx, repo, d.Digest, off)
			if err != nil {
				return nil, err
			}
			if start != off {
				if err := w.Reset(); err != nil {
					body.Close()
					return nil, err
				}
			}
			return body, nil
		}
		if err := w.Reset(); err != nil {
			return nil, err
		}
	}
	return getBlob(ctx, f, repo, d.Digest) // w checks the content as it writes
}

// isNetError reports whether err is a network failure worth retrying.
func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}
