package registry

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/registry/errcode"
	"github.com/berthhq/berth/storage"
	"github.com/gorilla/mux"
)

// startUpload serves POST /v2/<name>/blobs/uploads/: a cross-repository
// mount (?mount=&from=), a monolithic upload (?digest=) or a new session.
func (a *api) startUpload(w http.ResponseWriter, r *http.Request) error {
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		if done, err := a.tryMount(w, r, repo, mount, q.Get("from")); done || err != nil {
			return err
		}
	}
	if ds := q.Get("digest"); ds != "" {
		d, err := parseDigest(ds)
		if err != nil {
			return err
		}
		desc, err := repo.PutBlob(r.Context(), d, r.Body)
		if err != nil {
			return err
		}
		return blobCreated(w, repo.Name(), desc.Digest.String())
	}
	u, err := repo.NewUpload(r.Context())
	if err != nil {
		return err
	}
	return uploadAccepted(w, repo.Name(), u.ID(), 0, http.StatusAccepted)
}

// tryMount links a blob from another repository. It reports done=false
// when that is not possible (unknown blob or source), so the caller starts
// an ordinary upload session as the spec requires.
func (a *api) tryMount(w http.ResponseWriter, r *http.Request, repo *storage.Repository, mount, from string) (bool, error) {
	d, err := parseDigest(mount)
	if err != nil {
		return false, err
	}
	src, err := a.store.Repository(from)
	if err != nil || !a.can(r, from, auth.ActionPull) {
		return false, nil // not ours to mount from: an ordinary upload instead
	}
	desc, err := repo.MountBlob(r.Context(), src, d)
	if err != nil {
		return false, nil
	}
	return true, blobCreated(w, repo.Name(), desc.Digest.String())
}

// uploadStatus serves GET of an upload session: how much it holds.
func (a *api) uploadStatus(w http.ResponseWriter, r *http.Request) error {
	u, err := a.upload(r)
	if err != nil {
		return err
	}
	size, err := u.Size(r.Context())
	if err != nil {
		return err
	}
	return uploadAccepted(w, mux.Vars(r)["name"], u.ID(), size, http.StatusNoContent)
}

// patchUpload appends a chunk: with Content-Range it must start where the
// upload ends (416 with the current Range otherwise); without it the body
// is streamed on as it comes.
func (a *api) patchUpload(w http.ResponseWriter, r *http.Request) error {
	u, err := a.upload(r)
	if err != nil {
		return err
	}
	start, body, err := chunk(r)
	if err != nil {
		return err
	}
	size, err := u.Append(r.Context(), body, start)
	if err != nil {
		return err
	}
	return uploadAccepted(w, mux.Vars(r)["name"], u.ID(), size, http.StatusAccepted)
}

// putUpload completes an upload with an optional last chunk and ?digest=.
func (a *api) putUpload(w http.ResponseWriter, r *http.Request) error {
	u, err := a.upload(r)
	if err != nil {
		return err
	}
	ds := r.URL.Query().Get("digest")
	if ds == "" {
		return errcode.New(errcode.DigestInvalid, "digest query parameter is required")
	}
	d, err := parseDigest(ds)
	if err != nil {
		return err
	}
	start, body, err := chunk(r)
	if err != nil {
		return err
	}
	if start >= 0 {
		if _, err := u.Append(r.Context(), body, start); err != nil {
			return err
		}
		body = http.NoBody
	}
	desc, err := u.Commit(r.Context(), d, body)
	if err != nil {
		return err
	}
	return blobCreated(w, mux.Vars(r)["name"], desc.Digest.String())
}

// cancelUpload discards an upload session.
func (a *api) cancelUpload(w http.ResponseWriter, r *http.Request) error {
	u, err := a.upload(r)
	if err != nil {
		return err
	}
	if err := u.Cancel(r.Context()); err != nil {
		return err
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *api) upload(r *http.Request) (*storage.Upload, error) {
	repo, err := a.repo(r)
	if err != nil {
		return nil, err
	}
	return repo.Upload(r.Context(), mux.Vars(r)["uuid"])
}

// contentRange parses a chunk's Content-Range ("<start>-<end>", inclusive;
// a "bytes " prefix is tolerated). It returns start -1 when there is none,
// and the chunk's length, which Content-Length must agree with.
func contentRange(r *http.Request) (start, length int64, err error) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, -1, nil
	}
	spec := strings.TrimPrefix(cr, "bytes ")
	lo, hi, ok := strings.Cut(spec, "-")
	s, err1 := strconv.ParseInt(lo, 10, 64)
	e, err2 := strconv.ParseInt(hi, 10, 64)
	if !ok || err1 != nil || err2 != nil || s < 0 || e < s {
		return 0, 0, errcode.New(errcode.BlobUploadInvalid, "invalid Content-Range "+quote(cr)).
			WithStatus(http.StatusRequestedRangeNotSatisfiable)
	}
	length = e - s + 1
	if r.ContentLength >= 0 && r.ContentLength != length {
		return 0, 0, errcode.New(errcode.SizeInvalid,
			fmt.Sprintf("Content-Range %q is %d bytes but Content-Length is %d", cr, length, r.ContentLength))
	}
	return s, length, nil
}

// chunk returns where a request's chunk starts (-1 without Content-Range)
// and its body, which must then be exactly the range's length: a body that
// ends early fails the upload's Append with BLOB_UPLOAD_INVALID (the bytes
// that did arrive are kept); one that runs on is cut at the length.
func chunk(r *http.Request) (start int64, body io.Reader, err error) {
	start, length, err := contentRange(r)
	if err != nil || length < 0 {
		return start, r.Body, err
	}
	return start, &exactReader{r: io.LimitReader(r.Body, length), left: length}, nil
}

// exactReader fails with io.ErrUnexpectedEOF when its source ends before
// left bytes were read.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// uploadAccepted writes the headers of an upload session's state.
func uploadAccepted(w http.ResponseWriter, name, id string, size int64, status int) error {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/uploads/"+id)
	h.Set("Range", uploadRange(size))
	h.Set("Docker-Upload-UUID", id)
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
	return nil
}

// blobCreated answers a finished upload or mount.
func blobCreated(w http.ResponseWriter, name, dgst string) error {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+dgst)
	h.Set("Docker-Content-Digest", dgst)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
	return nil
}

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }

func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return strconv.Quote(s)
}
