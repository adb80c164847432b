package storage

import (
	"errors"
	"hash"
	"io"
	"sync"
)

// pipeBufSize is the unit of work passed between the stages of copyHashed.
// Large enough that per-buffer overhead vanishes, small enough that the
// buffers in flight stay a few MiB.
const (
	pipeBufSize = 1 << 20
	pipeBufs    = 4
)

var pipeBufPool = sync.Pool{New: func() any { b := make([]byte, pipeBufSize); return &b }}

// copyHashed copies r into w and feeds the same bytes to h, in one pass.
// Reading the source, hashing and writing run on three goroutines joined by
// a small ring of buffers, so on a multi-core machine a push proceeds at the
// speed of the slowest stage rather than the sum of all three.
//
// It returns the number of bytes written to w and hashed, which are always
// the same bytes: on any error, h covers exactly what reached w. A read error
// (other than io.EOF) is returned as is; a write error is returned wrapped.
func copyHashed(w io.Writer, h hash.Hash, r io.Reader) (int64, error) {
	type chunk struct {
		buf *[]byte
		n   int
	}
	toHash := make(chan chunk, pipeBufs)
	toWrite := make(chan chunk, pipeBufs)
	free := make(chan *[]byte, pipeBufs)
	for range pipeBufs {
		free <- pipeBufPool.Get().(*[]byte)
	}
	stop := make(chan struct{}) // closed when the writer fails
	var written int64
	var writeErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // hasher
		defer wg.Done()
		defer close(toWrite)
		for c := range toHash {
			h.Write((*c.buf)[:c.n])
			toWrite <- c
		}
	}()
	go func() { // writer
		defer wg.Done()
		for c := range toWrite {
			if writeErr == nil {
				n, err := w.Write((*c.buf)[:c.n])
				written += int64(n)
				if err == nil && n < c.n {
					err = io.ErrShortWrite
				}
				if err != nil {
					writeErr = err
					close(stop)
				}
			}
			free <- c.buf
		}
	}()

	var readErr error
	for readErr == nil {
		var buf *[]byte
		select {
		case buf = <-free:
		case <-stop:
		}
		if buf == nil {
			break
		}
		n, err := io.ReadFull(r, *buf)
		if n > 0 {
			toHash <- chunk{buf, n}
		} else {
			free <- buf
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			readErr = io.EOF
		case err != nil:
			readErr = err
		}
	}
	close(toHash)
	wg.Wait()
	close(free)
	for b := range free {
		pipeBufPool.Put(b)
	}
	if writeErr != nil {
		// h saw bytes that never reached w; callers must not trust it.
		return written, &writeError{writeErr}
	}
	if readErr == io.EOF {
		readErr = nil
	}
	return written, readErr
}

// writeError marks a failure of the destination rather than the source.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func isWriteError(err error) bool {
	var we *writeError
	return errors.As(err, &we)
}
