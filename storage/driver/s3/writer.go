package s3

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/berthhq/berth/storage/driver"
)

// Writer implements driver.Driver. Bytes are cut into parts of ChunkSize
// and uploaded, up to PartConcurrency at a time, as they arrive; less than
// a part is held in memory. Close records the pending state (state.go) so
// that a Writer in any process can append; Commit completes the multipart
// upload (or, for an object smaller than a part, puts it whole), at which
// point the object appears at once and in full.
func (d *Driver) Writer(ctx context.Context, p string, appendMode bool) (driver.FileWriter, error) {
	if err := d.check(ctx, p); err != nil {
		return nil, err
	}
	if p == "/" {
		return nil, &driver.PathError{Op: "write", Path: p, Driver: driverName, Err: driver.ErrNotFound}
	}
	// The writer's requests outlive a client that hangs up mid-chunk: what
	// did arrive is still stored and recorded on Close.
	w := &writer{d: d, ctx: context.WithoutCancel(ctx), p: p, key: d.key(p), new: !appendMode}
	w.sem = make(chan struct{}, d.c.PartConcurrency)
	if !appendMode {
		// Truncate: drop the object and any pending state. A multipart
		// upload the old state named is left to PurgeWrites.
		_, err := d.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: d.bucket, Delete: &types.Delete{
			Objects: []types.ObjectIdentifier{{Key: aws.String(w.key)}, {Key: aws.String(d.stateKey(p))}}, Quiet: aws.Bool(true),
		}})
		if err != nil {
			return nil, pathErr(ctx, "write", p, err)
		}
		w.buf = d.getBuf()
		return w, nil
	}
	st, err := d.loadState(ctx, p, true)
	if err != nil {
		return nil, err
	}
	if st != nil {
		w.uploadID, w.parts, w.size = st.uploadID, st.parts, st.size
		w.buf = append(d.getBuf(), st.tail...)
		return w, nil
	}
	// Appending to a committed object: it becomes the first part, copied
	// inside S3, or the tail when it is too small to be a part.
	head, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: d.bucket, Key: aws.String(w.key)})
	if err != nil {
		return nil, pathErr(ctx, "write", p, err)
	}
	w.size = aws.ToInt64(head.ContentLength)
	w.buf = d.getBuf()
	w.fromObject = true
	if w.size < MinChunkSize {
		b, err := d.readSmall(ctx, w.key)
		if err != nil {
			return nil, pathErr(ctx, "write", p, err)
		}
		w.buf = append(w.buf, b...)
		return w, nil
	}
	if w.uploadID, err = d.createUpload(ctx, w.key); err != nil {
		return nil, pathErr(ctx, "write", p, err)
	}
	_, err = d.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
		Bucket: d.bucket, Key: aws.String(w.key), UploadId: aws.String(w.uploadID),
		PartNumber: aws.Int32(1), CopySource: aws.String(d.c.Bucket + "/" + w.key),
	})
	if err != nil {
		_ = d.abort(w.ctx, w.key, w.uploadID)
		return nil, pathErr(ctx, "write", p, err)
	}
	w.parts = 1
	return w, nil
}

type writer struct {
	d          *Driver
	ctx        context.Context
	p          string
	key        string
	new        bool // opened to truncate: Close records even an empty object
	fromObject bool // appending to a committed object, now part of the state

	uploadID string
	parts    int32  // parts started: numbered 1..parts
	size     int64  // bytes written, in parts and buf
	buf      []byte // the tail, less than a part
	written  bool   // Write was called with data

	sem  chan struct{} // bounds parts in flight
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error // the first part upload's failure
	done bool  // closed, committed or cancelled
}

func (d *Driver) getBuf() []byte {
	if b, ok := d.bufs.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, d.c.ChunkSize)
}

func (d *Driver) putBuf(b []byte) {
	if int64(cap(b)) == d.c.ChunkSize {
		d.bufs.Put(&b)
	}
}

var errWriterDone = errors.New("s3: writer already closed, committed or cancelled")

func (w *writer) Write(b []byte) (int, error) {
	if w.done {
		return 0, errWriterDone
	}
	if err := w.failed(); err != nil {
		return 0, err
	}
	n := 0
	for len(b) > 0 {
		m := copy(w.buf[len(w.buf):cap(w.buf)], b)
		w.buf = w.buf[:len(w.buf)+m]
		b, n, w.size = b[m:], n+m, w.size+int64(m)
		w.written = true
		if int64(len(w.buf)) == w.d.c.ChunkSize {
			if err := w.flushPart(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// flushPart starts uploading buf as the next part.
func (w *writer) flushPart() error {
	if w.uploadID == "" {
		id, err := w.d.createUpload(w.ctx, w.key)
		if err != nil {
			// Recorded like a failed part, so Close keeps the old state.
			w.mu.Lock()
			w.err = pathErr(w.ctx, "write", w.p, err)
			w.mu.Unlock()
			return w.err
		}
		w.uploadID = id
	}
	w.parts++
	n, b := w.parts, w.buf
	w.buf = w.d.getBuf()
	w.sem <- struct{}{}
	w.wg.Add(1)
	go func() {
		defer func() { w.d.putBuf(b); <-w.sem; w.wg.Done() }()
		if err := w.d.uploadPart(w.ctx, w.key, w.uploadID, n, b); err != nil {
			w.mu.Lock()
			if w.err == nil {
				w.err = pathErr(w.ctx, "write part", w.p, err)
			}
			w.mu.Unlock()
		}
	}()
	return nil
}

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wait waits for the parts in flight and returns the first failure.
func (w *writer) wait() error {
	w.wg.Wait()
	return w.failed()
}

func (w *writer) Size() int64 { return w.size }

// Close records what was written as the object's pending state, unless
// the writer was committed or cancelled, or a part failed: then the state
// stays as it was, and the bytes of this writer are not counted.
func (w *writer) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.release()
	if err := w.wait(); err != nil {
		return err
	}
	if !w.written && !w.new {
		return nil
	}
	if err := w.d.saveState(w.ctx, w.p, &state{uploadID: w.uploadID, parts: w.parts, size: w.size, tail: w.buf}); err != nil {
		return err
	}
	if w.fromObject {
		// The committed object's bytes are in the state now (as part 1 or
		// the tail); the object would hide the longer pending one.
		_, err := w.d.client.DeleteObject(w.ctx, &s3.DeleteObjectInput{Bucket: w.d.bucket, Key: aws.String(w.key)})
		if err != nil && !isNotFound(err) {
			return pathErr(w.ctx, "close", w.p, err)
		}
	}
	return nil
}

func (w *writer) release() {
	w.d.putBuf(w.buf)
	w.buf = nil
}

func (w *writer) Commit(ctx context.Context) error {
	if w.done {
		return errWriterDone
	}
	w.done = true
	defer w.release()
	if err := w.wait(); err != nil {
		return err
	}
	if w.uploadID == "" {
		if err := w.d.putObject(ctx, w.key, w.buf, nil); err != nil {
			return pathErr(ctx, "commit", w.p, err)
		}
	} else {
		last := w.parts
		if len(w.buf) > 0 {
			last++
			if err := w.d.uploadPart(ctx, w.key, w.uploadID, last, w.buf); err != nil {
				return pathErr(ctx, "commit", w.p, err)
			}
		}
		if err := w.d.complete(ctx, w.key, w.uploadID, last); err != nil {
			return pathErr(ctx, "commit", w.p, err)
		}
	}
	// The object is now whole; a state left behind would make the next
	// appending Writer start from it, so its removal is part of Commit.
	_, err := w.d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: w.d.bucket, Key: aws.String(w.d.stateKey(w.p))})
	if err != nil && !isNotFound(err) {
		return pathErr(ctx, "commit", w.p, err)
	}
	return nil
}

func (w *writer) Cancel(ctx context.Context) error {
	w.done = true
	w.wg.Wait()
	defer w.release()
	if w.uploadID != "" {
		if err := w.d.abort(ctx, w.key, w.uploadID); err != nil {
			return pathErr(ctx, "cancel", w.p, err)
		}
	}
	_, err := w.d.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: w.d.bucket, Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String(w.key)}, {Key: aws.String(w.d.stateKey(w.p))}}, Quiet: aws.Bool(true),
	}})
	return pathErr(ctx, "cancel", w.p, err)
}
