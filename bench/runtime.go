package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runtimeKind is a contender of the runtime scenarios: ctl, or the references (docker and podman,
// measured in turn, the faster one counting). Start starts a Berth registry (the embedded Kind),
// which the pull scenario pulls from.
type runtimeKind struct {
	Kind
	name string
}

func (k *runtimeKind) Name() string { return k.name }

// refName is the name of the reference side: docker and podman, the faster of the two.
const refName = "docker/podman"

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
	podman   *podman
	pullImg  *gzImage
	prepared bool
	runs     int // reference measurements so far: docker goes first in even ones, podman in odd
}

func newRtBench(pat *pattern, berth, ctl, dir string, size int64, count, starts int) *rtBench {
	kind := NewBerthKind("berth", berth)
	return &rtBench{
		pat: pat, berth: kind, ctl: ctl, dir: dir, size: size, count: count, starts: starts,
		sides: [2]contender{
			{&runtimeKind{Kind: kind, name: "ctl"}, ctl},
			{&runtimeKind{Kind: kind, name: refName}, "docker"},
		},
	}
}

// Contenders implements comparer.
func (b *rtBench) Contenders() [2]contender { return b.sides }

// Comparison implements comparer.
func (b *rtBench) Comparison() string { return "ctl runtime vs docker and podman" }

// prepare starts the private dockerd and generates the pull image; only the first call does work.
func (b *rtBench) prepare(ctx context.Context) error {
	if b.prepared {
		return nil
	}
	if _, err := findBinary(b.ctl, "build it with `go build -o bin/ctl ./cmd/ctl` (or `make build`)"); err != nil {
		return err
	}
	if b.podman = newPodman(ctx); !b.podman.ok() {
		fmt.Fprintln(os.Stderr, b.podman.pullErr+": the runtime scenarios measure ctl against docker only")
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
// unpacks, as root) against both `docker pull REF` on an emptied image store and `podman --root
// FRESH pull REF`, the faster of the two counting. Each measurement seeds a fresh Berth registry
// first (untimed, then synced); the reference side pulls with docker and podman in turn from it.
type rtPull struct{ *rtBench }

func (s *rtPull) Name() string { return "rt-pull" }

func (s *rtPull) Metrics() []metric {
	label := fmt.Sprintf("%s image (%d gzip layers) pull + unpack", sizeLabel(s.size), s.count)
	return []metric{
		{key: "rt-pull", label: label + ", vs the faster", unit: "s", goal: goal{goalRatioAtMost, 0.5}, format: fixed(2)},
		{key: "rt-pull-docker", label: label + ", vs docker", unit: "s", format: fixed(2)},
		{key: "rt-pull-podman", label: label + ", vs podman", unit: "s", format: fixed(2)},
	}
}

func (s *rtPull) Prepare(ctx context.Context) error { return s.prepare(ctx) }

// Note implements noter: how podman ran, or why it did not.
func (s *rtPull) Note() string { return s.podman.Note() }

func (s *rtPull) Run(ctx context.Context, t *target) (map[string]float64, error) {
	name, err := s.side(t)
	if err != nil {
		return nil, err
	}
	if err := s.pullImg.Seed(ctx, t.reg, rtPullRepo); err != nil {
		return nil, err
	}
	ref := rtRef(t.srv, rtPullRepo)
	if name == refName {
		s.runs++
		d, p, best, err := faster(s.runs%2 == 0, s.podman.ok(),
			func() (float64, error) { return s.dockerPull(ctx, ref) },
			func() (float64, error) {
				took, err := s.podman.pull(ctx, s.dir, ref)
				return took.Seconds(), err
			})
		if err != nil {
			return nil, err
		}
		vals := map[string]float64{"rt-pull": best, "rt-pull-docker": d}
		if s.podman.ok() {
			vals["rt-pull-podman"] = p
		}
		return vals, nil
	}
	parent, err := os.MkdirTemp(s.dir, "ctl-pull-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(parent)
	syscall.Sync()
	start := time.Now()
	err = runTool(ctx, s.ctlEnv(), s.ctl, "--root", filepath.Join(parent, "root"), "pull", "-q", ref)
	took := time.Since(start).Seconds()
	if err != nil {
		return nil, err
	}
	return map[string]float64{"rt-pull": took, "rt-pull-docker": took, "rt-pull-podman": took}, nil
}

// dockerPull times `docker pull REF` into an emptied image store, and empties it again.
func (s *rtPull) dockerPull(ctx context.Context, ref string) (float64, error) {
	if err := s.dockerd.empty(ctx); err != nil {
		return 0, err
	}
	syscall.Sync()
	start := time.Now()
	err := s.dockerd.docker(ctx, "pull", "-q", ref)
	took := time.Since(start).Seconds()
	if err != nil {
		return 0, err
	}
	return took, s.dockerd.empty(ctx)
}

// rtStart times starting a container that exits at once: `ctl run --rm --network none IMAGE
// /probe 0` against `docker run --rm --network none IMAGE /probe 0` and the same with podman
// (podmanRunFlags), the faster of the two counting; the image (a static Go probe) is pulled and
// unpacked beforehand. One uncounted start, then starts runs; the value is their median.
type rtStart struct {
	*rtBench
	ref         string // the probe image, as the three tools know it
	ctlRoot     string
	podmanStore *podmanStore // podman's, holding the probe image
	saved       string       // docker save of it: rt-pull empties docker's store, so Run loads it back
}

func (s *rtStart) Name() string { return "rt-start" }
func (s *rtStart) warmsItself() {}

func (s *rtStart) Metrics() []metric {
	label := fmt.Sprintf("container start (run --rm /probe 0, median of %d)", s.starts)
	return []metric{
		{key: "rt-start", label: label + ", vs the faster", unit: "ms", goal: goal{goalRatioAtMost, 0.5}, format: fixed(1)},
		{key: "rt-start-docker", label: label + ", vs docker", unit: "ms", format: fixed(1)},
		{key: "rt-start-podman", label: label + ", vs podman", unit: "ms", format: fixed(1)},
	}
}

// Prepare builds the probe image, seeds a registry of its own with it and has ctl (into a root
// of its own), docker and podman (into a root of its own) pull it.
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
			s.podmanStore = s.podman.prepareRun(ctx, s.dir, s.ref)
			if err := s.dockerd.docker(ctx, "pull", "-q", s.ref); err != nil {
				return err
			}
			s.saved = filepath.Join(s.dir, "probe-docker.tar")
			return s.dockerd.docker(ctx, "save", "-o", s.saved, s.ref)
		})
}

// Close removes podman's store, then does what rtBench.Close does.
func (s *rtStart) Close() error {
	var err error
	if s.podmanStore != nil {
		err = s.podmanStore.remove()
		s.podmanStore = nil
	}
	return errors.Join(err, s.rtBench.Close())
}

// startTimes runs one uncounted start, then s.starts timed ones, and returns their median in ms.
func (s *rtStart) startTimes(one func() error) (float64, error) {
	if err := one(); err != nil { // uncounted
		return 0, err
	}
	ms := make([]float64, s.starts)
	for i := range ms {
		start := time.Now()
		if err := one(); err != nil {
			return 0, err
		}
		ms[i] = float64(time.Since(start).Microseconds()) / 1000
	}
	return median(ms), nil
}

func (s *rtStart) Run(ctx context.Context, t *target) (map[string]float64, error) {
	name, err := s.side(t)
	if err != nil {
		return nil, err
	}
	if name != refName {
		v, err := s.startTimes(func() error {
			return runTool(ctx, s.ctlEnv(), s.ctl, "--root", s.ctlRoot, "run", "--rm", "--network", "none", s.ref, "/probe", "0")
		})
		if err != nil {
			return nil, err
		}
		return map[string]float64{"rt-start": v, "rt-start-docker": v, "rt-start-podman": v}, nil
	}
	if err := s.dockerd.docker(ctx, "load", "-q", "-i", s.saved); err != nil {
		return nil, err
	}
	s.runs++
	withPodman := s.podman.runErr == ""
	d, p, best, err := faster(s.runs%2 == 0, withPodman,
		func() (float64, error) {
			return s.startTimes(func() error {
				return s.dockerd.docker(ctx, "run", "--rm", "--network", "none", s.ref, "/probe", "0")
			})
		},
		func() (float64, error) {
			return s.startTimes(func() error { return s.podman.run(ctx, s.podmanStore, s.ref, "/probe", "0") })
		})
	if err != nil {
		return nil, err
	}
	vals := map[string]float64{"rt-start": best, "rt-start-docker": d}
	if withPodman {
		vals["rt-start-podman"] = p
	}
	return vals, nil
}

var (
	_ noter       = (*rtPull)(nil)
	_ comparer    = (*rtPull)(nil)
	_ comparer    = (*rtStart)(nil)
	_ selfWarming = (*rtStart)(nil)
)
