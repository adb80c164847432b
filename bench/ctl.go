package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Where the ctl scenarios put the image in a registry.
const (
	imageRepo = "bench/image"
	imageTag  = "v1"
)

// ctlBench is what the ctl scenarios share: the image, generated once per run, and the two tools
// (ctl, judged, and crane), each measured against a fresh Berth registry on fresh storage.
type ctlBench struct {
	img   *testImage
	berth Kind // starts the registries
	sides [2]contender
	dir   string // holds what the tools store, and their empty home

	prepared bool
}

// newCtlBench returns the shared part of the ctl scenarios for Berth's binary berth, ctl's and
// crane's binaries, keeping files under dir (which need not exist yet).
func newCtlBench(img *testImage, berth, ctl, crane, dir string) *ctlBench {
	env := toolEnv(filepath.Join(dir, "home"))
	kind := NewBerthKind("berth", berth)
	return &ctlBench{
		img:   img,
		berth: kind,
		dir:   dir,
		sides: [2]contender{
			{&toolKind{Kind: kind, tool: &ctlTool{bin: ctl, env: env}}, ctl},
			{&toolKind{Kind: kind, tool: &craneTool{bin: crane, env: env}}, crane},
		},
	}
}

// prepare checks the tools are there and generates the image; only the first call does work.
func (b *ctlBench) prepare() error {
	if b.prepared {
		return nil
	}
	for _, s := range b.sides {
		t := s.kind.(*toolKind).tool
		if _, err := findBinary(t.Binary(), t.Hint()); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(b.dir, "home"), 0o755); err != nil {
		return err
	}
	if err := b.img.Prepare(); err != nil {
		return err
	}
	b.prepared = true
	return nil
}

// Contenders implements comparer.
func (b *ctlBench) Contenders() [2]contender { return b.sides }

// Comparison implements comparer.
func (b *ctlBench) Comparison() string { return "ctl vs crane, against Berth" }

// tool returns the tool a measurement is for.
func (b *ctlBench) tool(t *target) (imageTool, error) {
	k, ok := t.kind.(*toolKind)
	if !ok {
		return nil, fmt.Errorf("%s is not an image tool", t.kind.Name())
	}
	return k.tool, nil
}

// imageRef is the image's reference at srv, e.g. "127.0.0.1:40123/bench/image:v1".
func imageRef(srv *Server) string {
	return strings.TrimPrefix(srv.URL, "http://") + "/" + imageRepo + ":" + imageTag
}

// ctlPull seeds the registry with the image (untimed), then has the tool pull it into a directory
// that does not exist yet. It is timed from the tool's start to its exit, and to the end of a
// sync after that, when everything the tool wrote is on disk (ctl fsyncs each blob before
// naming it; crane leaves that to the kernel).
type ctlPull struct{ *ctlBench }

func (s *ctlPull) Name() string { return "ctl-pull" }

func (s *ctlPull) Metrics() []metric {
	return []metric{
		{key: "ctl-pull", label: s.img.Label() + " pull, until on disk", unit: "MB/s", goal: goal{goalRatioAtLeast, 1}},
		{key: "ctl-pull-exit", label: s.img.Label() + " pull, until exit", unit: "MB/s"},
	}
}

func (s *ctlPull) Prepare(context.Context) error { return s.prepare() }

func (s *ctlPull) Run(ctx context.Context, t *target) (map[string]float64, error) {
	tool, err := s.tool(t)
	if err != nil {
		return nil, err
	}
	if err := s.img.Seed(ctx, t.reg, imageRepo, imageTag); err != nil {
		return nil, err
	}
	syscall.Sync() // the seed's writes are not the pull's
	parent, err := os.MkdirTemp(s.dir, tool.Name()+"-pull-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(parent)
	dir := filepath.Join(parent, "out")

	start := time.Now()
	if err := tool.Pull(ctx, imageRef(t.srv), dir); err != nil {
		return nil, err
	}
	exit := time.Since(start)
	syscall.Sync()
	disk := time.Since(start)
	if err := s.checkPulled(tool, dir); err != nil {
		return nil, err
	}
	n := float64(s.img.Bytes())
	return map[string]float64{
		"ctl-pull":      n / disk.Seconds() / 1e6,
		"ctl-pull-exit": n / exit.Seconds() / 1e6,
	}, nil
}

// checkPulled checks that every blob of the image is in dir with its size. Both tools verified
// the digests while downloading.
func (s *ctlPull) checkPulled(tool imageTool, dir string) error {
	want := map[string]int64{s.img.configDigest: int64(len(s.img.config)), s.img.manifestDigest: int64(len(s.img.manifest))}
	for _, l := range s.img.layers {
		want[l.digest] = l.size
	}
	for d, size := range want {
		fi, err := os.Stat(tool.BlobPath(dir, d))
		if err != nil {
			return fmt.Errorf("%s pull: %w", tool.Name(), err)
		}
		if fi.Size() != size {
			return fmt.Errorf("%s pull: %s has %d bytes, want %d", tool.Name(), d, fi.Size(), size)
		}
	}
	return nil
}

// ctlPush has each tool push the image from its own copy on disk, made once in Prepare by a pull
// of the tool's own, to a fresh, empty registry: no blob is there to skip, and since the image
// goes to the repository name it was pulled from, ctl never tries a cross-repository mount. It is
// timed from the push's start to its exit, and the registry must then name the image's manifest.
type ctlPush struct {
	*ctlBench
	staged string            // the reference the copies were pulled as
	stage  map[string]string // tool name -> its copy
}

func (s *ctlPush) Name() string { return "ctl-push" }

func (s *ctlPush) Metrics() []metric {
	return []metric{{key: "ctl-push", label: s.img.Label() + " push", unit: "MB/s", goal: goal{goalRatioAtLeast, 1}}}
}

// Prepare seeds a registry of its own and has each tool pull the image from it into a directory
// that later pushes read.
func (s *ctlPush) Prepare(ctx context.Context) error {
	if err := s.prepare(); err != nil {
		return err
	}
	return withSeededRegistry(ctx, s.berth, s.dir,
		func(reg *regClient) error { return s.img.Seed(ctx, reg, imageRepo, imageTag) },
		func(srv *Server) error {
			s.staged, s.stage = imageRef(srv), map[string]string{}
			for _, side := range s.sides {
				tool := side.kind.(*toolKind).tool
				dir := filepath.Join(s.dir, tool.Name()+"-staged")
				if err := tool.Pull(ctx, s.staged, dir); err != nil {
					return err
				}
				s.stage[tool.Name()] = dir
			}
			return nil
		})
}

func (s *ctlPush) Run(ctx context.Context, t *target) (map[string]float64, error) {
	tool, err := s.tool(t)
	if err != nil {
		return nil, err
	}
	took, err := tool.Push(ctx, s.stage[tool.Name()], s.staged, imageRef(t.srv))
	if err != nil {
		return nil, err
	}
	u := t.reg.base.JoinPath("v2", imageRepo, "manifests", imageTag).String()
	got, err := t.reg.headManifest(ctx, u, acceptManifests)
	if err != nil {
		return nil, fmt.Errorf("%s push: %w", tool.Name(), err)
	}
	if got != s.img.manifestDigest {
		return nil, fmt.Errorf("%s push: registry names %s, want %s", tool.Name(), got, s.img.manifestDigest)
	}
	return map[string]float64{"ctl-push": float64(s.img.Bytes()) / took.Seconds() / 1e6}, nil
}
