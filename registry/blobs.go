package registry

import (
	"errors"
	"net/http"
	"time"

	"github.com/berthhq/berth/registry/errcode"
	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
	"github.com/gorilla/mux"
	"github.com/opencontainers/go-digest"
)

// getBlob serves GET and HEAD of a blob, with single Range requests, from
// the stored file itself (sendfile on the filesystem driver). With
// WithBlobRedirect a GET is redirected to the storage backend instead.
func (a *api) getBlob(w http.ResponseWriter, r *http.Request) error {
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	d, err := parseDigest(mux.Vars(r)["digest"])
	if err != nil {
		return err
	}
	if r.Method == http.MethodGet && a.redirectExpiry > 0 {
		if done, err := a.redirectBlob(w, r, repo, d); done || err != nil {
			return err
		}
	}
	f, desc, err := repo.OpenBlob(r.Context(), d)
	if err != nil {
		return err
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", d.String())
	h.Set("ETag", `"`+d.String()+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	h.Set("Accept-Ranges", "bytes")
	if r.Method == http.MethodHead && r.Header.Get("Range") == "" {
		h.Set("Content-Length", formatInt(desc.Size))
		return nil
	}
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

// redirectBlob answers 307 Temporary Redirect to a URL of the storage
// backend for blob d, once the repository is known to hold it. It reports
// false, without error, when the driver cannot give a URL: the caller
// streams the blob instead. Access was checked before the handler ran, so
// no URL ever reaches a client without pull access.
func (a *api) redirectBlob(w http.ResponseWriter, r *http.Request, repo *storage.Repository, d digest.Digest) (bool, error) {
	url, err := repo.BlobURL(r.Context(), d, a.redirectExpiry)
	if errors.Is(err, driver.ErrUnsupported) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	h := w.Header()
	h.Set("Location", url)
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Cache-Control", "no-store") // the URL expires; the blob does not
	w.WriteHeader(http.StatusTemporaryRedirect)
	return true, nil
}

// deleteBlob unlinks a blob from the repository.
func (a *api) deleteBlob(w http.ResponseWriter, r *http.Request) error {
	if err := a.requireDelete(); err != nil {
		return err
	}
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	d, err := parseDigest(mux.Vars(r)["digest"])
	if err != nil {
		return err
	}
	if err := repo.DeleteBlob(r.Context(), d); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// parseDigest validates a digest from a URL or query, as DIGEST_INVALID.
func parseDigest(s string) (digest.Digest, error) {
	d, err := digest.Parse(s)
	if err != nil {
		return "", errcode.New(errcode.DigestInvalid, "invalid digest "+quote(s)+": "+err.Error())
	}
	return d, nil
}
