package archive

import (
	"context"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

// ApplyLayer decompresses the layer blob compressed (gzip, zstd or plain),
// applies it to root like Apply, and checks both digests while bytes pass:
// layerDigest over the compressed blob (unless WithBlobVerified) and
// diffID over the uncompressed tar. A mismatch returns ErrDigestMismatch,
// but only after the layer was applied: the caller must then delete root
// (it is half trusted content), as it must after any other error.
func ApplyLayer(ctx context.Context, root string, compressed io.Reader, layerDigest, diffID digest.Digest, opts ...Option) (Stats, error) {
	for _, d := range []digest.Digest{layerDigest, diffID} {
		if err := d.Validate(); err != nil {
			return Stats{}, fmt.Errorf("archive: digest %q: %w", d, err)
		}
	}
	o, err := buildOptions(opts)
	if err != nil {
		return Stats{}, err
	}
	lv := layerDigest.Algorithm().Digester()
	if !o.blobVerified {
		compressed = io.TeeReader(compressed, lv.Hash())
	}
	dr, err := Decompress(compressed)
	if err != nil {
		return Stats{}, fmt.Errorf("archive: layer %s: %w", layerDigest, err)
	}
	defer dr.Close()
	dv := diffID.Algorithm().Digester()
	lr := &limitReader{r: io.TeeReader(dr, dv.Hash()), max: o.maxSize}
	st, err := apply(ctx, root, lr, o)
	if err == nil {
		// The tar end marker may be followed by padding; hash it all.
		_, err = io.Copy(io.Discard, lr)
	}
	if err == nil {
		_, err = io.Copy(io.Discard, compressed)
	}
	st.Bytes = lr.n
	if err != nil {
		return st, fmt.Errorf("archive: layer %s: %w", layerDigest, err)
	}
	if got := lv.Digest(); got != layerDigest && !o.blobVerified {
		return st, fmt.Errorf("%w: layer %s hashed to %s", ErrDigestMismatch, layerDigest, got)
	}
	if got := dv.Digest(); got != diffID {
		return st, fmt.Errorf("%w: diff ID %s of layer %s hashed to %s", ErrDigestMismatch, diffID, layerDigest, got)
	}
	return st, nil
}
