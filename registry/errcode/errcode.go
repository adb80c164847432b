// Package errcode holds the error codes of the OCI distribution spec and
// writes them in the spec's JSON envelope. It is the one place where an
// error becomes an HTTP status and a code.
package errcode

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Code is one entry of the spec's error code table.
type Code struct {
	Value   string // the wire code, e.g. "BLOB_UNKNOWN"
	Message string // default human-readable message
	Status  int    // HTTP status it is sent with
}

// The error codes of the OCI distribution spec v1.1, and UNKNOWN for
// failures of the registry itself.
var (
	BlobUnknown         = Code{"BLOB_UNKNOWN", "blob unknown to registry", http.StatusNotFound}
	BlobUploadInvalid   = Code{"BLOB_UPLOAD_INVALID", "blob upload invalid", http.StatusBadRequest}
	BlobUploadUnknown   = Code{"BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", http.StatusNotFound}
	DigestInvalid       = Code{"DIGEST_INVALID", "provided digest did not match uploaded content", http.StatusBadRequest}
	ManifestBlobUnknown = Code{"MANIFEST_BLOB_UNKNOWN", "manifest references a manifest or blob unknown to registry", http.StatusBadRequest}
	ManifestInvalid     = Code{"MANIFEST_INVALID", "manifest invalid", http.StatusBadRequest}
	ManifestUnknown     = Code{"MANIFEST_UNKNOWN", "manifest unknown to registry", http.StatusNotFound}
	NameInvalid         = Code{"NAME_INVALID", "invalid repository name", http.StatusBadRequest}
	NameUnknown         = Code{"NAME_UNKNOWN", "repository name not known to registry", http.StatusNotFound}
	SizeInvalid         = Code{"SIZE_INVALID", "provided length did not match content length", http.StatusBadRequest}
	Unauthorized        = Code{"UNAUTHORIZED", "authentication required", http.StatusUnauthorized}
	Denied              = Code{"DENIED", "requested access to the resource is denied", http.StatusForbidden}
	Unsupported         = Code{"UNSUPPORTED", "the operation is unsupported", http.StatusMethodNotAllowed}
	TooManyRequests     = Code{"TOOMANYREQUESTS", "too many requests", http.StatusTooManyRequests}
	Unavailable         = Code{"UNAVAILABLE", "service unavailable", http.StatusServiceUnavailable}
	Unknown             = Code{"UNKNOWN", "unknown error", http.StatusInternalServerError}
)

// Error is an error with a code, sent to clients as one entry of the
// envelope. Status, when non-zero, overrides the code's default status.
type Error struct {
	Code    Code
	Message string // replaces Code.Message when set
	Detail  any    // JSON-encodable detail, optional
	Status  int
	Header  http.Header // extra response headers (Range, Location, ...)
}

// New returns an Error of code c whose message is msg (or the code's own
// message when msg is empty).
func New(c Code, msg string) *Error { return &Error{Code: c, Message: msg} }

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Code.Value + ": " + e.Message
	}
	return e.Code.Value + ": " + e.Code.Message
}

// WithStatus returns e with its HTTP status set to status.
func (e *Error) WithStatus(status int) *Error { e.Status = status; return e }

// WithHeader returns e with a response header added.
func (e *Error) WithHeader(key, value string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Set(key, value)
	return e
}

type envelope struct {
	Errors []entry `json:"errors"`
}

type entry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// Write sends err as the spec's error envelope. An *Error anywhere in err's
// chain sets the code and status; anything else is a 500 UNKNOWN whose
// message does not leak the internal error text.
func Write(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = New(Unknown, "")
	}
	msg := e.Message
	if msg == "" {
		msg = e.Code.Message
	}
	status := e.Status
	if status == 0 {
		status = e.Code.Status
	}
	for k, v := range e.Header {
		w.Header()[k] = v
	}
	body, _ := json.Marshal(envelope{Errors: []entry{{Code: e.Code.Value, Message: msg, Detail: e.Detail}}})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Length")
	h.Del("Docker-Content-Digest")
	h.Del("ETag")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
