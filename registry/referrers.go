package registry

import (
	"net/http"

	"github.com/gorilla/mux"
	"github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// referrers serves GET /v2/<name>/referrers/<digest>: an image index of the
// manifests whose subject is digest, filtered by ?artifactType=.
func (a *api) referrers(w http.ResponseWriter, r *http.Request) error {
	repo, err := a.repo(r)
	if err != nil {
		return err
	}
	d, err := parseDigest(mux.Vars(r)["digest"])
	if err != nil {
		return err
	}
	artifactType := r.URL.Query().Get("artifactType")
	descs, err := repo.Referrers(r.Context(), d, artifactType)
	if err != nil {
		return err
	}
	if artifactType != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	return writeJSON(w, v1.MediaTypeImageIndex, v1.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageIndex,
		Manifests: descs,
	})
}
