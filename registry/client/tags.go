package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxPages bounds how many Link-header pages a listing follows, and
// maxPageBody the size of one page.
const (
	maxPages    = 10000
	maxPageBody = 16 << 20
)

// Tags returns every tag of repo, following the registry's Link headers
// from page to page. A missing repository matches ErrNotFound.
func (c *Client) Tags(ctx context.Context, repo string) ([]string, error) {
	p, err := repoPath(repo)
	if err != nil {
		return nil, err
	}
	var tags []string
	err = c.pages(ctx, c.url(p+"tags/list", nil), func(body io.Reader) (bool, error) {
		var page struct {
			Tags []string `json:"tags"`
		}
		if err := json.NewDecoder(body).Decode(&page); err != nil {
			return false, fmt.Errorf("decoding tag list: %w", err)
		}
		tags = append(tags, page.Tags...)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", repo, err)
	}
	return tags, nil
}

// Catalog returns up to n repository names (all when n <= 0), following
// Link headers; n is also sent as the page size. Registries may list only
// the repositories the credentials can pull.
func (c *Client) Catalog(ctx context.Context, n int) ([]string, error) {
	var q url.Values
	if n > 0 {
		q = url.Values{"n": {strconv.Itoa(n)}}
	}
	var repos []string
	err := c.pages(ctx, c.url("/v2/_catalog", q), func(body io.Reader) (bool, error) {
		var page struct {
			Repositories []string `json:"repositories"`
		}
		if err := json.NewDecoder(body).Decode(&page); err != nil {
			return false, fmt.Errorf("decoding catalog: %w", err)
		}
		repos = append(repos, page.Repositories...)
		if n > 0 && len(repos) >= n {
			repos = repos[:n]
			return false, nil
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list repositories of %s: %w", c.host, err)
	}
	return repos, nil
}

// pages GETs first, hands each page's body to page, and follows the
// rel="next" Link while page returns true. Links must stay on the
// registry's host; a Link that repeats one already followed is an error.
func (c *Client) pages(ctx context.Context, first string, page func(io.Reader) (bool, error)) error {
	next := first
	seen := map[string]bool{}
	for i := 0; next != ""; i++ {
		if i == maxPages {
			return fmt.Errorf("more than %d pages", maxPages)
		}
		seen[next] = true
		resp, err := c.do(ctx, http.MethodGet, next, nil, nil, http.StatusOK)
		if err != nil {
			return err
		}
		more, err := page(io.LimitReader(resp.Body, maxPageBody))
		link := nextLink(resp.Header)
		discard(resp)
		if err != nil || !more || link == "" {
			return err
		}
		u, err := resolve(resp.Request.URL, link)
		if err != nil {
			return err
		}
		if !strings.EqualFold(u.Host, c.base.Host) {
			return fmt.Errorf("next page link %q leaves %s", link, c.host)
		}
		if next = u.String(); seen[next] {
			return fmt.Errorf("next page link %q loops", link)
		}
	}
	return nil
}

// nextLink returns the target of the rel="next" Link of h (RFC 8288):
// `<url>; rel="next"`, possibly among other links.
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for len(v) > 0 {
			v = strings.TrimLeft(v, " \t,")
			if !strings.HasPrefix(v, "<") {
				break
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				break
			}
			target, rest := v[1:end], v[end+1:]
			params := rest
			if i := strings.Index(rest, ",<"); i >= 0 {
				params, rest = rest[:i], rest[i+1:]
			} else if i := strings.Index(rest, ", <"); i >= 0 {
				params, rest = rest[:i], rest[i+1:]
			} else {
				rest = ""
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") {
					for _, rel := range strings.Fields(strings.Trim(val, `"`)) {
						if strings.EqualFold(rel, "next") {
							return target
						}
					}
				}
			}
			v = rest
		}
	}
	return ""
}
