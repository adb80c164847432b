package image

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// loadDocker takes the images of docker's older archive format: each
// manifest.json entry names a config file and layer files; a manifest is
// built for it.
func (s *Service) loadDocker(ctx context.Context, a *archive) ([]Loaded, error) {
	var dm []dockerManifest
	if err := json.Unmarshal(a.meta["manifest.json"], &dm); err != nil {
		return nil, fmt.Errorf("%w: manifest.json: %v", ErrInvalidArchive, err)
	}
	var out []Loaded
	for i, e := range dm {
		desc, err := s.dockerImage(ctx, a, e)
		if err != nil {
			return nil, fmt.Errorf("manifest.json entry %d: %w", i, err)
		}
		if len(e.RepoTags) == 0 {
			out = append(out, Loaded{Descriptor: desc})
		}
		for _, rt := range e.RepoTags {
			t, err := parseTarget(rt)
			if err != nil {
				return nil, fmt.Errorf("%w: manifest.json RepoTags %q: %v", ErrInvalidArchive, rt, err)
			}
			out = append(out, Loaded{Name: t.String(), Descriptor: desc})
		}
	}
	return out, nil
}

// dockerImage builds and stores the OCI manifest of one manifest.json
// entry, after checking the config against the name it had in the
// archive and each layer against the config's diff IDs.
func (s *Service) dockerImage(ctx context.Context, a *archive, e dockerManifest) (ocispec.Descriptor, error) {
	cfgDesc, err := a.file(e.Config)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if want, ok := digestOfName(e.Config); ok && want != cfgDesc.Digest {
		return ocispec.Descriptor{}, fmt.Errorf("config %s hashes to %s: %w", e.Config, cfgDesc.Digest, ErrDigestMismatch)
	}
	raw, err := s.store.ReadBlob(ctx, cfgDesc.Digest, maxConfigSize)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	var cfg ocispec.Image
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("%w: config %s: %v", ErrInvalidArchive, e.Config, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(e.Layers) {
		return ocispec.Descriptor{}, fmt.Errorf("%w: %d layers, config has %d diff IDs", ErrInvalidArchive, len(e.Layers), len(cfg.RootFS.DiffIDs))
	}
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, Layers: []ocispec.Descriptor{}}
	m.SchemaVersion = 2
	m.Config = ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cfgDesc.Digest, Size: cfgDesc.Size}
	for i, name := range e.Layers {
		ld, err := a.file(name)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		mt, diffID, err := s.layerDiffID(ctx, ld)
		if err != nil {
			return ocispec.Descriptor{}, fmt.Errorf("layer %s: %w", name, err)
		}
		if diffID != "" && diffID != cfg.RootFS.DiffIDs[i] {
			return ocispec.Descriptor{}, fmt.Errorf("layer %s: content is %s, config says %s: %w", name, diffID, cfg.RootFS.DiffIDs[i], ErrDigestMismatch)
		}
		m.Layers = append(m.Layers, ocispec.Descriptor{MediaType: mt, Digest: ld.Digest, Size: ld.Size})
	}
	body, err := json.Marshal(m)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	desc := ocispec.Descriptor{MediaType: m.MediaType, Digest: digest.FromBytes(body), Size: int64(len(body))}
	return desc, s.store.Put(ctx, desc, bytes.NewReader(body))
}

// layerDiffID returns the media type of stored layer d (by its first
// bytes: gzip, zstd or a plain tar) and the digest of its uncompressed
// content ("" for zstd, which this package does not decompress).
func (s *Service) layerDiffID(ctx context.Context, d ocispec.Descriptor) (string, digest.Digest, error) {
	f, err := s.store.Open(ctx, d.Digest)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", "", fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		dg := digest.SHA256.Digester()
		if _, err := io.Copy(dg.Hash(), zr); err != nil {
			return "", "", fmt.Errorf("%w: decompressing: %v", ErrInvalidArchive, err)
		}
		return ocispec.MediaTypeImageLayerGzip, dg.Digest(), nil
	case bytes.Equal(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return ocispec.MediaTypeImageLayerZstd, "", nil
	}
	return ocispec.MediaTypeImageLayer, d.Digest, nil
}
