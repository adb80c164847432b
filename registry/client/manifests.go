package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Docker's manifest media types, which registries still serve.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

// acceptManifests is the Accept header of manifest requests: OCI and
// docker images and indexes.
const acceptManifests = ocispec.MediaTypeImageManifest + ", " + ocispec.MediaTypeImageIndex + ", " +
	MediaTypeDockerManifest + ", " + MediaTypeDockerManifestList

// MaxManifestSize bounds the manifests GetManifest reads and PutManifest
// sends, as registry:2 does.
const MaxManifestSize = 4 << 20

// HeadManifest returns the descriptor of repo's manifest ref (a tag or a
// digest) without fetching it: media type, digest (from
// Docker-Content-Digest, or ref itself when it is a digest; empty when the
// registry sends neither) and size (-1 when unknown). A missing manifest
// matches ErrNotFound.
func (c *Client) HeadManifest(ctx context.Context, repo, ref string) (ocispec.Descriptor, error) {
	p, err := manifestPath(repo, ref)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	resp, err := c.do(ctx, http.MethodHead, c.url(p, nil), nil,
		http.Header{"Accept": {acceptManifests}}, http.StatusOK)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("head manifest %s: %w", refString(repo, ref), err)
	}
	discard(resp)
	d := ocispec.Descriptor{MediaType: contentType(resp.Header), Size: resp.ContentLength}
	if h := resp.Header.Get("Docker-Content-Digest"); h != "" {
		if d.Digest, err = digest.Parse(h); err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("head manifest %s: bad Docker-Content-Digest %q", refString(repo, ref), h)
		}
	}
	if want, err := digest.Parse(ref); err == nil {
		if d.Digest != "" && d.Digest != want {
			return ocispec.Descriptor{}, fmt.Errorf("head manifest %s: registry answered for %s: %w", refString(repo, ref), d.Digest, ErrDigestMismatch)
		}
		d.Digest = want
	}
	return d, nil
}

// GetManifest fetches repo's manifest ref (a tag or a digest) and returns
// its media type, digest and bytes. The bytes are checked against ref when
// it is a digest, else against the Docker-Content-Digest header when the
// registry sends one; a mismatch wraps ErrDigestMismatch. Manifests larger
// than MaxManifestSize are refused. A missing manifest matches ErrNotFound.
func (c *Client) GetManifest(ctx context.Context, repo, ref string) (mediaType string, dgst digest.Digest, body []byte, err error) {
	p, err := manifestPath(repo, ref)
	if err != nil {
		return "", "", nil, err
	}
	fail := func(err error) (string, digest.Digest, []byte, error) {
		return "", "", nil, fmt.Errorf("get manifest %s: %w", refString(repo, ref), err)
	}
	resp, err := c.do(ctx, http.MethodGet, c.url(p, nil), nil,
		http.Header{"Accept": {acceptManifests}}, http.StatusOK)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
	if err != nil {
		return fail(err)
	}
	if len(body) > MaxManifestSize {
		return fail(fmt.Errorf("manifest larger than %d bytes", MaxManifestSize))
	}
	want, err := digest.Parse(ref)
	if err != nil { // a tag: trust the header, if any, no further than the bytes
		want, _ = digest.Parse(resp.Header.Get("Docker-Content-Digest"))
	}
	if want == "" {
		dgst = digest.FromBytes(body)
	} else if want.Algorithm().Available() && want.Algorithm().FromBytes(body) == want {
		dgst = want
	} else {
		return fail(fmt.Errorf("content does not match %s: %w", want, ErrDigestMismatch))
	}
	mediaType = contentType(resp.Header)
	if mediaType == "" || mediaType == "application/json" || mediaType == "application/octet-stream" {
		var m struct {
			MediaType string `json:"mediaType"`
		}
		if json.Unmarshal(body, &m) == nil && m.MediaType != "" {
			mediaType = m.MediaType
		}
	}
	return mediaType, dgst, body, nil
}

// PutManifest uploads body as repo's manifest ref (a tag, or the
// manifest's own digest) with the given media type and returns its digest.
// A ref digest that body does not hash to, or a registry that reports
// another digest, wraps ErrDigestMismatch.
func (c *Client) PutManifest(ctx context.Context, repo, ref, mediaType string, body []byte) (digest.Digest, error) {
	p, err := manifestPath(repo, ref)
	if err != nil {
		return "", err
	}
	fail := func(err error) (digest.Digest, error) {
		return "", fmt.Errorf("put manifest %s: %w", refString(repo, ref), err)
	}
	if len(body) > MaxManifestSize {
		return fail(fmt.Errorf("manifest larger than %d bytes", MaxManifestSize))
	}
	if mediaType == "" {
		return fail(fmt.Errorf("no media type"))
	}
	dgst := digest.FromBytes(body)
	if want, err := digest.Parse(ref); err == nil {
		if !want.Algorithm().Available() || want.Algorithm().FromBytes(body) != want {
			return fail(fmt.Errorf("content does not match %s: %w", want, ErrDigestMismatch))
		}
		dgst = want
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.url(p, nil), bytes.NewReader(body))
	if err != nil {
		return fail(err)
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := c.send(req, http.StatusCreated, http.StatusOK)
	if err != nil {
		return fail(err)
	}
	discard(resp)
	if got, err := digest.Parse(resp.Header.Get("Docker-Content-Digest")); err == nil &&
		got.Algorithm() == dgst.Algorithm() && got != dgst {
		return fail(fmt.Errorf("registry stored %s, content is %s: %w", got, dgst, ErrDigestMismatch))
	}
	return dgst, nil
}

// DeleteManifest deletes repo's manifest ref: by digest everywhere, by tag
// (the tag only) where the registry allows it. A missing manifest matches
// ErrNotFound; a registry with deletes disabled answers UNSUPPORTED.
func (c *Client) DeleteManifest(ctx context.Context, repo, ref string) error {
	p, err := manifestPath(repo, ref)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodDelete, c.url(p, nil), nil, nil,
		http.StatusAccepted, http.StatusOK, http.StatusNoContent)
	if err != nil {
		return fmt.Errorf("delete manifest %s: %w", refString(repo, ref), err)
	}
	discard(resp)
	return nil
}

func manifestPath(repo, ref string) (string, error) {
	p, err := repoPath(repo)
	if err != nil {
		return "", err
	}
	if err := checkRef(ref); err != nil {
		return "", err
	}
	return p + "manifests/" + ref, nil
}

// contentType returns the media type of h's Content-Type, without
// parameters.
func contentType(h http.Header) string {
	ct := h.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		return mt
	}
	return strings.TrimSpace(ct)
}
