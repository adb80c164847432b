package main

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// mediaTypeGzipLayer is a gzip-compressed tar layer, as real images have.
const mediaTypeGzipLayer = "application/vnd.oci.image.layer.v1.tar+gzip"

// Where the runtime scenarios put their images in a registry.
const (
	rtPullRepo  = "bench/rt-pull"
	rtProbeRepo = "bench/rt-probe"
	rtTag       = "v1"
)

// gzImage is an image of gzip-compressed tar layers kept as files on disk, with its config and
// OCI manifest.
type gzImage struct {
	label          string
	layers         []gzLayer
	config         []byte
	manifest       []byte
	configDigest   string
	manifestDigest string
}

// gzLayer is one layer file of a gzImage.
type gzLayer struct {
	path   string
	size   int64  // compressed
	digest string // of the compressed blob
	diffID string // of the tar
}

// countWriter counts what passes through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// writeGzLayer writes gzip(tar) to path, the tar's entries written by fill, and hashes both.
func writeGzLayer(path string, level int, fill func(tw *tar.Writer) error) (l gzLayer, err error) {
	f, err := os.Create(path)
	if err != nil {
		return l, err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	zh, th := sha256.New(), sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, zh)}
	zw, err := gzip.NewWriterLevel(cw, level)
	if err != nil {
		return l, err
	}
	tw := tar.NewWriter(io.MultiWriter(zw, th))
	if err := fill(tw); err != nil {
		return l, err
	}
	if err := tw.Close(); err != nil {
		return l, err
	}
	if err := zw.Close(); err != nil {
		return l, err
	}
	return gzLayer{path: path, size: cw.n, digest: digestOf(zh), diffID: digestOf(th)}, nil
}

// finish writes the config (with cmd, if any) and manifest of m's layers.
func (m *gzImage) finish(cmd []string) error {
	diffIDs := make([]string, len(m.layers))
	descs := make([]ociDescriptor, len(m.layers))
	for i, l := range m.layers {
		diffIDs[i] = l.diffID
		descs[i] = ociDescriptor{MediaType: mediaTypeGzipLayer, Digest: l.digest, Size: l.size}
	}
	c := map[string]any{"Env": []string{"PATH=/"}}
	if cmd != nil {
		c["Cmd"] = cmd
	}
	cfg, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux", "config": c,
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	if err != nil {
		return err
	}
	m.config, m.configDigest = cfg, sha256Digest(cfg)
	man, err := json.Marshal(ociManifest{
		SchemaVersion: 2, MediaType: mediaTypeManifest,
		Config: ociDescriptor{MediaType: mediaTypeConfig, Digest: m.configDigest, Size: int64(len(cfg))},
		Layers: descs,
	})
	if err != nil {
		return err
	}
	m.manifest, m.manifestDigest = man, sha256Digest(man)
	return nil
}

// Bytes is what a pull moves: compressed layers, config and manifest.
func (m *gzImage) Bytes() int64 {
	n := int64(len(m.config) + len(m.manifest))
	for _, l := range m.layers {
		n += l.size
	}
	return n
}

// Seed pushes the image to repo:tag through reg.
func (m *gzImage) Seed(ctx context.Context, reg *regClient, repo string) error {
	for _, l := range m.layers {
		f, err := os.Open(l.path)
		if err != nil {
			return err
		}
		err = reg.pushStream(ctx, repo, l.digest, f)
		f.Close()
		if err != nil {
			return fmt.Errorf("seed layer %s: %w", l.digest, err)
		}
	}
	if err := reg.pushWhole(ctx, repo, m.configDigest, m.config); err != nil {
		return fmt.Errorf("seed config: %w", err)
	}
	if err := reg.putManifest(ctx, repo, rtTag, mediaTypeManifest, m.manifest); err != nil {
		return fmt.Errorf("seed manifest: %w", err)
	}
	return nil
}

// rtFileSize is the size of each file in the pull image's layers.
const rtFileSize = 8 << 20

// newPullImage generates, under dir, an image of count gzip tar layers sharing size bytes of
// files (8 MiB each, fewer if the layer is smaller). The content is the generated pattern mapped
// onto 16 letters: four bits of entropy per byte, so gzip halves it and inflating it is real
// Huffman decoding, where incompressible content would be stored blocks that cost a memcpy.
// Layers are compressed in parallel at gzip.BestSpeed, to keep generation short.
func newPullImage(pat *pattern, dir string, size int64, count int) (*gzImage, error) {
	m := &gzImage{label: fmt.Sprintf("%s image (%d gzip layers)", sizeLabel(size), count), layers: make([]gzLayer, count)}
	per := size / int64(count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i := range count {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			m.layers[i], errs[i] = writeGzLayer(filepath.Join(dir, fmt.Sprintf("layer%d.tar.gz", i)), gzip.BestSpeed, func(tw *tar.Writer) error {
				buf := make([]byte, min(per, rtFileSize))
				for j, left := 0, per; left > 0; j++ {
					n := min(left, int64(len(buf)))
					pat.Fill(uint64(9000+i*10000+j), buf[:n])
					for k := range buf[:n] {
						buf[k] = 'a' + buf[k]&15
					}
					hdr := &tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("l%d/f%d.bin", i, j), Mode: 0o644,
						Size: n, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
					if err := tw.WriteHeader(hdr); err != nil {
						return err
					}
					if _, err := tw.Write(buf[:n]); err != nil {
						return err
					}
					left -= n
				}
				return nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, m.finish(nil)
}

// newProbeImage builds runtime/container's probe (static, CGO_ENABLED=0) and makes under dir an
// image of one layer holding it as /probe.
func newProbeImage(ctx context.Context, dir string) (*gzImage, error) {
	bin := filepath.Join(dir, "probe")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./runtime/container/testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the probe: %w\n%s", err, out)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	l, err := writeGzLayer(filepath.Join(dir, "probe.tar.gz"), gzip.DefaultCompression, func(tw *tar.Writer) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "probe", Mode: 0o755, Size: int64(len(data)), ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	})
	if err != nil {
		return nil, err
	}
	m := &gzImage{label: "probe image", layers: []gzLayer{l}}
	return m, m.finish([]string{"/probe", "0"})
}
