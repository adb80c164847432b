package registry

import (
	"net/http"
	"time"

	"github.com/berthhq/berth/registry/errcode"
	"github.com/gorilla/mux"
	"github.com/opencontainers/go-digest"
)

// getBlob serves GET and HEAD of a blob, with single Range requests, from
// the stored file itself (sendfile on the filesystem driver).
func (a *api) getBlob(w http.ResponseWriter, r *http.Request) error {
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	d, err := parseDigest(mux.Vars(r)["digest"])
	if err != nil {
		return err
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
