package client

import (
	"net/http"
	"slices"
	"strings"
)

// CatalogScope is the scope the repository listing needs.
const CatalogScope = "registry:catalog:*"

// RepositoryScope returns the token scope for actions on a repository,
// "repository:<name>:<action>[,<action>...]", e.g. RepositoryScope("team/app",
// "pull", "push").
func RepositoryScope(name string, actions ...string) string {
	return "repository:" + name + ":" + strings.Join(actions, ",")
}

// normalizeScopes returns scopes as a sorted set in which every resource
// appears once with its actions merged and sorted, so that equal needs make
// equal cache keys whatever order the server or caller wrote them in.
// Entries that are not "type:name:actions" are kept verbatim.
func normalizeScopes(scopes ...[]string) []string {
	actions := map[string][]string{} // "type:name" -> actions
	var verbatim []string
	for _, list := range scopes {
		for _, s := range list {
			i, j := strings.IndexByte(s, ':'), strings.LastIndexByte(s, ':')
			if i <= 0 || j <= i+1 || j == len(s)-1 {
				verbatim = append(verbatim, s)
				continue
			}
			res := s[:j]
			for _, a := range strings.Split(s[j+1:], ",") {
				if a != "" && !slices.Contains(actions[res], a) {
					actions[res] = append(actions[res], a)
				}
			}
		}
	}
	out := verbatim
	for res, acts := range actions {
		if len(acts) == 0 {
			continue
		}
		slices.Sort(acts)
		out = append(out, res+":"+strings.Join(acts, ","))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Request classes that have no scope of their own.
const (
	classLogin = "login" // GET /v2/
	classOther = "other" // a path the distribution API does not define
)

// requestScopes infers, from a distribution API request's method and path,
// the scopes the registry will ask for, as registry:2 and Berth's registry
// do: reads need pull, writes and anything on uploads need pull and push,
// deletes need delete, the catalog needs registry:catalog:*. class names the
// kind of request (the scopes joined, or classLogin or classOther) so that
// what a challenge actually asked for can be remembered per class.
func requestScopes(method, path string) (class string, scopes []string) {
	rest, ok := strings.CutPrefix(path, "/v2/")
	switch {
	case !ok:
		return classOther, nil
	case rest == "":
		return classLogin, nil
	case rest == "_catalog":
		return CatalogScope, []string{CatalogScope}
	}
	name, kind := splitRepoPath(rest)
	if name == "" {
		return classOther, nil
	}
	var s string
	switch {
	case kind == "uploads":
		s = RepositoryScope(name, "pull", "push")
	case method == http.MethodGet || method == http.MethodHead:
		s = RepositoryScope(name, "pull")
	case method == http.MethodDelete:
		s = RepositoryScope(name, "delete")
	default:
		s = RepositoryScope(name, "pull", "push")
	}
	return s, []string{s}
}

// splitRepoPath splits "<name>/<kind>/..." (the part of a path after
// /v2/) into the repository name and the kind of resource: "manifests",
// "blobs", "uploads", "tags" or "referrers". The last marker wins, since a
// name may itself contain a component such as "blobs".
func splitRepoPath(rest string) (name, kind string) {
	best := -1
	for _, k := range []string{"/manifests/", "/blobs/", "/tags/", "/referrers/"} {
		if i := strings.LastIndex(rest, k); i > best {
			best, kind = i, strings.Trim(k, "/")
		}
	}
	if best <= 0 {
		return "", ""
	}
	if kind == "blobs" && strings.HasPrefix(rest[best:], "/blobs/uploads") {
		kind = "uploads"
	}
	return rest[:best], kind
}
