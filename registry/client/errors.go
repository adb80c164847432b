package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode"
)

// Error classes, matched with errors.Is against an *Error, a *TokenError
// or anything wrapping them.
var (
	// ErrNotFound: the registry answered 404 (unknown blob, manifest,
	// repository or upload).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the registry or its token service refused the
	// credentials (401), after the transport did what it could.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrDenied: the registry refused the operation to these credentials
	// (403).
	ErrDenied = errors.New("denied")
	// ErrDigestMismatch: content did not hash to the digest it was asked
	// or announced under.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrInsecureRealm: a challenge named a token service the transport
	// will not send credentials to (see Transport).
	ErrInsecureRealm = errors.New("refusing token realm")
)

// Bodies read to build errors are cut at this size.
const maxErrorBody = 64 << 10

// Error is a registry's refusal: the HTTP status and the first entry of
// the OCI error envelope ({"errors":[{"code":..,"message":..}]}). Code is
// empty when the body had no envelope (a HEAD, a proxy's HTML page); then
// Message is the body's first line, or empty.
type Error struct {
	StatusCode int
	Code       string // e.g. "MANIFEST_UNKNOWN"
	Message    string
	// Errors holds every entry of the envelope; the first is also in Code
	// and Message.
	Errors []ErrorEntry
}

// ErrorEntry is one entry of the OCI error envelope.
type ErrorEntry struct {
	Code    string          `json:"code"`
	Message string          `json:"message,omitempty"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

// Error returns one line: "CODE: message" for each envelope entry, or the
// status and whatever text the body had.
func (e *Error) Error() string {
	if len(e.Errors) > 1 {
		parts := make([]string, len(e.Errors))
		for i, en := range e.Errors {
			parts[i] = joinNonEmpty(en.Code, en.Message)
		}
		return strings.Join(parts, "; ")
	}
	if e.Code != "" {
		return joinNonEmpty(e.Code, e.Message)
	}
	return joinNonEmpty(fmt.Sprintf("unexpected status %d %s", e.StatusCode, http.StatusText(e.StatusCode)), e.Message)
}

// Is matches ErrNotFound (404), ErrUnauthorized (401) and ErrDenied (403)
// by status, and the latter two by code as well (UNAUTHORIZED, DENIED):
// Berth's and registry:2's token auth refuse a scope with 401 DENIED.
// ErrDigestMismatch matches DIGEST_INVALID, the registry's word for an
// upload whose content is not its digest.
func (e *Error) Is(target error) bool {
	switch {
	case target == ErrUnauthorized && e.Code == "UNAUTHORIZED", target == ErrDenied && e.Code == "DENIED",
		target == ErrDigestMismatch && e.Code == "DIGEST_INVALID":
		return true
	}
	return statusIs(e.StatusCode, target)
}

func statusIs(status int, target error) bool {
	switch target {
	case ErrNotFound:
		return status == http.StatusNotFound
	case ErrUnauthorized:
		return status == http.StatusUnauthorized
	case ErrDenied:
		return status == http.StatusForbidden
	}
	return false
}

// parseError builds an *Error from a response whose status the caller did
// not expect. It reads at most 64 KiB of the body and does not close it.
func parseError(resp *http.Response) *Error {
	e := &Error{StatusCode: resp.StatusCode}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var env struct {
		Errors []ErrorEntry `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil && len(env.Errors) > 0 {
		for i := range env.Errors {
			env.Errors[i].Code = cleanLine(env.Errors[i].Code, 64)
			env.Errors[i].Message = cleanLine(env.Errors[i].Message, 300)
		}
		e.Errors = env.Errors
		e.Code, e.Message = env.Errors[0].Code, env.Errors[0].Message
		return e
	}
	if !strings.Contains(resp.Header.Get("Content-Type"), "html") {
		e.Message = cleanLine(string(body), 200)
	}
	return e
}

// TokenError is a token service's refusal. It never holds the credentials
// or tokens that were sent.
type TokenError struct {
	Realm      string // the token service URL, without its query
	StatusCode int
	Message    string // the service's own words, if it gave any
}

// Error names the realm and the status, and the service's message if any.
func (e *TokenError) Error() string {
	return joinNonEmpty(fmt.Sprintf("token request to %s failed: %d %s", e.Realm, e.StatusCode, http.StatusText(e.StatusCode)), e.Message)
}

// Is matches ErrUnauthorized (401, and OAuth2's 400 invalid_grant, which
// is how a POST token flow refuses a password or refresh token, RFC 6749
// section 5.2) and ErrDenied (403).
func (e *TokenError) Is(target error) bool {
	if target == ErrUnauthorized && e.StatusCode == http.StatusBadRequest {
		return strings.HasPrefix(e.Message, "invalid_grant") || strings.HasPrefix(e.Message, "UNAUTHORIZED")
	}
	return statusIs(e.StatusCode, target)
}

// tokenErrorMessage pulls a message out of a token service's error body:
// the OCI envelope (registry:2's token server), OAuth2's error and
// error_description, Docker Hub's details, or a plain first line.
func tokenErrorMessage(body []byte) string {
	var v struct {
		Errors           []ErrorEntry `json:"errors"`
		Error            string       `json:"error"`
		ErrorDescription string       `json:"error_description"`
		Details          string       `json:"details"`
		Message          string       `json:"message"`
	}
	if json.Unmarshal(body, &v) != nil {
		return cleanLine(string(body), 200)
	}
	var msg string
	switch {
	case len(v.Errors) > 0:
		msg = joinNonEmpty(v.Errors[0].Code, v.Errors[0].Message)
	case v.Error != "":
		msg = joinNonEmpty(v.Error, v.ErrorDescription)
	case v.Details != "":
		msg = v.Details
	default:
		msg = v.Message
	}
	return cleanLine(msg, 200)
}

// cleanLine returns the first line of s, without control characters, cut
// to max runes: server text fit for one line of a terminal.
func cleanLine(s string, max int) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("...")
			break
		}
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + ": " + b
}
