package main

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"time"
)

// mediaTypeTarLayer is an uncompressed tar layer. The image tools move it as they move a gzipped
// one (neither compresses or decompresses on pull or push), and it costs nothing to generate.
const mediaTypeTarLayer = "application/vnd.oci.image.layer.v1.tar"

// testImage is the image the ctl scenarios move: layers that are uncompressed tars of one file of
// generated content each (incompressible within any compressor's window), a config listing their
// diff IDs and an OCI manifest. Only digests, sizes and the small JSON documents are kept: layer
// bytes are generated again whenever they are needed, so the image costs no disk until a tool
// stores it.
type testImage struct {
	pat    *pattern
	size   int64 // requested total size of the layers
	count  int   // number of layers
	layers []imageLayer

	config, manifest []byte
	configDigest     string
	manifestDigest   string
}

// imageLayer is one layer of a testImage.
type imageLayer struct {
	salt   uint64
	header []byte // the tar header of its one file
	file   int64  // size of that file
	size   int64  // size of the layer blob: header, file, end-of-archive blocks
	digest string
}

// imageSaltBase keeps the layers' content apart from the other scenarios'.
const imageSaltBase = 5000

// tarBlock is tar's block size; tarTrailer is the two zero blocks that end an archive.
const (
	tarBlock   = 512
	tarTrailer = 2 * tarBlock
)

// newTestImage describes an image of count layers sharing size bytes; Prepare computes it.
func newTestImage(pat *pattern, size int64, count int) *testImage {
	return &testImage{pat: pat, size: size, count: count}
}

// Label describes the image for report rows, e.g. "512 MiB image (5 layers)".
func (m *testImage) Label() string {
	return fmt.Sprintf("%s image (%d layers)", sizeLabel(m.size), m.count)
}

// Bytes is what a pull or push of the image moves: layers, config and manifest.
func (m *testImage) Bytes() int64 {
	n := int64(len(m.config) + len(m.manifest))
	for _, l := range m.layers {
		n += l.size
	}
	return n
}

// Prepare builds the layers' headers, hashes their content and writes the config and manifest.
// It is safe to call again; later calls do nothing.
func (m *testImage) Prepare() error {
	if m.manifest != nil {
		return nil
	}
	per := m.size / int64(m.count) / tarBlock * tarBlock
	if per <= tarBlock+tarTrailer {
		return fmt.Errorf("image of %d bytes in %d layers: layers too small", m.size, m.count)
	}
	diffIDs := make([]string, m.count)
	descs := make([]ociDescriptor, m.count)
	for i := range m.count {
		l := imageLayer{salt: uint64(imageSaltBase + i), file: per - tarBlock - tarTrailer, size: per}
		var hdr bytes.Buffer
		tw := tar.NewWriter(&hdr)
		err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: fmt.Sprintf("layer%d.bin", i), Mode: 0o644,
			Size: l.file, ModTime: time.Unix(0, 0), Format: tar.FormatUSTAR,
		})
		if err != nil {
			return err
		}
		l.header = hdr.Bytes() // Flush would pad the file; the reader adds the rest
		if len(l.header) != tarBlock {
			return fmt.Errorf("tar header of %d bytes, want %d", len(l.header), tarBlock)
		}
		h := sha256.New()
		buf := make([]byte, blockSize)
		if _, err := io.CopyBuffer(struct{ io.Writer }{h}, m.layerReader(l), buf); err != nil {
			return err
		}
		l.digest = digestOf(h)
		m.layers = append(m.layers, l)
		diffIDs[i] = l.digest // uncompressed: the diff ID is the digest
		descs[i] = ociDescriptor{MediaType: mediaTypeTarLayer, Digest: l.digest, Size: l.size}
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux",
		"config": map[string]any{},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return err
	}
	m.config, m.configDigest = cfg, sha256Digest(cfg)
	man, err := json.Marshal(ociManifest{
		SchemaVersion: 2,
		MediaType:     mediaTypeManifest,
		Config:        ociDescriptor{MediaType: mediaTypeConfig, Digest: m.configDigest, Size: int64(len(cfg))},
		Layers:        descs,
	})
	if err != nil {
		return err
	}
	m.manifest, m.manifestDigest = man, sha256Digest(man)
	return nil
}

// layerReader streams layer l: its header, its file and the end-of-archive blocks. The file's size
// is a multiple of the block size, so there is no padding.
func (m *testImage) layerReader(l imageLayer) io.Reader {
	return io.MultiReader(bytes.NewReader(l.header), m.pat.Reader(l.salt, l.file),
		bytes.NewReader(make([]byte, tarTrailer)))
}

// Seed pushes the image to repo:tag through reg as the registry scenarios push: each layer
// streamed in one PATCH, the config whole, the manifest last.
func (m *testImage) Seed(ctx context.Context, reg *regClient, repo, tag string) error {
	for _, l := range m.layers {
		if err := reg.pushStream(ctx, repo, l.digest, m.layerReader(l)); err != nil {
			return fmt.Errorf("seed layer %s: %w", l.digest, err)
		}
	}
	if err := reg.pushWhole(ctx, repo, m.configDigest, m.config); err != nil {
		return fmt.Errorf("seed config: %w", err)
	}
	if err := reg.putManifest(ctx, repo, tag, mediaTypeManifest, m.manifest); err != nil {
		return fmt.Errorf("seed manifest: %w", err)
	}
	return nil
}
