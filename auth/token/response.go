package token

import (
	"encoding/json"
	"net/http"
)

// dockerError is one entry of the registry error envelope, which docker
// prints on a failed login: {"errors":[{"code","message"}]}. It is written
// here rather than through registry/errcode, which auth may not import.
type dockerError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// oauthError is an RFC 6749 error body. It also carries the registry
// envelope, so that docker, which reads only that, shows the message too.
type oauthError struct {
	Error       string        `json:"error"`
	Description string        `json:"error_description,omitempty"`
	Errors      []dockerError `json:"errors,omitempty"`
}

// writeDockerError writes the registry error envelope with one error.
func writeDockerError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, struct {
		Errors []dockerError `json:"errors"`
	}{[]dockerError{{Code: code, Message: msg}}})
}

// writeOAuthError writes an OAuth2 error (code as in RFC 6749 5.2).
func writeOAuthError(w http.ResponseWriter, status int, code, description string) {
	docker := "UNAUTHORIZED"
	if status != http.StatusBadRequest || code != "invalid_grant" {
		docker = "INVALID_REQUEST"
	}
	if status >= http.StatusInternalServerError {
		docker = "UNKNOWN"
	}
	writeJSON(w, status, oauthError{Error: code, Description: description,
		Errors: []dockerError{{Code: docker, Message: description}}})
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
