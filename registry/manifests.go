package registry

import (
	"fmt"
	"io"
	"net/http"

	"github.com/berthhq/berth/registry/errcode"
	"github.com/berthhq/berth/storage"
	"github.com/gorilla/mux"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// getManifest serves GET and HEAD of a manifest by tag or digest. HEAD
// answers from the manifest's description without reading it when it can.
func (a *api) getManifest(w http.ResponseWriter, r *http.Request) error {
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	ref := mux.Vars(r)["reference"]
	if r.Method == http.MethodHead {
		desc, err := repo.StatManifest(r.Context(), ref)
		if err != nil {
			return err
		}
		if notModified(w, r, desc) {
			return nil
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	m, err := repo.GetManifest(r.Context(), ref)
	if err != nil {
		return err
	}
	if notModified(w, r, m.Descriptor) {
		return nil
	}
	w.WriteHeader(http.StatusOK)
	w.Write(m.Content)
	return nil
}

// notModified sets a manifest's headers and answers 304 when the client's
// If-None-Match names its digest.
func notModified(w http.ResponseWriter, r *http.Request, desc v1.Descriptor) bool {
	h := w.Header()
	etag := `"` + desc.Digest.String() + `"`
	h.Set("Docker-Content-Digest", desc.Digest.String())
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == etag || inm == desc.Digest.String()) {
		w.WriteHeader(http.StatusNotModified)
		return true
	}
	h.Set("Content-Type", desc.MediaType)
	h.Set("Content-Length", formatInt(desc.Size))
	return false
}

// putManifest stores a manifest under a tag or digest. The body is refused
// before it is read whole when it is larger than storage.MaxManifestSize.
func (a *api) putManifest(w http.ResponseWriter, r *http.Request) error {
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	tooBig := errcode.New(errcode.ManifestInvalid,
		fmt.Sprintf("manifest is larger than %d bytes", storage.MaxManifestSize)).
		WithStatus(http.StatusRequestEntityTooLarge)
	if r.ContentLength > storage.MaxManifestSize {
		return tooBig
	}
	content, err := io.ReadAll(io.LimitReader(r.Body, storage.MaxManifestSize+1))
	if err != nil {
		return errcode.New(errcode.ManifestInvalid, "reading manifest: "+err.Error())
	}
	if len(content) > storage.MaxManifestSize {
		return tooBig
	}
	if r.ContentLength >= 0 && int64(len(content)) != r.ContentLength {
		return errcode.New(errcode.SizeInvalid, "body length does not match Content-Length")
	}
	ref := mux.Vars(r)["reference"]
	m, err := repo.PutManifest(r.Context(), ref, r.Header.Get("Content-Type"), content)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Location", "/v2/"+repo.Name()+"/manifests/"+m.Descriptor.Digest.String())
	h.Set("Docker-Content-Digest", m.Descriptor.Digest.String())
	if m.Subject != "" {
		h.Set("OCI-Subject", m.Subject.String())
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

// deleteManifest deletes a manifest by digest (with the tags that point at
// it) or, by tag, just the tag.
func (a *api) deleteManifest(w http.ResponseWriter, r *http.Request) error {
	if err := a.requireDelete(); err != nil {
		return err
	}
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	tag, d, err := storage.ParseReference(mux.Vars(r)["reference"])
	if err != nil {
		return err
	}
	if tag != "" {
		err = repo.Untag(r.Context(), tag)
	} else {
		err = repo.DeleteManifest(r.Context(), d)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}
