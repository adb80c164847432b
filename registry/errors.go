package registry

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/berthhq/berth/registry/errcode"
	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
)

// retryAfter is the Retry-After, in seconds, of the 503 answered when the
// storage backend is unavailable: long enough for throttling to ease,
// short enough that a client's own retry lands soon.
const retryAfter = "2"

// errorTable maps the storage error classes to the spec's codes. The first
// match wins, so the more specific classes come first.
var errorTable = []struct {
	class error
	code  errcode.Code
}{
	{storage.ErrUnsupportedMediaType, errcode.ManifestInvalid},
	{storage.ErrManifestBlobUnknown, errcode.ManifestBlobUnknown},
	{storage.ErrDigestInvalid, errcode.DigestInvalid},
	{storage.ErrBlobUnknown, errcode.BlobUnknown},
	{storage.ErrBlobUploadUnknown, errcode.BlobUploadUnknown},
	{storage.ErrBlobUploadInvalid, errcode.BlobUploadInvalid},
	{storage.ErrSizeInvalid, errcode.SizeInvalid},
	{storage.ErrManifestUnknown, errcode.ManifestUnknown},
	{storage.ErrManifestInvalid, errcode.ManifestInvalid},
	{storage.ErrNameInvalid, errcode.NameInvalid},
	{storage.ErrNameUnknown, errcode.NameUnknown},
	{storage.ErrTagInvalid, errcode.ManifestInvalid},
}

// toAPIError turns any error from a handler into the *errcode.Error sent to
// the client. Errors of the store's own classes keep their message, which
// names the digest, tag or upload concerned; a storage backend that is
// unavailable (driver.ErrUnavailable: throttling, 5xx, timeouts, dropped
// connections that outlasted the driver's retries) is 503 UNAVAILABLE with
// Retry-After and a message that does not leak the backend's; anything else
// is UNKNOWN.
func toAPIError(err error) *errcode.Error {
	var e *errcode.Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, driver.ErrUnavailable) {
		// Checked before the classes: an unavailable backend must never
		// read as "unknown blob" or "invalid upload" to a client that
		// would then give up instead of retrying.
		return errcode.New(errcode.Unavailable, "storage backend unavailable; retry later").
			WithHeader("Retry-After", retryAfter)
	}
	var re *storage.RangeError
	if errors.As(err, &re) {
		return errcode.New(errcode.BlobUploadInvalid, err.Error()).
			WithStatus(http.StatusRequestedRangeNotSatisfiable).
			WithHeader("Range", uploadRange(re.Size))
	}
	for _, row := range errorTable {
		if errors.Is(err, row.class) {
			return errcode.New(row.code, err.Error())
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errcode.New(errcode.Unavailable, "request cancelled")
	}
	return errcode.New(errcode.Unknown, "")
}

// uploadRange formats the Range header of an upload holding size bytes, as
// registry:2 does ("0-0" for an empty upload).
func uploadRange(size int64) string {
	end := size - 1
	if end < 0 {
		end = 0
	}
	return "0-" + strconv.FormatInt(end, 10)
}
