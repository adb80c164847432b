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
	"strings"
	"sync"
	"syscall"
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

// dockerDaemon is a private dockerd from scripts/dockerd.sh, with its own data root under dir.
type dockerDaemon struct {
	dir  string
	host string
	env  []string
}

const dockerdScript = "scripts/dockerd.sh"

func startDockerd(ctx context.Context, dir string) (*dockerDaemon, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("the runtime scenarios need root (ctl unpacks and runs as root; the private dockerd needs it)")
	}
	for _, b := range []string{"docker", "dockerd"} {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("%s not on PATH: run scripts/install-tools.sh as root", b)
		}
	}
	d := &dockerDaemon{dir: dir}
	env := append(os.Environ(), "BERTH_DOCKERD_DIR="+dir)
	cmd := exec.CommandContext(ctx, dockerdScript, "start")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		d.stop()
		return nil, fmt.Errorf("%s start: %w", dockerdScript, err)
	}
	d.host = strings.TrimSpace(string(out))
	d.env = append(env, "DOCKER_HOST="+d.host)
	return d, nil
}

// docker runs the docker CLI against the daemon.
func (d *dockerDaemon) docker(ctx context.Context, args ...string) error {
	return runTool(ctx, d.env, "docker", args...)
}

// empty removes every image from the daemon's store.
func (d *dockerDaemon) empty(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "docker", "-H", d.host, "image", "ls", "-aq").Output()
	if err != nil {
		return fmt.Errorf("docker image ls: %w", err)
	}
	if ids := strings.Fields(string(out)); len(ids) > 0 {
		if err := d.docker(ctx, append([]string{"rmi", "-f"}, ids...)...); err != nil {
			return err
		}
	}
	if err := d.docker(ctx, "image", "prune", "-af"); err != nil {
		return err
	}
	out, err = exec.CommandContext(ctx, "docker", "-H", d.host, "image", "ls", "-aq").Output()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		return fmt.Errorf("docker image store not empty after prune: %q %v", out, err)
	}
	return nil
}

// stop stops the daemon and removes its directory.
func (d *dockerDaemon) stop() error {
	cmd := exec.Command(dockerdScript, "stop")
	cmd.Env = append(os.Environ(), "BERTH_DOCKERD_DIR="+d.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		err = fmt.Errorf("%s stop: %w: %s", dockerdScript, err, out)
	}
	return errors.Join(err, os.RemoveAll(d.dir))
}

// runtimeKind is a contender of the runtime scenarios: ctl or docker. Start starts a Berth
// registry (the embedded Kind), which the pull scenario pulls from.
type runtimeKind struct {
	Kind
	name string
}

func (k *runtimeKind) Name() string { return k.name }

// rtBench is what the runtime scenarios share: the tools, the private dockerd and the images.
type rtBench struct {
	pat      *pattern
	berth    Kind
	ctl      string
	dir      string
	size     int64
	count    int
	starts   int // container starts per measurement
	sides    [2]contender
	dockerd  *dockerDaemon
	pullImg  *gzImage
	prepared bool
}

func newRtBench(pat *pattern, berth, ctl, dir string, size int64, count, starts int) *rtBench {
	kind := NewBerthKind("berth", berth)
	return &rtBench{
		pat: pat, berth: kind, ctl: ctl, dir: dir, size: size, count: count, starts: starts,
		sides: [2]contender{
			{&runtimeKind{Kind: kind, name: "ctl"}, ctl},
			{&runtimeKind{Kind: kind, name: "docker"}, "docker"},
		},
	}
}

// Contenders implements comparer.
func (b *rtBench) Contenders() [2]contender { return b.sides }

// Comparison implements comparer.
func (b *rtBench) Comparison() string { return "ctl runtime vs docker" }

// prepare starts the private dockerd and generates the pull image; only the first call does work.
func (b *rtBench) prepare(ctx context.Context) error {
	if b.prepared {
		return nil
	}
	if _, err := findBinary(b.ctl, "build it with `go build -o bin/ctl ./cmd/ctl` (or `make build`)"); err != nil {
		return err
	}
	if _, err := exec.LookPath("podman"); err != nil {
		fmt.Fprintln(os.Stderr, "podman not on PATH: the runtime scenarios measure ctl against docker only")
	}
	if err := os.MkdirAll(filepath.Join(b.dir, "home"), 0o755); err != nil {
		return err
	}
	d, err := startDockerd(ctx, filepath.Join(b.dir, "dockerd"))
	if err != nil {
		return err
	}
	b.dockerd = d
	start := time.Now()
	img, err := newPullImage(b.pat, b.dir, b.size, b.count)
	if err != nil {
		return err
	}
	b.pullImg = img
	fmt.Fprintf(os.Stderr, "generated %s (%.1f MB compressed) in %s\n", img.label, float64(img.Bytes())/1e6, time.Since(start).Round(time.Millisecond))
	b.prepared = true
	return nil
}

// Close stops the private dockerd, if started.
func (b *rtBench) Close() error {
	if b.dockerd == nil {
		return nil
	}
	d := b.dockerd
	b.dockerd = nil
	return d.stop()
}

func (b *rtBench) side(t *target) (string, error) {
	k, ok := t.kind.(*runtimeKind)
	if !ok {
		return "", fmt.Errorf("%s is not a runtime contender", t.kind.Name())
	}
	return k.name, nil
}

func (b *rtBench) ctlEnv() []string { return toolEnv(filepath.Join(b.dir, "home")) }

// rtRef is repo:rtTag at srv.
func rtRef(srv *Server, repo string) string {
	return strings.TrimPrefix(srv.URL, "http://") + "/" + repo + ":" + rtTag
}

// rtPull times a pull that leaves the image ready to run: `ctl --root FRESH pull -q REF` (which
// unpacks, as root) against `docker pull REF` on an emptied image store. Each measurement seeds a
// fresh Berth registry first (untimed, then synced).
type rtPull struct{ *rtBench }

func (s *rtPull) Name() string { return "rt-pull" }

func (s *rtPull) Metrics() []metric {
	label := fmt.Sprintf("%s image (%d gzip layers) pull + unpack", sizeLabel(s.size), s.count)
	return []metric{{key: "rt-pull", label: label, unit: "s", goal: goal{goalRatioAtMost, 0.5}, format: fixed(2)}}
}

func (s *rtPull) Prepare(ctx context.Context) error { return s.prepare(ctx) }

func (s *rtPull) Run(ctx context.Context, t *target) (map[string]float64, error) {
	name, err := s.side(t)
	if err != nil {
		return nil, err
	}
	if err := s.pullImg.Seed(ctx, t.reg, rtPullRepo); err != nil {
		return nil, err
	}
	ref := rtRef(t.srv, rtPullRepo)
	var root string
	if name == "docker" {
		if err := s.dockerd.empty(ctx); err != nil {
			return nil, err
		}
	} else {
		parent, err := os.MkdirTemp(s.dir, "ctl-pull-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(parent)
		root = filepath.Join(parent, "root")
	}
	syscall.Sync()
	start := time.Now()
	if name == "docker" {
		err = s.dockerd.docker(ctx, "pull", "-q", ref)
	} else {
		err = runTool(ctx, s.ctlEnv(), s.ctl, "--root", root, "pull", "-q", ref)
	}
	took := time.Since(start)
	if err != nil {
		return nil, err
	}
	if name == "docker" {
		if err := s.dockerd.empty(ctx); err != nil {
			return nil, err
		}
	}
	return map[string]float64{"rt-pull": took.Seconds()}, nil
}

// rtStart times starting a container that exits at once: `ctl run --rm --network none IMAGE
// /probe 0` against `docker run --rm --network none IMAGE /probe 0`, the image (a static Go
// probe) pulled and unpacked beforehand. One uncounted start, then starts runs; the value is
// their median.
type rtStart struct {
	*rtBench
	ref     string // the probe image, as both tools know it
	ctlRoot string
	saved   string // docker save of it: rt-pull empties docker's store, so Run loads it back
}

func (s *rtStart) Name() string { return "rt-start" }
func (s *rtStart) warmsItself() {}

func (s *rtStart) Metrics() []metric {
	label := fmt.Sprintf("container start (run --rm /probe 0, median of %d)", s.starts)
	return []metric{{key: "rt-start", label: label, unit: "ms", goal: goal{goalRatioAtMost, 0.5}, format: fixed(1)}}
}

// Prepare builds the probe image, seeds a registry of its own with it and has ctl (into a root
// of its own) and docker pull it.
func (s *rtStart) Prepare(ctx context.Context) error {
	if err := s.prepare(ctx); err != nil {
		return err
	}
	img, err := newProbeImage(ctx, s.dir)
	if err != nil {
		return err
	}
	return withSeededRegistry(ctx, s.berth, s.dir,
		func(reg *regClient) error { return img.Seed(ctx, reg, rtProbeRepo) },
		func(srv *Server) error {
			s.ref, s.ctlRoot = rtRef(srv, rtProbeRepo), filepath.Join(s.dir, "ctl-probe-root")
			if err := runTool(ctx, s.ctlEnv(), s.ctl, "--root", s.ctlRoot, "pull", "-q", s.ref); err != nil {
				return err
			}
			if err := s.dockerd.docker(ctx, "pull", "-q", s.ref); err != nil {
				return err
			}
			s.saved = filepath.Join(s.dir, "probe-docker.tar")
			return s.dockerd.docker(ctx, "save", "-o", s.saved, s.ref)
		})
}

func (s *rtStart) Run(ctx context.Context, t *target) (map[string]float64, error) {
	name, err := s.side(t)
	if err != nil {
		return nil, err
	}
	one := func() error {
		if name == "docker" {
			return s.dockerd.docker(ctx, "run", "--rm", "--network", "none", s.ref, "/probe", "0")
		}
		return runTool(ctx, s.ctlEnv(), s.ctl, "--root", s.ctlRoot, "run", "--rm", "--network", "none", s.ref, "/probe", "0")
	}
	if name == "docker" {
		if err := s.dockerd.docker(ctx, "load", "-q", "-i", s.saved); err != nil {
			return nil, err
		}
	}
	if err := one(); err != nil { // uncounted
		return nil, err
	}
	ms := make([]float64, s.starts)
	for i := range ms {
		start := time.Now()
		if err := one(); err != nil {
			return nil, err
		}
		ms[i] = float64(time.Since(start).Microseconds()) / 1000
	}
	return map[string]float64{"rt-start": median(ms)}, nil
}

var (
	_ comparer    = (*rtPull)(nil)
	_ comparer    = (*rtStart)(nil)
	_ selfWarming = (*rtStart)(nil)
)
