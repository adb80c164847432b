//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// api speaks the distribution HTTP API to one registry by hand, for the
// cases real clients never produce.
type api struct {
	t    testing.TB
	reg  *Registry
	base *url.URL
	c    *http.Client
}

func (r *Registry) API(t testing.TB) *api {
	u, _ := url.Parse(r.URL("/"))
	return &api{t: t, reg: r, base: u, c: &http.Client{
		Timeout: time.Minute,
		// Report redirects as they are; the tests follow what they expect.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a fully read HTTP response.
type response struct {
	Method, URL string
	Status      int
	Header      http.Header
	Body        []byte
}

// hdr is a compact way to pass request headers: "Key", "value", ...
type hdr []string

// do sends method to pathOrURL (relative to the registry or absolute, as a
// Location header gives it) and reads the whole answer.
func (a *api) do(method, pathOrURL string, h hdr, body []byte) *response {
	a.t.Helper()
	u := a.resolve(pathOrURL)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: reading body: %v", method, u, err)
	}
	return &response{Method: method, URL: u, Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// resolve turns a path or a Location header value into an absolute URL.
func (a *api) resolve(ref string) string {
	u, err := a.base.Parse(ref)
	if err != nil {
		a.t.Fatalf("bad URL %q: %v", ref, err)
	}
	return u.String()
}

// String renders the exchange for failure messages.
func (r *response) String() string {
	var keys []string
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(r.Method + " " + r.URL + " -> " + http.StatusText(r.Status) + " (" + strconv.Itoa(r.Status) + ")\n")
	for _, k := range keys {
		b.WriteString("  " + k + ": " + strings.Join(r.Header[k], ", ") + "\n")
	}
	body := string(r.Body)
	if len(body) > 600 {
		body = body[:600] + "..."
	}
	b.WriteString("  body: " + body)
	return b.String()
}

// codes are the OCI error codes in the body's error envelope.
func (r *response) codes() []string {
	var env struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(r.Body, &env) != nil {
		return nil
	}
	var cs []string
	for _, e := range env.Errors {
		cs = append(cs, e.Code)
	}
	return cs
}

// expect fails the test unless the status is one of statuses.
func (r *response) expect(t testing.TB, statuses ...int) *response {
	t.Helper()
	if !slices.Contains(statuses, r.Status) {
		t.Fatalf("want status %v, got:\n%s", statuses, r)
	}
	return r
}

// expectError fails the test unless the answer is status with an error
// envelope holding one of codes.
func (r *response) expectError(t testing.TB, status int, codes ...string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("want %d with %v, got:\n%s", status, codes, r)
		return
	}
	for _, c := range r.codes() {
		if slices.Contains(codes, c) {
			return
		}
	}
	t.Errorf("want error code %v, got %v:\n%s", codes, r.codes(), r)
}

// nextLink returns the target of a Link: <...>; rel="next" header, or "".
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if !strings.Contains(part, `rel="next"`) {
				continue
			}
			start, end := strings.Index(part, "<"), strings.Index(part, ">")
			if start >= 0 && end > start {
				return part[start+1 : end]
			}
		}
	}
	return ""
}

// paginate follows Link headers from first and returns the values of field
// (a JSON string array: "repositories" or "tags") across all pages, and the
// number of pages.
func (a *api) paginate(first, field string) ([]string, int) {
	a.t.Helper()
	var all []string
	pages := 0
	for next := first; next != ""; {
		resp := a.do("GET", next, nil, nil).expect(a.t, http.StatusOK)
		var page map[string]json.RawMessage
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			a.t.Fatalf("page %d: %v:\n%s", pages, err, resp)
		}
		var vals []string
		if raw, ok := page[field]; ok && string(raw) != "null" {
			if err := json.Unmarshal(raw, &vals); err != nil {
				a.t.Fatalf("page %d: %s: %v", pages, field, err)
			}
		}
		all = append(all, vals...)
		pages++
		if pages > 1000 {
			a.t.Fatalf("more than 1000 pages following Link from %s; a loop?", first)
		}
		next = nextLink(resp.Header)
	}
	return all, pages
}
