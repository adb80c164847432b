//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/berthhq/berth/internal/s3test"
	"gopkg.in/yaml.v3"
)

// Flavor is which registry implementation a process runs.
type Flavor string

const (
	Berth        Flavor = "berth"
	Distribution Flavor = "distribution"
)

// target is the registry under test for everything but the compatibility
// tests, which always run both: $E2E_REGISTRY, default Berth.
func target(t testing.TB) Flavor {
	t.Helper()
	switch f := Flavor(os.Getenv("E2E_REGISTRY")); f {
	case "", Berth:
		return Berth
	case Distribution:
		return Distribution
	default:
		t.Fatalf("E2E_REGISTRY=%q: want berth or distribution", f)
		return ""
	}
}

// Storage is where a registry keeps its content, as the storage: section of
// a registry:2-shaped config. Backends plug in as a StorageFunc (TempS3 in
// s3_test.go); the suite itself only needs Root for the tests that look at
// the directory tree, and skips those when it is empty.
type Storage struct {
	Name   string
	Config map[string]any // the storage: section, without delete:
	Vars   []string       // the same section as REGISTRY_STORAGE_* variables
	Env    []string       // extra environment for the registry process
	Root   string         // the directory holding docker/registry/v2, if any
	Bucket *s3test.Bucket // the S3 bucket holding the content, if any
}

// StorageFunc makes fresh, empty storage for one registry.
type StorageFunc func(t testing.TB) Storage

// Filesystem is storage in dir (registry:2's filesystem driver).
func Filesystem(dir string) Storage {
	return Storage{
		Name:   "filesystem",
		Config: map[string]any{"filesystem": map[string]any{"rootdirectory": dir}},
		Vars:   []string{"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=" + dir},
		Root:   dir,
	}
}

// TempFilesystem is the default StorageFunc: a fresh directory three
// levels below a temporary one. When the test ends it checks that nothing
// was written beside the root or its parents (a path that climbed out of
// the root through a crafted name or id) and that the root holds only the
// registry:2 tree.
func TempFilesystem(t testing.TB) Storage {
	t.Helper()
	return jailedFilesystem(t, "docker")
}

// jailedFilesystem is TempFilesystem with the names the root may hold when
// the test ends (TempFilesystem: docker; with token auth also berth, where
// the signing key is kept).
func jailedFilesystem(t testing.TB, rootHolds ...string) Storage {
	t.Helper()
	base := t.TempDir()
	root := filepath.Join(base, "up2", "up1", "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for dir, only := range map[string][]string{
			base:                              {"up2"},
			filepath.Join(base, "up2"):        {"up1"},
			filepath.Join(base, "up2", "up1"): {"root"},
			root:                              rootHolds,
		} {
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Errorf("storage jail: %v", err)
				continue
			}
			for _, e := range entries {
				if !slices.Contains(only, e.Name()) {
					t.Errorf("storage jail: %s appeared in %s; only %s belongs there", e.Name(), dir, strings.Join(only, ", "))
				}
			}
		}
	})
	return Filesystem(root)
}

// storageUnderTest is the backend the suite runs on: $E2E_STORAGE,
// "filesystem" (default) or "s3" (TempS3: a versitygw per storage).
func storageUnderTest(t testing.TB) Storage {
	t.Helper()
	switch s := os.Getenv("E2E_STORAGE"); s {
	case "", "filesystem":
		return TempFilesystem(t)
	case "s3":
		return TempS3(t)
	default:
		t.Fatalf("E2E_STORAGE=%q: want filesystem or s3", s)
		return Storage{}
	}
}

// Registry is one running registry process on a loopback port.
type Registry struct {
	Flavor  Flavor
	Host    string // 127.0.0.1:port
	Storage Storage

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	once sync.Once
}

// startOptions tweak how a registry is started.
type startOptions struct {
	envOnly bool           // Berth only: configure with REGISTRY_* variables, no --config
	config  map[string]any // more top-level sections of the config file (auth)
}

// startTarget starts the registry under test on fresh storage.
func startTarget(t testing.TB) *Registry {
	t.Helper()
	return startRegistry(t, target(t), storageUnderTest(t), startOptions{})
}

// startRegistry starts flavor on st, waits until it answers and stops it
// when the test ends. It retries on another port if the one it picked was
// taken in the meantime.
func startRegistry(t testing.TB, flavor Flavor, st Storage, opt startOptions) *Registry {
	t.Helper()
	var bin string
	switch flavor {
	case Berth:
		bin = berthBin(t)
	case Distribution:
		bin = distributionBin(t)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		r, err := launch(t, bin, flavor, st, opt)
		if err == nil {
			t.Cleanup(func() { r.Stop(t) })
			return r
		}
		lastErr = err
	}
	t.Fatalf("starting %s: %v", flavor, lastErr)
	return nil
}

// launch starts one process and waits for it to answer.
func launch(t testing.TB, bin string, flavor Flavor, st Storage, opt startOptions) (*Registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &Registry{Flavor: flavor, Host: fmt.Sprintf("127.0.0.1:%d", port), Storage: st,
		logs: &syncBuffer{}, done: make(chan struct{})}
	env := cleanEnv()
	env = append(env, st.Env...)
	var args []string
	switch {
	case flavor == Berth && opt.envOnly:
		if len(st.Vars) == 0 {
			t.Fatalf("envOnly start: %s storage has no REGISTRY_STORAGE_* form", st.Name)
		}
		env = append(env, "REGISTRY_HTTP_ADDR="+r.Host, "REGISTRY_STORAGE_DELETE_ENABLED=true")
		env = append(env, st.Vars...)
		args = []string{"serve"}
	case flavor == Berth:
		args = []string{"serve", "--config", writeConfig(t, flavor, r.Host, st, opt.config)}
	default:
		// Distribution v3 exports traces to localhost unless told not to.
		env = append(env, "OTEL_TRACES_EXPORTER=none")
		args = []string{"serve", writeConfig(t, flavor, r.Host, st, opt.config)}
	}
	r.cmd = exec.Command(bin, args...)
	r.cmd.Env = env
	r.cmd.Dir = t.TempDir() // so a default ./data never lands in the repo
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	if err := r.waitReady(15 * time.Second); err != nil {
		r.kill()
		return nil, fmt.Errorf("%w\n--- %s output ---\n%s", err, flavor, r.logs.String())
	}
	return r, nil
}

// writeConfig writes a registry:2-shaped config both implementations read,
// with the sections of extra added.
func writeConfig(t testing.TB, flavor Flavor, addr string, st Storage, extra map[string]any) string {
	t.Helper()
	storage := map[string]any{"delete": map[string]any{"enabled": true}}
	for k, v := range st.Config {
		storage[k] = v
	}
	cfg := map[string]any{
		"version": "0.1",
		"http":    map[string]any{"addr": addr},
		"storage": storage,
	}
	for k, v := range extra {
		cfg[k] = v
	}
	if flavor == Distribution {
		// Only warnings: its access log would drown a failure's output.
		cfg["log"] = map[string]any{"level": "warn", "accesslog": map[string]any{"disabled": true}}
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "config.yml")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readyPath is what each flavor answers 200 on once it serves.
func (r *Registry) readyPath() string {
	if r.Flavor == Berth {
		return "/healthz"
	}
	return "/v2/"
}

func (r *Registry) waitReady(timeout time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("%s exited before answering (%v)", r.Flavor, r.cmd.ProcessState)
		default:
		}
		resp, err := c.Get(r.URL(r.readyPath()))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer 200 on %s within %v", r.Flavor, r.readyPath(), timeout)
}

// URL is the absolute URL of path on this registry.
func (r *Registry) URL(path string) string { return "http://" + r.Host + path }

// Ref is "host/repo:tag" (or @digest) on this registry.
func (r *Registry) Ref(repoAndTag string) string { return r.Host + "/" + repoAndTag }

// Stop ends the process (SIGTERM, then SIGKILL after 10s) and, if the test
// failed, logs what the registry printed. Safe to call more than once.
func (r *Registry) Stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s on %s did not exit 10s after SIGTERM; killed", r.Flavor, r.Host)
			r.kill()
		}
		if t.Failed() {
			t.Logf("--- %s on %s output (tail) ---\n%s", r.Flavor, r.Host, tail(r.logs.String(), 40))
		}
	})
}

func (r *Registry) kill() {
	r.cmd.Process.Kill()
	<-r.done
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// cleanEnv is our environment without REGISTRY_* variables, so a setting
// in the caller's shell cannot change what the registry under test does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGISTRY_") {
			env = append(env, kv)
		}
	}
	return env
}

// syncBuffer collects a process's output from two pipes at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + "..."
		}
	}
	return strings.Join(lines, "\n")
}
