package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/berthhq/berth/internal/s3test"
)

// S3Storage is a bucket on an S3-compatible server: every registry under test that gets one
// talks to Endpoint with path-style addressing over plain http and static keys.
type S3Storage struct {
	Endpoint  string // http://127.0.0.1:PORT
	Bucket    string
	Region    string
	AccessKey string
	SecretKey string
}

// Describe implements Storage.
func (s S3Storage) Describe() string { return "s3 " + s.Endpoint + "/" + s.Bucket }

// yaml renders the registry:2 "storage.s3" section, indented under "storage:", with extra (lines
// already indented by four spaces) appended to it. Both registries read these keys the same way.
func (s S3Storage) yaml(extra string) string {
	return fmt.Sprintf(`  s3:
    bucket: %s
    region: %s
    regionendpoint: %s
    accesskey: %s
    secretkey: %s
    forcepathstyle: true
    secure: false
%s`, s.Bucket, s.Region, s.Endpoint, s.AccessKey, s.SecretKey, extra)
}

// s3Env is the run's one S3 server: versitygw over a directory under the run's scratch
// directory (so on the same disk as the filesystem stores), started by the first S3 scenario's
// Prepare and shared by all of them. Each measurement gets a bucket of its own.
type s3Env struct {
	root string // versitygw's posix root: one directory per bucket

	mu     sync.Mutex
	srv    *s3test.Server
	next   int
	closed bool
}

func newS3Env(scratch string) *s3Env { return &s3Env{root: filepath.Join(scratch, "s3")} }

// start starts versitygw unless it runs already.
func (e *s3Env) start(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("s3: server already stopped")
	}
	if e.srv != nil {
		return nil
	}
	// versitygw closes every connection after one request unless told otherwise; S3 keeps them
	// alive, and so must a fair stand-in for it. s3test.Start passes our environment on.
	if err := os.Setenv("VGW_KEEP_ALIVE", "true"); err != nil {
		return err
	}
	srv, err := s3test.Start(e.root)
	if err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	e.srv = srv
	return nil
}

// bucket creates a new, empty bucket named prefix-N and returns its storage and directory.
func (e *s3Env) bucket(prefix string) (S3Storage, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv == nil {
		return S3Storage{}, "", errors.New("s3: server not started")
	}
	e.next++
	name := fmt.Sprintf("%s-%d", prefix, e.next)
	if err := e.srv.CreateBucket(name); err != nil {
		return S3Storage{}, "", err
	}
	st := S3Storage{Endpoint: e.srv.Endpoint, Bucket: name, Region: s3test.Region,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey}
	return st, filepath.Join(e.root, name), nil
}

// newStorage is a StorageFactory: a fresh bucket, removed (its directory) by cleanup.
func (e *s3Env) newStorage(context.Context, string) (Storage, func() error, error) {
	st, dir, err := e.bucket("bench")
	if err != nil {
		return nil, nil, err
	}
	return st, func() error { return os.RemoveAll(dir) }, nil
}

// Close stops versitygw; safe to call more than once.
func (e *s3Env) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	if e.srv == nil {
		return nil
	}
	err := e.srv.Close()
	e.srv = nil
	return err
}

// storager is implemented by scenarios that measure on storage other than a fresh filesystem
// directory; the runner asks it for each measurement's store.
type storager interface {
	Storage() StorageFactory
}

// storageFor returns the StorageFactory sc is measured on.
func storageFor(sc scenario) StorageFactory {
	if s, ok := sc.(storager); ok {
		return s.Storage()
	}
	return NewFilesystemStorage
}

// s3Prefix starts the name of every S3 scenario and the key of every S3 metric; `-run s3` runs
// them all.
const s3Prefix = "s3-"

// s3Comparison titles the table of the S3 scenarios, which the report puts in a section of its
// own (see s3markdown.go).
const s3Comparison = "Berth vs Distribution, both on S3"

// s3Scenario runs one of the filesystem scenarios with both registries on S3: same load, a
// fresh bucket per measurement, metric keys prefixed with s3- and the S3 targets.
type s3Scenario struct {
	inner scenario
	env   *s3Env
	sides [2]contender
	goals map[string]goal // by inner key; the inner goal stands for keys not here
}

// s3Goals are the S3 targets: push at least 2x Distribution, pull 1.3x, manifest HEAD 3x.
var s3Goals = map[string]goal{
	"big-push":   {goalRatioAtLeast, 2},
	"big-pull":   {goalRatioAtLeast, 1.3},
	"small-push": {goalRatioAtLeast, 2},
	"small-pull": {goalRatioAtLeast, 1.3},
	"head":       {goalRatioAtLeast, 3},
}

// newS3Scenario wraps inner; a self-warming inner (the HEAD storm) stays self-warming.
func newS3Scenario(inner scenario, env *s3Env, sides [2]contender) scenario {
	s := &s3Scenario{inner: inner, env: env, sides: sides, goals: s3Goals}
	if _, ok := inner.(selfWarming); ok {
		return s3SelfWarming{s}
	}
	return s
}

type s3SelfWarming struct{ *s3Scenario }

func (s3SelfWarming) warmsItself() {}

func (s *s3Scenario) Name() string { return s3Prefix + s.inner.Name() }

func (s *s3Scenario) Metrics() []metric {
	var out []metric
	for _, m := range s.inner.Metrics() {
		if g, ok := s.goals[m.key]; ok {
			m.goal = g
		}
		m.key = s3Prefix + m.key
		out = append(out, m)
	}
	return out
}

func (s *s3Scenario) Prepare(ctx context.Context) error {
	if err := s.env.start(ctx); err != nil {
		return err
	}
	return s.inner.Prepare(ctx)
}

func (s *s3Scenario) Run(ctx context.Context, t *target) (map[string]float64, error) {
	vals, err := s.inner.Run(ctx, t)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(vals))
	for k, v := range vals {
		out[s3Prefix+k] = v
	}
	return out, nil
}

// Storage implements storager.
func (s *s3Scenario) Storage() StorageFactory { return s.env.newStorage }

// Contenders implements comparer: the run's Berth and Distribution.
func (s *s3Scenario) Contenders() [2]contender { return s.sides }

// Comparison implements comparer.
func (s *s3Scenario) Comparison() string { return s3Comparison }

// Close stops the shared S3 server (idempotent).
func (s *s3Scenario) Close() error { return s.env.Close() }

// expandS3 replaces the name "s3" in names by every scenario name in all that starts with s3-,
// and leaves it in place when there is none.
func expandS3(names []string, all []scenario) []string {
	var out []string
	for _, n := range names {
		if strings.TrimSpace(n) != "s3" {
			out = append(out, n)
			continue
		}
		found := false
		for _, sc := range all {
			if strings.HasPrefix(sc.Name(), s3Prefix) {
				out, found = append(out, sc.Name()), true
			}
		}
		if !found {
			out = append(out, n) // so that the caller reports it
		}
	}
	return out
}
