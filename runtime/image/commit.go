package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/berthhq/berth/storage/layout"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// CommitOptions describe the image Commit writes.
type CommitOptions struct {
	Message string   // history comment
	Author  string   // config author and history author
	Cmd     []string // replaces the base config's Cmd when not nil
	// Ref names the new image. The store keeps no unnamed images: without
	// a name the blobs are written but nothing lists them, and the next
	// prune or GC removes them.
	Ref string
	// Created is the new config's and history entry's time; now when zero.
	Created time.Time
	// Snapshots, when set, also receives the new layer, unpacked under
	// its chain ID on top of the base's (which must be there), so the
	// committed image runs without being pulled.
	Snapshots *snapshot.Store
}

// CommitResult says what Commit wrote.
type CommitResult struct {
	Manifest ocispec.Descriptor // the new image manifest
	ID       digest.Digest      // the new config's digest, the image ID
	Layer    ocispec.Descriptor // the new gzip layer
	DiffID   digest.Digest      // the digest of the uncompressed layer
	ChainID  digest.Digest      // the new top chain ID
}

// Commit writes a new image: the image base (a name or ID prefix; an
// index stands for its host-platform manifest) plus one layer, read from
// layerTar (an uncompressed OCI layer tar, see runtime/archive.Diff).
// The layer is gzipped while both streams are hashed; the new config is
// the base's (fields this package does not know are kept) with the diff
// ID appended, a history entry {created, created_by "ctl commit", author,
// comment}, and Cmd replaced when opts.Cmd is set. The manifest keeps the
// base's media types (docker or OCI). Blobs are written before the
// manifest and the name last. layerTar is read to its end, not closed.
func (s *Service) Commit(ctx context.Context, base string, layerTar io.Reader, opts CommitOptions) (CommitResult, error) {
	var res CommitResult
	var t target
	if opts.Ref != "" {
		var err error
		if t, err = parseTarget(opts.Ref); err != nil {
			return res, err
		}
	}
	release, err := s.store.Lease(ctx)
	if err != nil {
		return res, err
	}
	defer release()
	desc, _, _, err := s.lookup(ctx, base)
	if err != nil {
		return res, fmt.Errorf("commit: base %s: %w", base, err)
	}
	n, err := s.platformManifest(ctx, desc)
	if err != nil {
		return res, fmt.Errorf("commit: base %s: %w", base, err)
	}
	m, cfg, raw, err := s.config(ctx, n)
	if err != nil {
		return res, fmt.Errorf("commit: base %s: %w", base, err)
	}
	docker := n.desc.MediaType == layout.MediaTypeDockerManifest
	res.Layer, res.DiffID, err = s.writeLayer(ctx, layerTar, docker)
	if err != nil {
		return res, fmt.Errorf("commit: layer: %w", err)
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Now().UTC()
	}
	body, err := commitConfig(raw, cfg, res.DiffID, created, opts)
	if err != nil {
		return res, fmt.Errorf("commit: config: %w", err)
	}
	cfgDesc := ocispec.Descriptor{MediaType: m.Config.MediaType, Digest: digest.FromBytes(body), Size: int64(len(body))}
	if err := s.store.Put(ctx, cfgDesc, bytes.NewReader(body)); err != nil {
		return res, fmt.Errorf("commit: config: %w", err)
	}
	res.ID = cfgDesc.Digest
	nm := m
	nm.Config = cfgDesc
	nm.Layers = append(append([]ocispec.Descriptor{}, m.Layers...), res.Layer)
	nm.MediaType = n.desc.MediaType
	nm.Annotations, nm.Subject = nil, nil
	mb, err := json.Marshal(nm)
	if err != nil {
		return res, err
	}
	res.Manifest = ocispec.Descriptor{MediaType: n.desc.MediaType, Digest: digest.FromBytes(mb), Size: int64(len(mb)), Platform: n.desc.Platform}
	if err := s.store.Put(ctx, res.Manifest, bytes.NewReader(mb)); err != nil {
		return res, fmt.Errorf("commit: manifest: %w", err)
	}
	chain := snapshot.ChainIDs(append(append([]digest.Digest{}, cfg.RootFS.DiffIDs...), res.DiffID))
	res.ChainID = chain[len(chain)-1]
	if opts.Snapshots != nil {
		var parent digest.Digest
		if len(chain) > 1 {
			parent = chain[len(chain)-2]
		}
		open := func() (io.ReadCloser, error) { return s.store.Open(ctx, res.Layer.Digest) }
		if err := s.unpackLayer(ctx, opts.Snapshots, res.Layer, res.DiffID, res.ChainID, parent, open); err != nil {
			return res, fmt.Errorf("commit: %w", err)
		}
	}
	if opts.Ref != "" {
		if err := s.store.Tag(ctx, t.String(), tagDescriptor(res.Manifest)); err != nil {
			return res, fmt.Errorf("commit: tag %s: %w", opts.Ref, err)
		}
	}
	return res, nil
}

// writeLayer gzips tarStream into a new blob, returning its descriptor
// and the digest of the uncompressed stream.
func (s *Service) writeLayer(ctx context.Context, tarStream io.Reader, docker bool) (ocispec.Descriptor, digest.Digest, error) {
	diffID := digest.SHA256.Digester()
	pr, pw := io.Pipe()
	go func() {
		zw := gzip.NewWriter(pw)
		_, err := io.Copy(zw, io.TeeReader(tarStream, diffID.Hash()))
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
		pw.CloseWithError(err)
	}()
	desc, err := s.store.WriteBlob(ctx, pr)
	pr.CloseWithError(fmt.Errorf("layer write stopped"))
	if err != nil {
		return desc, "", err
	}
	desc.MediaType = ocispec.MediaTypeImageLayerGzip
	if docker {
		desc.MediaType = dockerLayer
	}
	return desc, diffID.Digest(), nil
}

// commitConfig returns the base config raw with the new layer's diff ID,
// a history entry and the options applied; unknown fields are kept.
func commitConfig(raw []byte, cfg ocispec.Image, diffID digest.Digest, created time.Time, opts CommitOptions) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	rootfs := cfg.RootFS
	if rootfs.Type == "" {
		rootfs.Type = "layers"
	}
	rootfs.DiffIDs = append(append([]digest.Digest{}, rootfs.DiffIDs...), diffID)
	history := append(append([]ocispec.History{}, cfg.History...), ocispec.History{
		Created: &created, CreatedBy: "ctl commit", Author: opts.Author, Comment: opts.Message,
	})
	set := map[string]any{"rootfs": rootfs, "history": history, "created": created}
	if opts.Author != "" {
		set["author"] = opts.Author
	}
	if opts.Cmd != nil {
		var c map[string]json.RawMessage
		if len(doc["config"]) > 0 {
			if err := json.Unmarshal(doc["config"], &c); err != nil {
				return nil, err
			}
		}
		if c == nil {
			c = map[string]json.RawMessage{}
		}
		cmd, err := json.Marshal(opts.Cmd)
		if err != nil {
			return nil, err
		}
		c["Cmd"] = cmd
		set["config"] = c
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		doc[k] = b
	}
	return json.Marshal(doc)
}
