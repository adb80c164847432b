package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// s3Catalog measures GET /v2/_catalog over a bucket holding many repositories. The bucket is
// seeded once per run, before the rounds: the seeder (Berth unless -s3-seed says otherwise)
// pushes one tiny image, a config and a layer shared by every repository and a manifest of its
// own, to each of repos repositories, conc at a time, over its API (cross-repository mounts for
// the blobs). Each measurement then gets a fresh bucket holding a copy of that tree (`cp -a` of
// the bucket's directory in versitygw's posix root; both registries read the registry:2 layout),
// so every contender sees the same objects and none sees another's writes; see warm for how the
// copy is readied.
type s3Catalog struct {
	env     *s3Env
	sides   [2]contender
	seeder  Kind
	repos   int
	conc    int
	scratch string // the run's scratch directory: config files of the restarted registry

	seedDir  string
	seedTime time.Duration
	mu       sync.Mutex
	last     S3Storage // the latest measurement's bucket, for the restart in Run
}

func newS3Catalog(env *s3Env, sides [2]contender, seeder Kind, repos, conc int, scratch string) *s3Catalog {
	return &s3Catalog{env: env, sides: sides, seeder: seeder, repos: repos, conc: conc, scratch: scratch}
}

func (s *s3Catalog) Name() string { return s3Prefix + "catalog" }

func (s *s3Catalog) warmsItself() {}

func (s *s3Catalog) Metrics() []metric {
	g := goal{goalRatioAtMost, 0.1}
	n := fmt.Sprintf("%d repos", s.repos)
	return []metric{
		{key: "s3-cat-page-cold", label: "catalog n=100, first request after start, " + n, unit: "ms", goal: g, format: fixed(1)},
		{key: "s3-cat-page-warm", label: "catalog n=100, repeated, " + n, unit: "ms", goal: g, format: fixed(1)},
		{key: "s3-cat-full-cold", label: "whole catalog in n=1000 pages, first after start, " + n, unit: "ms", goal: g, format: fixed(1)},
		{key: "s3-cat-full-warm", label: "whole catalog in n=1000 pages, repeated, " + n, unit: "ms", goal: g, format: fixed(1)},
	}
}

// catalogImage is the tiny image every seeded repository holds.
type catalogImage struct {
	layer, config, manifest   []byte
	layerDigest, configDigest string
}

func newCatalogImage() (catalogImage, error) {
	var im catalogImage
	im.layer = []byte("berth bench catalog layer\n")
	im.layerDigest = sha256Digest(im.layer)
	im.config = fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, im.layerDigest)
	im.configDigest = sha256Digest(im.config)
	m, err := json.Marshal(ociManifest{
		SchemaVersion: 2,
		MediaType:     mediaTypeManifest,
		Config:        ociDescriptor{MediaType: mediaTypeConfig, Digest: im.configDigest, Size: int64(len(im.config))},
		Layers:        []ociDescriptor{{MediaType: mediaTypeLayer, Digest: im.layerDigest, Size: int64(len(im.layer))}},
	})
	im.manifest = m
	return im, err
}

func catalogRepo(i int) string { return fmt.Sprintf("bench/cat/r%05d", i) }

// Prepare seeds the template bucket through the seeder's API.
func (s *s3Catalog) Prepare(ctx context.Context) error {
	if err := s.env.start(ctx); err != nil {
		return err
	}
	if s.seedDir != "" {
		return nil
	}
	im, err := newCatalogImage()
	if err != nil {
		return err
	}
	st, dir, err := s.env.bucket("catalog-seed")
	if err != nil {
		return err
	}
	srv, err := s.seeder.Start(ctx, st, s.scratch)
	if err != nil {
		return err
	}
	defer srv.Stop()
	c := newClient()
	defer c.CloseIdleConnections()
	reg, err := newRegClient(c, srv.URL)
	if err != nil {
		return err
	}
	start := time.Now()
	first := catalogRepo(0)
	for _, b := range []struct {
		digest string
		data   []byte
	}{{im.layerDigest, im.layer}, {im.configDigest, im.config}} {
		if err := reg.pushWhole(ctx, first, b.digest, b.data); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
	}
	err = parallel(ctx, s.repos, s.conc, func(ctx context.Context, i int) error {
		repo := catalogRepo(i)
		if i > 0 {
			for _, d := range []string{im.layerDigest, im.configDigest} {
				if err := reg.mountBlob(ctx, repo, first, d); err != nil {
					return err
				}
			}
		}
		return reg.putManifest(ctx, repo, "v1", mediaTypeManifest, im.manifest)
	})
	if err != nil {
		return fmt.Errorf("seed: %w\n%s", err, srv.Logs())
	}
	s.seedTime = time.Since(start)
	s.seedDir = dir
	fmt.Fprintf(os.Stderr, "%s\n", s.Note())
	return nil
}

// Note describes the seeding for the report.
func (s *s3Catalog) Note() string {
	return fmt.Sprintf("s3-catalog: %d repositories seeded through %s's API at concurrency %d in %.1f s (%.0f repos/s), then copied into each measurement's bucket",
		s.repos, s.seeder.Name(), s.conc, s.seedTime.Seconds(), float64(s.repos)/s.seedTime.Seconds())
}

// Storage implements storager: a fresh bucket holding a copy of the seeded tree.
func (s *s3Catalog) Storage() StorageFactory {
	return func(ctx context.Context, _ string) (Storage, func() error, error) {
		st, dir, err := s.env.bucket("catalog")
		if err != nil {
			return nil, nil, err
		}
		cleanup := func() error { return os.RemoveAll(dir) }
		if out, err := exec.CommandContext(ctx, "cp", "-a", s.seedDir+"/.", dir+"/").CombinedOutput(); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("copy seeded bucket: %w: %s", err, strings.TrimSpace(string(out)))
		}
		if err := s.warm(ctx, st); err != nil {
			cleanup()
			return nil, nil, err
		}
		s.mu.Lock()
		s.last = st
		s.mu.Unlock()
		return st, cleanup, nil
	}
}

// warm lists the whole catalog of st once through a throwaway server of each contender's kind,
// before the measured server starts. The first listing of a freshly copied bucket is several
// times slower than later ones on versitygw's posix backend (kernel caches that reading the
// tree's directories and xattrs directly does not fill), and Berth (one listing per directory)
// and Distribution (flat listings of every key) touch the tree differently; after a pass of
// each, "first request after start" measures the registry, not the copy. Listing writes nothing.
func (s *s3Catalog) warm(ctx context.Context, st Storage) error {
	for _, side := range s.sides {
		srv, err := side.kind.Start(ctx, st, s.scratch)
		if err != nil {
			return fmt.Errorf("warm: %w", err)
		}
		c := newClient()
		reg, err := newRegClient(c, srv.URL)
		var d time.Duration
		if err == nil {
			d, err = s.full(ctx, reg)
		}
		if err == nil {
			// Berth builds its repository index on a bucket's first catalog request; this is
			// where that one-time cost shows (the measured server then finds the index).
			fmt.Fprintf(os.Stderr, "s3-catalog warm pass: %s, whole catalog %.0f ms\n", side.kind.Name(), ms(d))
		}
		c.CloseIdleConnections()
		srv.Stop()
		if err != nil {
			return fmt.Errorf("warm with %s: %w", side.kind.Name(), err)
		}
	}
	return nil
}

// Run times one GET ?n=100 as the registry's first request, restarts the registry on the same
// bucket, times the whole catalog in pages of 1000 as its first request, then repeats both (the
// median of the repeats is the warm figure).
func (s *s3Catalog) Run(ctx context.Context, t *target) (map[string]float64, error) {
	vals := map[string]float64{}
	d, err := s.page(ctx, t.reg)
	if err != nil {
		return nil, err
	}
	vals["s3-cat-page-cold"] = ms(d)

	t.srv.Stop()
	s.mu.Lock()
	st := s.last
	s.mu.Unlock()
	srv, err := t.kind.Start(ctx, st, s.scratch)
	if err != nil {
		return nil, fmt.Errorf("restart: %w", err)
	}
	defer srv.Stop()
	reg, err := newRegClient(t.reg.http, srv.URL)
	if err != nil {
		return nil, err
	}
	if d, err = s.full(ctx, reg); err != nil {
		return nil, err
	}
	vals["s3-cat-full-cold"] = ms(d)
	var fulls, pages []float64
	for range 3 {
		if d, err = s.full(ctx, reg); err != nil {
			return nil, err
		}
		fulls = append(fulls, ms(d))
	}
	for range 5 {
		if d, err = s.page(ctx, reg); err != nil {
			return nil, err
		}
		pages = append(pages, ms(d))
	}
	vals["s3-cat-full-warm"] = median(fulls)
	vals["s3-cat-page-warm"] = median(pages)
	return vals, nil
}

// page times GET /v2/_catalog?n=100 and checks it names the first 100 repositories.
func (s *s3Catalog) page(ctx context.Context, reg *regClient) (time.Duration, error) {
	start := time.Now()
	names, _, err := reg.catalog(ctx, reg.base.JoinPath("v2", "_catalog").String()+"?n=100")
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if want := min(100, s.repos); len(names) != want || names[0] != catalogRepo(0) {
		return 0, fmt.Errorf("catalog n=100: %d names starting %q, want %d starting %q", len(names), first(names), want, catalogRepo(0))
	}
	return d, nil
}

// full times the whole catalog in pages of 1000, following Link headers, and checks every
// seeded repository is named once, in order.
func (s *s3Catalog) full(ctx context.Context, reg *regClient) (time.Duration, error) {
	start := time.Now()
	var all []string
	u := reg.base.JoinPath("v2", "_catalog").String() + "?n=1000"
	for u != "" {
		names, next, err := reg.catalog(ctx, u)
		if err != nil {
			return 0, err
		}
		all = append(all, names...)
		u = next
		if len(all) > 2*s.repos+1000 {
			return 0, fmt.Errorf("catalog: more than %d names; pagination loops?", len(all))
		}
	}
	d := time.Since(start)
	if len(all) != s.repos || !slices.IsSorted(all) || all[0] != catalogRepo(0) || all[len(all)-1] != catalogRepo(s.repos-1) {
		return 0, fmt.Errorf("catalog: %d names (%q ... ), want %d from %q to %q in order", len(all), first(all), s.repos, catalogRepo(0), catalogRepo(s.repos-1))
	}
	return d, nil
}

func first(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Contenders implements comparer.
func (s *s3Catalog) Contenders() [2]contender { return s.sides }

// Comparison implements comparer.
func (s *s3Catalog) Comparison() string { return s3Comparison }

// Close stops the shared S3 server (idempotent).
func (s *s3Catalog) Close() error { return s.env.Close() }

// catalog GETs one catalog page at u and returns its names and the absolute URL of the next
// page ("" when the response has no Link rel="next").
func (c *regClient) catalog(ctx context.Context, u string) ([]string, string, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.do(req, http.StatusOK)
	if err != nil {
		return nil, "", err
	}
	defer drain(resp)
	var body struct {
		Repositories []string `json:"repositories"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", u, err)
	}
	next, err := nextLink(resp)
	return body.Repositories, next, err
}

// nextLink resolves a response's `Link: <...>; rel="next"` against its request URL.
func nextLink(resp *http.Response) (string, error) {
	for _, h := range resp.Header.Values("Link") {
		for part := range strings.SplitSeq(h, ",") {
			ref, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
				continue
			}
			ref = strings.Trim(strings.TrimSpace(ref), "<>")
			u, err := resp.Request.URL.Parse(ref)
			if err != nil {
				return "", fmt.Errorf("link header %q: %w", h, err)
			}
			return u.String(), nil
		}
	}
	return "", nil
}

// mountBlob mounts digest from repository from into repo (POST ?mount=&from=) and expects 201.
func (c *regClient) mountBlob(ctx context.Context, repo, from, digest string) error {
	u := c.base.JoinPath("v2", repo, "blobs", "uploads")
	q := url.Values{"mount": {digest}, "from": {from}}
	req, err := c.newRequest(ctx, http.MethodPost, u.String()+"/?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}
