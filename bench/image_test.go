package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
)

// TestTestImage checks the generated image: each layer is a tar of one file, of the size and
// digest the manifest gives, and the config lists the layers' diff IDs.
func TestTestImage(t *testing.T) {
	img := newTestImage(newPattern(1), 5*8192+100, 5)
	if err := img.Prepare(); err != nil {
		t.Fatal(err)
	}
	var m ociManifest
	if err := json.Unmarshal(img.manifest, &m); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(img.config, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 5 || len(cfg.RootFS.DiffIDs) != 5 || m.Config.Digest != img.configDigest {
		t.Fatalf("manifest %s, config %s", img.manifest, img.config)
	}
	total := int64(len(img.config) + len(img.manifest))
	for i, l := range img.layers {
		b, err := io.ReadAll(img.layerReader(l))
		if err != nil {
			t.Fatal(err)
		}
		total += int64(len(b))
		if d := m.Layers[i]; int64(len(b)) != d.Size || sha256Digest(b) != d.Digest || d.Digest != cfg.RootFS.DiffIDs[i] {
			t.Errorf("layer %d: %d bytes, descriptor %+v, diff ID %s", i, len(b), d, cfg.RootFS.DiffIDs[i])
		}
		tr := tar.NewReader(bytes.NewReader(b))
		hdr, err := tr.Next()
		if err != nil {
			t.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, tr); err != nil || n != hdr.Size || n != l.file {
			t.Errorf("layer %d: file of %d bytes (header %d, want %d): %v", i, n, hdr.Size, l.file, err)
		}
		if _, err := tr.Next(); !errors.Is(err, io.EOF) {
			t.Errorf("layer %d: after the file: %v, want the end of the archive", i, err)
		}
	}
	if total != img.Bytes() {
		t.Errorf("Bytes() = %d, layers, config and manifest are %d", img.Bytes(), total)
	}
}
