package registry

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/registry/errcode"
)

// Page sizes for tags and catalog listings: the default when the client
// names none, and the most one response holds whatever it asks.
const (
	defaultPageSize = 1000
	maxPageSize     = 1000
)

// tagsList serves GET /v2/<name>/tags/list with n/last pagination.
func (a *api) tagsList(w http.ResponseWriter, r *http.Request) error {
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	n, last, err := pageParams(r)
	if err != nil {
		return err
	}
	tags, more, err := repo.Tags(r.Context(), last, n)
	if err != nil {
		return err
	}
	if more && len(tags) > 0 {
		setNextLink(w, "/v2/"+repo.Name()+"/tags/list", tags[len(tags)-1], n)
	}
	return writeJSON(w, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{repo.Name(), tags})
}

// catalog serves GET /v2/_catalog with n/last pagination.
func (a *api) catalog(w http.ResponseWriter, r *http.Request) error {
	n, last, err := pageParams(r)
	if err != nil {
		return err
	}
	pullable := func(name string) bool { return a.can(r, name, auth.ActionPull) }
	repos, more, err := a.store.CatalogFunc(r.Context(), last, n, pullable)
	if err != nil {
		return err
	}
	if repos == nil {
		repos = []string{}
	}
	if more && len(repos) > 0 {
		setNextLink(w, "/v2/_catalog", repos[len(repos)-1], n)
	}
	return writeJSON(w, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{repos})
}

// pageParams reads n (bounded by maxPageSize) and last from the query.
func pageParams(r *http.Request) (n int, last string, err error) {
	q := r.URL.Query()
	n = defaultPageSize
	if s := q.Get("n"); s != "" {
		n, err = strconv.Atoi(s)
		if err != nil || n < 0 {
			return 0, "", errcode.New(errcode.Unsupported, "invalid page size n="+quote(s)).
				WithStatus(http.StatusBadRequest)
		}
		n = min(n, maxPageSize)
	}
	return n, q.Get("last"), nil
}

func setNextLink(w http.ResponseWriter, path, last string, n int) {
	q := url.Values{"last": {last}, "n": {strconv.Itoa(n)}}
	w.Header().Set("Link", "<"+path+"?"+q.Encode()+`>; rel="next"`)
}

// writeJSON sends v as a 200 response of the given content type.
func writeJSON(w http.ResponseWriter, contentType string, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
	return nil
}
