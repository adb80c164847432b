package image

import (
	"errors"
	"io"

	"github.com/opencontainers/go-digest"
)

// layerTee is the writer a layer's download copies into besides the
// store, feeding the layer's unpack while the blob downloads. Its Write
// never fails: once the unpack stops reading (it failed, or was
// cancelled), the download goes on alone and the layer is unpacked again
// from the store when its blob is committed.
type layerTee struct {
	pw     *io.PipeWriter
	broken bool
}

func (t *layerTee) Write(p []byte) (int, error) {
	if !t.broken {
		if _, err := t.pw.Write(p); err != nil {
			t.broken = true
		}
	}
	return len(p), nil
}

// finish ends the stream: at EOF when the download committed the blob
// (err nil), else with err so the unpack fails and is done again later.
func (t *layerTee) finish(err error) {
	if err == nil {
		_ = t.pw.Close()
		return
	}
	_ = t.pw.CloseWithError(err)
}

// layerStream is a layer unpacking from its download; done receives the
// unpack's result once.
type layerStream struct{ done chan error }

// errStreamEnded stops a download's tee after its unpack ended early.
var errStreamEnded = errors.New("image: streamed unpack ended")

// stream starts unpacking layer blob d from its download when an unpack
// slot is free, and returns the writer the download must copy into as
// well and finish; nil when the layer unpacks after the download (no free
// slot, or the blob is more than one layer of the image). Only a download
// from the first byte may stream.
func (u *unpacker) stream(d digest.Digest) *layerTee {
	idx := u.at[d]
	if len(idx) != 1 || u.ctx.Err() != nil {
		return nil
	}
	select {
	case u.sem <- struct{}{}:
	default:
		return nil
	}
	i := idx[0]
	pr, pw := io.Pipe()
	st := &layerStream{done: make(chan error, 1)}
	u.mu.Lock()
	u.streams[i] = st
	u.mu.Unlock()
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		defer func() { <-u.sem }()
		err := u.s.unpackLayer(u.ctx, u.store, u.layers[i], u.diffIDs[i], u.chain[i], u.parentOf(i),
			func() (io.ReadCloser, error) { return pr, nil })
		_ = pr.CloseWithError(errStreamEnded) // the download must not wait on us
		st.done <- err
	}()
	return &layerTee{pw: pw}
}

// streamed waits for the streamed unpack of layer i, if any, and reports
// whether it succeeded (else the layer is unpacked from the store).
func (u *unpacker) streamed(i int) bool {
	u.mu.Lock()
	st := u.streams[i]
	u.mu.Unlock()
	return st != nil && <-st.done == nil
}
