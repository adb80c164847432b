//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// replicaState is everything one replica serves, flattened for comparison:
//
//	catalog              the repositories, comma-separated
//	tags REPO            its tags, or the status and error codes of the list
//	REPO:TAG             the manifest digest the tag resolves to
//	REPO@DIGEST          for a manifest or blob: its size once the bytes
//	                     were checked against the digest, else the status
//	                     and error codes the registry answered
//
// Two replicas serving the same content have equal states, and every value
// that is a size stands for bytes that match their digest.
type replicaState map[string]string

// manifestAccept is every manifest type a registry may hold.
var manifestAccept = strings.Join([]string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// stateOf walks reg from its catalog down to every blob, plus the blobs
// and manifests of extra ("REPO@DIGEST" for a blob, "manifest REPO@DIGEST"
// for a manifest), which no tag may reach any longer.
func stateOf(t testing.TB, reg *Registry, extra ...string) replicaState {
	t.Helper()
	a := reg.API(t)
	st := replicaState{}
	catalog, _ := a.paginate("/v2/_catalog", "repositories")
	st["catalog"] = strings.Join(catalog, ",")
	for _, repo := range catalog {
		first := a.do("GET", "/v2/"+repo+"/tags/list", nil, nil)
		if first.Status != http.StatusOK {
			st["tags "+repo] = outcome(first)
			continue
		}
		tagList, _ := a.paginate("/v2/"+repo+"/tags/list", "tags")
		slices.Sort(tagList)
		st["tags "+repo] = strings.Join(tagList, ",")
		for _, tag := range tagList {
			resp := a.do("GET", "/v2/"+repo+"/manifests/"+tag, hdr{"Accept", manifestAccept}, nil)
			if resp.Status != http.StatusOK {
				st[repo+":"+tag] = outcome(resp)
				continue
			}
			d := resp.Header.Get("Docker-Content-Digest")
			if sha256Digest(resp.Body) != d {
				t.Errorf("%s: %s:%s served as %s has digest %s", reg.Host, repo, tag, d, sha256Digest(resp.Body))
			}
			st[repo+":"+tag] = d
			walkManifest(t, a, st, repo, d, len(resp.Body))
		}
	}
	for _, key := range extra {
		ref, isManifest := strings.CutPrefix(key, "manifest ")
		repo, d, _ := strings.Cut(ref, "@")
		switch _, seen := st[key]; {
		case seen:
		case isManifest:
			resp := a.do("GET", "/v2/"+repo+"/manifests/"+d, hdr{"Accept", manifestAccept}, nil)
			st[key] = outcome(resp)
			if resp.Status == http.StatusOK {
				st[key] = sizeString(len(resp.Body))
			}
		default:
			st[key] = blobOutcome(t, a, repo, d, -1)
		}
	}
	return st
}

// walkManifest records manifest repo@d (of size bytes, already checked)
// and everything it references.
func walkManifest(t testing.TB, a *api, st replicaState, repo, d string, size int) {
	t.Helper()
	key := repo + "@" + d
	if _, seen := st[key]; seen {
		return
	}
	resp := a.do("GET", "/v2/"+repo+"/manifests/"+d, hdr{"Accept", manifestAccept}, nil)
	if resp.Status != http.StatusOK {
		st[key] = outcome(resp)
		return
	}
	if got := sha256Digest(resp.Body); got != d || len(resp.Body) != size {
		t.Errorf("%s: manifest %s served %d bytes with digest %s", a.reg.Host, key, len(resp.Body), got)
		st[key] = "corrupt"
		return
	}
	st[key] = sizeString(size)
	type desc struct {
		Digest string `json:"digest"`
		Size   int    `json:"size"`
	}
	var m struct {
		Config    *desc  `json:"config"`
		Layers    []desc `json:"layers"`
		Manifests []desc `json:"manifests"`
	}
	if err := json.Unmarshal(resp.Body, &m); err != nil {
		t.Errorf("%s: manifest %s: %v", a.reg.Host, key, err)
		return
	}
	for _, c := range m.Manifests {
		walkManifest(t, a, st, repo, c.Digest, c.Size)
	}
	blobs := m.Layers
	if m.Config != nil {
		blobs = append(blobs, *m.Config)
	}
	for _, b := range blobs {
		if k := repo + "@" + b.Digest; st[k] == "" {
			st[k] = blobOutcome(t, a, repo, b.Digest, b.Size)
		}
	}
}

// blobOutcome fetches blob repo@d: its size when its bytes match d (and
// size, unless size is -1), else the status and codes of the answer.
func blobOutcome(t testing.TB, a *api, repo, d string, size int) string {
	t.Helper()
	head := a.do("HEAD", "/v2/"+repo+"/blobs/"+d, nil, nil)
	get := a.do("GET", "/v2/"+repo+"/blobs/"+d, nil, nil)
	if head.Status != get.Status {
		t.Errorf("%s: blob %s@%s: HEAD answers %d, GET %d", a.reg.Host, repo, d, head.Status, get.Status)
	}
	if get.Status != http.StatusOK {
		return outcome(get)
	}
	if got := sha256Digest(get.Body); got != d || (size >= 0 && len(get.Body) != size) {
		t.Errorf("%s: blob %s@%s served %d bytes (want %d) with digest %s", a.reg.Host, repo, d, len(get.Body), size, got)
		return "corrupt"
	}
	return sizeString(len(get.Body))
}

// outcome is a failed answer's status and error codes.
func outcome(r *response) string {
	return fmt.Sprintf("%d %s", r.Status, strings.Join(r.codes(), ","))
}

// sameStates fails unless every replica serves exactly what the first does.
func sameStates(t testing.TB, replicas []*Registry, states []replicaState) {
	t.Helper()
	for i := 1; i < len(states); i++ {
		a, b := states[0], states[i]
		keys := slices.Sorted(maps.Keys(a))
		for k := range b {
			if _, ok := a[k]; !ok {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			if a[k] != b[k] {
				t.Errorf("%s: replica %s serves %q, replica %s serves %q", k, replicas[0].Host, a[k], replicas[i].Host, b[k])
			}
		}
	}
}

// statesOf takes the state of each replica.
func statesOf(t testing.TB, replicas []*Registry, extra ...string) []replicaState {
	t.Helper()
	var out []replicaState
	for _, r := range replicas {
		out = append(out, stateOf(t, r, extra...))
	}
	return out
}

// expectState fails unless st holds want for every key of want.
func expectState(t testing.TB, st replicaState, want map[string]string) {
	t.Helper()
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if st[k] != want[k] {
			t.Errorf("%s: served %q, want %q", k, st[k], want[k])
		}
	}
}
