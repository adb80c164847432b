package layout

import "errors"

// Error classes, wrapped with the digest, name or path they concern and
// matched with errors.Is.
var (
	// ErrBlobUnknown: the layout holds no blob of that digest.
	ErrBlobUnknown = errors.New("blob unknown")
	// ErrNameUnknown: index.json has no entry of that name.
	ErrNameUnknown = errors.New("name unknown")
	// ErrDigestMismatch: content does not match its descriptor (digest or
	// size). Such content is never kept.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrAlreadyExists: Ingest found the blob already stored.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalid: a digest, descriptor or name the layout cannot take.
	ErrInvalid = errors.New("invalid")
)
