// Package s3test starts a real S3 server for tests and benchmarks: versitygw
// (installed by scripts/install-tools.sh into .tools/bin at a pinned version)
// with its posix backend over a temporary directory, listening on loopback.
//
// When versitygw is missing, tests are skipped, except with CI=true, where a
// missing server is a failure: CI must never silently drop the S3 suite.
package s3test

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Fixed credentials of every server this package starts.
const (
	AccessKey = "berthtest"
	SecretKey = "berthtestsecret"
	Region    = "us-east-1"
)

// Server is a running versitygw.
type Server struct {
	// Endpoint is the server's base URL, http://127.0.0.1:PORT.
	Endpoint string
	// Dir is the posix backend's root: each subdirectory is a bucket.
	Dir string

	cmd  *exec.Cmd
	done chan error
}

// Binary returns the path of the versitygw binary: $BERTH_VERSITYGW, the
// repository's .tools/bin/versitygw, or versitygw on PATH.
func Binary() (string, error) {
	if p := os.Getenv("BERTH_VERSITYGW"); p != "" {
		return p, nil
	}
	if root, err := moduleRoot(); err == nil {
		p := filepath.Join(root, ".tools", "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", errors.New("versitygw not found (run scripts/install-tools.sh, or set BERTH_VERSITYGW)")
}

// moduleRoot finds the directory holding go.mod, upwards from the working
// directory (tests run in their package's directory).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found")
		}
		dir = parent
	}
}

// Start starts versitygw over dir (created if needed) on a free loopback
// port and waits until it answers. Stop it with Close.
func Start(dir string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", addr, "--quiet", "posix", dir)
	// Keep-alive as S3 does: by default versitygw closes every connection
	// after one request, which makes each round trip a new TCP connection.
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY=", "ROOT_SECRET_KEY=", "VGW_KEEP_ALIVE=true")
	log, err := os.Create(filepath.Join(filepath.Dir(filepath.Clean(dir)), filepath.Base(dir)+".versitygw.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting versitygw: %w", err)
	}
	s := &Server{Endpoint: "http://" + addr, Dir: dir, cmd: cmd, done: make(chan error, 1)}
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return s, nil
		}
		select {
		case err := <-s.done:
			b, _ := os.ReadFile(log.Name())
			return nil, fmt.Errorf("versitygw exited at start: %v: %s", err, strings.TrimSpace(string(b)))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("versitygw did not answer on %s within 15s", addr)
		}
	}
}

// CreateBucket makes an empty bucket. With the posix backend a bucket is a
// directory under the root; versitygw picks it up at once.
func (s *Server) CreateBucket(name string) error {
	return os.Mkdir(filepath.Join(s.Dir, name), 0o755)
}

// Close stops the server.
func (s *Server) Close() error {
	if s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// Bucket is one bucket on a server started for a test.
type Bucket struct {
	*Server
	Name string
}

// New starts a server for the test (stopped at cleanup) with one empty
// bucket. Without versitygw it skips the test, or fails it when CI=true.
func New(t testing.TB) Bucket {
	t.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("S3 tests need versitygw and CI=true: %v", err)
		}
		t.Skipf("skipping S3 test: %v", err)
	}
	s, err := Start(filepath.Join(t.TempDir(), "s3"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateBucket("berth"); err != nil {
		t.Fatal(err)
	}
	return Bucket{Server: s, Name: "berth"}
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// shared is one server per test binary, for packages that run many tests
// on S3 (each on its own root directory); see Shared.
var shared struct {
	once sync.Once
	dir  string
	s    *Server
	err  error
}

// Shared returns a bucket on a server started once per test binary, named
// after nothing: callers separate their tests with root directories. Skips
// or fails (CI=true) like New when versitygw is missing. The package's
// TestMain must call StopShared after m.Run.
func Shared(t testing.TB) Bucket {
	t.Helper()
	if _, err := Binary(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("S3 tests need versitygw and CI=true: %v", err)
		}
		t.Skipf("skipping S3 test: %v", err)
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "berth-s3test-")
		if shared.err != nil {
			return
		}
		shared.s, shared.err = Start(filepath.Join(shared.dir, "s3"))
		if shared.err == nil {
			shared.err = shared.s.CreateBucket("berth")
		}
	})
	if shared.err != nil {
		t.Fatalf("starting the shared S3 server: %v", shared.err)
	}
	return Bucket{Server: shared.s, Name: "berth"}
}

// StopShared stops the server Shared started, if any, and removes its data.
func StopShared() {
	if shared.s != nil {
		shared.s.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}
