package storage

import (
	"errors"
	"fmt"
)

// Error classes. Every error the Store returns about content wraps one of
// these with the digest, name or tag concerned; check with errors.Is.
var (
	ErrBlobUnknown          = errors.New("blob unknown")
	ErrBlobUploadUnknown    = errors.New("blob upload unknown")
	ErrBlobUploadInvalid    = errors.New("blob upload invalid")
	ErrDigestInvalid        = errors.New("digest invalid")
	ErrDigestMismatch       = fmt.Errorf("%w: content does not match digest", ErrDigestInvalid)
	ErrSizeInvalid          = errors.New("size invalid")
	ErrManifestUnknown      = errors.New("manifest unknown")
	ErrManifestInvalid      = errors.New("manifest invalid")
	ErrManifestBlobUnknown  = errors.New("manifest references unknown blob")
	ErrNameInvalid          = errors.New("repository name invalid")
	ErrNameUnknown          = errors.New("repository name unknown")
	ErrTagInvalid           = errors.New("tag invalid")
	ErrRangeInvalid         = errors.New("upload range invalid")
	ErrUnsupportedMediaType = fmt.Errorf("%w: unsupported media type", ErrManifestInvalid)
)

// RangeError reports a chunk that does not start where the upload ends.
// Size is the upload's current size, for the 416 response's Range header.
type RangeError struct {
	Start, Size int64
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("chunk starts at %d but upload has %d bytes", e.Start, e.Size)
}

// Unwrap lets errors.Is(err, ErrRangeInvalid) match.
func (e *RangeError) Unwrap() error { return ErrRangeInvalid }
