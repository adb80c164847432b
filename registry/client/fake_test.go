package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
)

// fake is an in-memory registry with an optional token service, behind
// one httptest server: just enough of the distribution API and of the
// docker token spec to drive the client, and counters to check it by.
type fake struct {
	srv *httptest.Server

	mu sync.Mutex
	// registry content
	blobs     map[digest.Digest][]byte
	links     map[string]bool // repo + "@" + digest
	manifests map[string]fakeManifest
	uploads   map[string]*bytes.Buffer
	nextID    int
	minChunk  int  // OCI-Chunk-Min-Length, 0 for none
	noSingle  bool // answer POST ?digest= with a session, ignoring the body
	pageSize  int  // tags and catalog page size when the client sends none

	// auth: "" (open), "basic" or "bearer"
	auth      string
	users     map[string]fakeUser
	realm     string // the challenge's realm; this server's /token unless set
	postCode  int    // when set, the token endpoint answers POST with it
	expiresIn int    // 0: leave expires_in out
	tokenName string // "token" or "access_token"
	refresh   map[string]string
	tokens    map[string][]string // token -> granted scopes "type:name:action"
	nextTok   int

	// counters
	tokenReqs  []tokenReq
	challenges int
	paths      map[string]int // "METHOD path" -> requests
	agents     []string
	received   int64 // upload body bytes read
}

type fakeUser struct {
	password string
	actions  []string // actions granted on repositories; nil: all
}

type fakeManifest struct {
	mediaType string
	body      []byte
}

// tokenReq records one request to the token service.
type tokenReq struct {
	method, grant, user, refresh, clientID string
	scopes                                 []string
	offline                                bool
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{
		blobs: map[digest.Digest][]byte{}, links: map[string]bool{},
		manifests: map[string]fakeManifest{}, uploads: map[string]*bytes.Buffer{},
		users: map[string]fakeUser{}, refresh: map[string]string{},
		tokens: map[string][]string{}, paths: map[string]int{}, tokenName: "token",
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// host is the server's host:port (127.0.0.1:port).
func (f *fake) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *fake) count(method, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paths[method+" "+path]
}

func (f *fake) tokenRequests() []tokenReq {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.tokenReqs)
}

func (f *fake) challengeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.challenges
}

// putBlob stores content as a blob linked into repo and returns its digest.
func (f *fake) putBlob(repo string, content []byte) digest.Digest {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digest.FromBytes(content)
	f.blobs[d] = content
	f.links[repo+"@"+d.String()] = true
	return d
}

var (
	uploadRE   = regexp.MustCompile(`^/v2/(.+)/blobs/uploads/(.*)$`)
	resourceRE = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags)/(.+)$`)
)

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.paths[r.Method+" "+r.URL.Path]++
	f.agents = append(f.agents, r.UserAgent())
	if r.URL.Path == "/token" {
		f.token(w, r)
		return
	}
	if m := uploadRE.FindStringSubmatch(r.URL.Path); m != nil {
		f.upload(w, r, m[1], m[2])
		return
	}
	switch m := resourceRE.FindStringSubmatch(r.URL.Path); {
	case r.URL.Path == "/v2/":
		if f.authorize(w, r) {
			w.WriteHeader(http.StatusOK)
		}
	case r.URL.Path == "/v2/_catalog":
		if f.authorize(w, r, CatalogScope) {
			f.catalog(w, r)
		}
	case m != nil && m[2] == "manifests":
		f.manifest(w, r, m[1], m[3])
	case m != nil && m[2] == "blobs":
		if f.authorize(w, r, RepositoryScope(m[1], "pull")) {
			f.blob(w, r, m[1], digest.Digest(m[3]))
		}
	case m != nil && m[2] == "tags" && m[3] == "list":
		if f.authorize(w, r, RepositoryScope(m[1], "pull")) {
			f.tagList(w, r, m[1])
		}
	case r.URL.Path == "/v2/custom/thing":
		f.authorize(w, r, "repository:custom:special")
	default:
		writeErr(w, http.StatusNotFound, "NAME_UNKNOWN", "no such endpoint")
	}
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors":[{"code":%q,"message":%q}]}`, code, msg)
}

// authorize checks r's credentials against need (scopes the request
// needs; none: only authentication) and answers the 401 itself.
func (f *fake) authorize(w http.ResponseWriter, r *http.Request, need ...string) bool {
	h := r.Header.Get("Authorization")
	switch f.auth {
	case "basic":
		u, p, ok := r.BasicAuth()
		if ok && f.users[u].password == p && p != "" {
			return true
		}
		f.challenges++
		w.Header().Set("WWW-Authenticate", `Basic realm="fake registry"`)
		writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	case "bearer":
		errParam := ""
		if tok, ok := strings.CutPrefix(h, "Bearer "); ok {
			grants, known := f.tokens[tok]
			switch {
			case !known:
				errParam = "invalid_token"
			case covers(grants, need):
				return true
			default:
				errParam = "insufficient_scope"
			}
		}
		f.challenges++
		realm := f.realm
		if realm == "" {
			realm = f.srv.URL + "/token"
		}
		ch := fmt.Sprintf(`Bearer realm=%q,service="fake-registry"`, realm)
		if len(need) > 0 {
			ch += fmt.Sprintf(`,scope=%q`, strings.Join(need, " "))
		}
		if errParam != "" {
			ch += fmt.Sprintf(`,error=%q`, errParam)
		}
		w.Header().Set("WWW-Authenticate", ch)
		writeErr(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	}
	return true
}

// covers reports whether grants hold every action of every scope in need.
func covers(grants, need []string) bool {
	for _, n := range need {
		res, acts := splitScope(n)
		for _, a := range acts {
			if !slices.Contains(grants, res+":"+a) {
				return false
			}
		}
	}
	return true
}

func splitScope(s string) (resource string, actions []string) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, nil
	}
	return s[:i], strings.Split(s[i+1:], ",")
}

func (f *fake) manifest(w http.ResponseWriter, r *http.Request, repo, ref string) {
	need := map[string]string{http.MethodPut: "pull,push", http.MethodDelete: "delete"}[r.Method]
	if need == "" {
		need = "pull"
	}
	if !f.authorize(w, r, "repository:"+repo+":"+need) {
		return
	}
	key := repo + "@" + ref
	if !strings.Contains(ref, ":") {
		key = repo + ":" + ref
	}
	switch r.Method {
	case http.MethodPut:
		body, _ := io.ReadAll(r.Body)
		m := fakeManifest{mediaType: r.Header.Get("Content-Type"), body: body}
		d := digest.FromBytes(body)
		f.manifests[key], f.manifests[repo+"@"+d.String()] = m, m
		w.Header().Set("Docker-Content-Digest", d.String())
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		if _, ok := f.manifests[key]; !ok {
			writeErr(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown")
			return
		}
		delete(f.manifests, key)
		w.WriteHeader(http.StatusAccepted)
	default:
		m, ok := f.manifests[key]
		if !ok {
			writeErr(w, http.StatusNotFound, "MANIFEST_UNKNOWN", "manifest unknown to registry")
			return
		}
		w.Header().Set("Content-Type", m.mediaType)
		w.Header().Set("Docker-Content-Digest", digest.FromBytes(m.body).String())
		w.Header().Set("Content-Length", strconv.Itoa(len(m.body)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(m.body)
		}
	}
}

func (f *fake) blob(w http.ResponseWriter, r *http.Request, repo string, d digest.Digest) {
	b, ok := f.blobs[d]
	if !ok || !f.links[repo+"@"+d.String()] {
		writeErr(w, http.StatusNotFound, "BLOB_UNKNOWN", "blob unknown to registry")
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Docker-Content-Digest", d.String())
	if r.Method == http.MethodGet {
		_, _ = w.Write(b)
	}
}

// upload serves POST (monolithic, mount, or a new session) and
// PATCH/PUT/DELETE on a session.
func (f *fake) upload(w http.ResponseWriter, r *http.Request, repo, id string) {
	q := r.URL.Query()
	need := []string{RepositoryScope(repo, "pull", "push")}
	if from := q.Get("from"); from != "" && r.Method == http.MethodPost {
		need = append(need, RepositoryScope(from, "pull"))
	}
	if !f.authorize(w, r, need...) {
		return
	}
	// Like registry:2, read no body from a POST that does not commit.
	var body []byte
	if r.Method != http.MethodPost || (q.Get("digest") != "" && !f.noSingle) {
		body, _ = io.ReadAll(r.Body)
		f.received += int64(len(body))
	}
	switch {
	case r.Method == http.MethodPost && q.Get("mount") != "":
		d := digest.Digest(q.Get("mount"))
		if f.links[q.Get("from")+"@"+d.String()] {
			f.links[repo+"@"+d.String()] = true
			w.WriteHeader(http.StatusCreated)
			return
		}
		f.newSession(w, repo)
	case r.Method == http.MethodPost && q.Get("digest") != "" && !f.noSingle:
		f.commit(w, repo, q.Get("digest"), body)
	case r.Method == http.MethodPost:
		f.newSession(w, repo)
	case f.uploads[id] == nil:
		writeErr(w, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN", "upload unknown")
	case r.Method == http.MethodPatch:
		buf := f.uploads[id]
		if cr := r.Header.Get("Content-Range"); cr != fmt.Sprintf("%d-%d", buf.Len(), buf.Len()+len(body)-1) {
			writeErr(w, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID", "bad range "+cr)
			return
		}
		if f.minChunk > 0 && len(body) < f.minChunk {
			writeErr(w, http.StatusBadRequest, "BLOB_UPLOAD_INVALID", "chunk too small")
			return
		}
		buf.Write(body)
		w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+id+"?_state=x")
		w.Header().Set("Range", fmt.Sprintf("0-%d", buf.Len()-1))
		w.WriteHeader(http.StatusAccepted)
	case r.Method == http.MethodPut:
		content := append(f.uploads[id].Bytes(), body...)
		delete(f.uploads, id)
		f.commit(w, repo, q.Get("digest"), content)
	case r.Method == http.MethodDelete:
		delete(f.uploads, id)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (f *fake) newSession(w http.ResponseWriter, repo string) {
	f.nextID++
	id := "u" + strconv.Itoa(f.nextID)
	f.uploads[id] = &bytes.Buffer{}
	w.Header().Set("Location", "/v2/"+repo+"/blobs/uploads/"+id)
	if f.minChunk > 0 {
		w.Header().Set("OCI-Chunk-Min-Length", strconv.Itoa(f.minChunk))
	}
	w.WriteHeader(http.StatusAccepted)
}

func (f *fake) commit(w http.ResponseWriter, repo, want string, content []byte) {
	d := digest.FromBytes(content)
	if d.String() != want {
		writeErr(w, http.StatusBadRequest, "DIGEST_INVALID", "provided digest did not match uploaded content")
		return
	}
	f.blobs[d] = content
	f.links[repo+"@"+d.String()] = true
	w.Header().Set("Location", "/v2/"+repo+"/blobs/"+d.String())
	w.WriteHeader(http.StatusCreated)
}

func (f *fake) tagList(w http.ResponseWriter, r *http.Request, repo string) {
	var tags []string
	for k := range f.manifests {
		if name, tag, ok := strings.Cut(k, ":"); ok && name == repo && !strings.Contains(tag, ":") {
			tags = append(tags, tag)
		}
	}
	if len(tags) == 0 {
		writeErr(w, http.StatusNotFound, "NAME_UNKNOWN", "repository name not known to registry")
		return
	}
	f.page(w, r, "/v2/"+repo+"/tags/list", tags, func(p []string) any {
		return map[string]any{"name": repo, "tags": p}
	})
}

func (f *fake) catalog(w http.ResponseWriter, r *http.Request) {
	seen := map[string]bool{}
	for k := range f.manifests {
		seen[strings.FieldsFunc(k, func(r rune) bool { return r == ':' || r == '@' })[0]] = true
	}
	var repos []string
	for k := range seen {
		repos = append(repos, k)
	}
	f.page(w, r, "/v2/_catalog", repos, func(p []string) any {
		return map[string]any{"repositories": p}
	})
}

// page writes one page of the sorted list after ?last=, of ?n= entries
// (f.pageSize when absent), with a Link to the next page.
func (f *fake) page(w http.ResponseWriter, r *http.Request, path string, all []string, wrap func([]string) any) {
	sort.Strings(all)
	n, _ := strconv.Atoi(r.URL.Query().Get("n"))
	if n <= 0 {
		n = f.pageSize
	}
	if last := r.URL.Query().Get("last"); last != "" {
		i := sort.SearchStrings(all, last)
		for i < len(all) && all[i] <= last {
			i++
		}
		all = all[i:]
	}
	if n > 0 && len(all) > n {
		all = all[:n]
		q := url.Values{"n": {strconv.Itoa(n)}, "last": {all[n-1]}}
		w.Header().Set("Link", fmt.Sprintf(`<%s?%s>; rel="next"`, path, q.Encode()))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(wrap(all))
}

// putManifest stores body as repo's manifest under tag and its digest.
func (f *fake) putManifest(repo, tag string, body []byte) digest.Digest {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := digest.FromBytes(body)
	m := fakeManifest{mediaType: "application/vnd.oci.image.manifest.v1+json", body: body}
	f.manifests[repo+":"+tag], f.manifests[repo+"@"+d.String()] = m, m
	return d
}

// newTestClient returns a client of f's registry with creds (anonymous
// when nil).
func newTestClient(t *testing.T, f *fake, creds Credentials, opts ...TransportOption) *Client {
	t.Helper()
	if creds == nil {
		creds = Anonymous{}
	}
	c, err := New(f.host(), WithCredentials(creds), WithTransportOptions(opts...))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// transportOf returns the auth transport inside c.
func transportOf(c *Client) *Transport { return c.http.Transport.(*Transport) }
