package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// OCI media types used by the small image.
const (
	mediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	mediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// acceptManifests is the Accept header docker and containerd send when resolving a tag.
var acceptManifests = strings.Join([]string{
	mediaTypeManifest,
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// headStorm pushes a small image (config, one layer, an OCI manifest under a tag) and then sends
// HEAD /v2/<name>/manifests/<tag> from conc goroutines for dur, after a short warm-up that is not
// counted. Every response must be 200 with the manifest's digest.
type headStorm struct {
	pat  *pattern
	conc int
	dur  time.Duration

	layer, config, manifest []byte
	layerDigest             string
	configDigest            string
	manifestDigest          string
}

const (
	headRepo = "bench/head"
	headTag  = "v1"
)

func (s *headStorm) Name() string { return "manifest-head" }

func (s *headStorm) warmsItself() {}

func (s *headStorm) Metrics() []metric {
	return []metric{{
		key:   "head",
		label: fmt.Sprintf("manifest HEAD by tag, c=%d, %s", s.conc, s.dur),
		unit:  "req/s",
		goal:  goal{goalRatioAtLeast, 2},
	}}
}

// ociDescriptor and ociManifest are the parts of the OCI image manifest the image needs.
type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type ociManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        ociDescriptor   `json:"config"`
	Layers        []ociDescriptor `json:"layers"`
}

func (s *headStorm) Prepare(context.Context) error {
	s.layer = make([]byte, 32<<10)
	s.pat.Fill(2, s.layer)
	s.layerDigest = sha256Digest(s.layer)
	s.config = fmt.Appendf(nil, `{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}`, s.layerDigest)
	s.configDigest = sha256Digest(s.config)
	m, err := json.Marshal(ociManifest{
		SchemaVersion: 2,
		MediaType:     mediaTypeManifest,
		Config:        ociDescriptor{MediaType: mediaTypeConfig, Digest: s.configDigest, Size: int64(len(s.config))},
		Layers:        []ociDescriptor{{MediaType: mediaTypeLayer, Digest: s.layerDigest, Size: int64(len(s.layer))}},
	})
	if err != nil {
		return err
	}
	s.manifest = m
	s.manifestDigest = sha256Digest(m)
	return nil
}

func (s *headStorm) Run(ctx context.Context, t *target) (map[string]float64, error) {
	rate, err := s.rate(ctx, t)
	if err != nil {
		return nil, err
	}
	return map[string]float64{"head": rate}, nil
}

// rate pushes the image, warms up and returns the storm's successful HEADs per second. When the
// registry has auth on it logs in as docker does: a push,pull token for the push and a pull token
// for the storm, each fetched once and sent with every request.
func (s *headStorm) rate(ctx context.Context, t *target) (float64, error) {
	push, pull := t.reg, t.reg
	if creds := t.srv.Creds; creds != nil {
		tok, err := t.reg.login(ctx, *creds, "repository:"+headRepo+":pull,push")
		if err != nil {
			return 0, err
		}
		push = t.reg.withToken(tok)
		if tok, err = t.reg.login(ctx, *creds, "repository:"+headRepo+":pull"); err != nil {
			return 0, err
		}
		pull = t.reg.withToken(tok)
	}
	for _, b := range []struct {
		digest string
		data   []byte
	}{{s.layerDigest, s.layer}, {s.configDigest, s.config}} {
		if err := push.pushWhole(ctx, headRepo, b.digest, b.data); err != nil {
			return 0, fmt.Errorf("push image blob: %w", err)
		}
	}
	if err := push.putManifest(ctx, headRepo, headTag, mediaTypeManifest, s.manifest); err != nil {
		return 0, fmt.Errorf("push manifest: %w", err)
	}
	warm := min(time.Second, s.dur/5)
	if _, err := s.storm(ctx, pull, warm); err != nil {
		return 0, fmt.Errorf("warm-up: %w", err)
	}
	start := time.Now()
	n, err := s.storm(ctx, pull, s.dur)
	if err != nil {
		return 0, err
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// storm runs HEAD requests through reg from s.conc goroutines for d and returns how many
// succeeded. The first failure stops the storm and is returned.
func (s *headStorm) storm(ctx context.Context, reg *regClient, d time.Duration) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	u := reg.base.JoinPath("v2", headRepo, "manifests", headTag).String()
	deadline := time.Now().Add(d)
	var done atomic.Int64
	var wg sync.WaitGroup
	for range s.conc {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				got, err := reg.headManifest(ctx, u, acceptManifests)
				if err == nil && got != s.manifestDigest {
					err = fmt.Errorf("HEAD %s: Docker-Content-Digest %q, want %q", u, got, s.manifestDigest)
				}
				if err != nil {
					cancel(err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return done.Load(), context.Cause(ctx)
}

// authHeadStorm is headStorm against Berth with token auth on, compared with Berth with auth off
// rather than with Distribution, whose token auth needs an external token server. It measures
// what checking a reused token costs per request.
type authHeadStorm struct {
	headStorm
	sides [2]contender // Berth with auth on, Berth with auth off
}

// newAuthHeadStorm returns the scenario for Berth's binary at berth.
func newAuthHeadStorm(pat *pattern, conc int, dur time.Duration, berth string) *authHeadStorm {
	return &authHeadStorm{
		headStorm: headStorm{pat: pat, conc: conc, dur: dur},
		sides: [2]contender{
			{NewBerthAuthKind("berth-auth", berth, Credentials{User: "bench", Password: "bench-password"}), berth},
			{NewBerthKind("berth", berth), berth},
		},
	}
}

func (s *authHeadStorm) Name() string { return "manifest-head-auth" }

func (s *authHeadStorm) Metrics() []metric {
	return []metric{{
		key:   "head-auth",
		label: fmt.Sprintf("manifest HEAD by tag, auth on, c=%d, %s", s.conc, s.dur),
		unit:  "req/s",
		goal:  goal{goalRatioWithin, 0.10},
	}}
}

func (s *authHeadStorm) Run(ctx context.Context, t *target) (map[string]float64, error) {
	rate, err := s.rate(ctx, t)
	if err != nil {
		return nil, err
	}
	return map[string]float64{"head-auth": rate}, nil
}

// Contenders implements comparer.
func (s *authHeadStorm) Contenders() [2]contender { return s.sides }

// Comparison implements comparer.
func (s *authHeadStorm) Comparison() string { return "Berth with token auth on vs off" }

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
