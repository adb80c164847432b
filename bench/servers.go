package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Storage says where a registry under test keeps its data. Each Kind renders it into its own
// configuration: FilesystemStorage or S3Storage (a bucket on a local S3 server, see s3.go).
type Storage interface {
	// Describe is a short human description, e.g. "filesystem /tmp/x".
	Describe() string
}

// FilesystemStorage keeps blobs under Root on local disk.
type FilesystemStorage struct {
	Root string
}

// Describe implements Storage.
func (s FilesystemStorage) Describe() string { return "filesystem " + s.Root }

// StorageFactory creates a fresh, empty Storage for one measurement under scratch (a directory the
// caller owns) and returns a cleanup func that removes it. Cleanup is safe to call once.
type StorageFactory func(ctx context.Context, scratch string) (Storage, func() error, error)

// NewFilesystemStorage is the StorageFactory for FilesystemStorage: a new directory under scratch.
func NewFilesystemStorage(_ context.Context, scratch string) (Storage, func() error, error) {
	dir, err := os.MkdirTemp(scratch, "store-")
	if err != nil {
		return nil, nil, err
	}
	return FilesystemStorage{Root: dir}, func() error { return os.RemoveAll(dir) }, nil
}

// Kind starts registries of one implementation. Start returns a running, healthy server; the
// caller stops it with Server.Stop. Config files and logs go under workDir.
type Kind interface {
	Name() string
	Start(ctx context.Context, st Storage, workDir string) (*Server, error)
}

// binaryKind is a Kind run as an external binary that reads a registry:2-shaped YAML config.
type binaryKind struct {
	name      string
	path      string
	readyPath string
	// args returns the command line (without argv[0]) that serves with the config file.
	args func(configPath string) []string
	// config renders the YAML for addr and st, or fails for a storage the kind cannot use. Files
	// the config refers to go under workDir.
	config func(addr, workDir string, st Storage) (string, error)
	// env is extra environment for the process.
	env func(addr string, st Storage) []string
	// setup, when set, runs before each start to create files the config refers to.
	setup func(ctx context.Context, workDir string) error
	// creds are the account clients log in with; nil when the registry has auth off.
	creds *Credentials
}

// Name implements Kind.
func (k *binaryKind) Name() string { return k.name }

// NewBerthKind returns the Kind for Berth's bin/registry at path: `registry serve --config FILE`
// with log level warn, health checked at /healthz.
func NewBerthKind(name, path string) Kind {
	return &binaryKind{
		name:      name,
		path:      path,
		readyPath: "/healthz",
		args:      func(cfg string) []string { return []string{"serve", "--config", cfg} },
		config: func(addr, _ string, st Storage) (string, error) {
			return berthConfig(addr, st, "")
		},
		env: berthEnv,
	}
}

// Credentials are the account a client logs in with when a registry has auth on.
type Credentials struct {
	User, Password string
}

// NewBerthAuthKind returns the Kind for Berth's bin/registry at path as NewBerthKind does, with
// token auth on: the registry issues its own tokens at /token, its htpasswd file holds the one
// account creds (created before each start with `registry user add`, bcrypt's default cost) and
// its ACL lets that account do everything. Tokens live 1 h so that a long -duration does not
// outlive them.
func NewBerthAuthKind(name, path string, creds Credentials) Kind {
	htpasswdPath := func(workDir string) string { return filepath.Join(workDir, name+"-htpasswd") }
	return &binaryKind{
		name:      name,
		path:      path,
		readyPath: "/healthz",
		args:      func(cfg string) []string { return []string{"serve", "--config", cfg} },
		config: func(addr, workDir string, st Storage) (string, error) {
			return berthConfig(addr, st, fmt.Sprintf(`auth:
  token:
    htpasswd: %s
    expiration: 1h
    acl:
      - {account: %q, name: "**", actions: ["*"]}
`, htpasswdPath(workDir), creds.User))
		},
		env: berthEnv,
		setup: func(ctx context.Context, workDir string) error {
			file := htpasswdPath(workDir)
			if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			cmd := exec.CommandContext(ctx, path, "user", "add", "--htpasswd", file, creds.User)
			cmd.Stdin = strings.NewReader(creds.Password + "\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("%s user add: %w: %s", path, err, bytes.TrimSpace(out))
			}
			return nil
		},
		creds: &creds,
	}
}

// berthConfig renders Berth's YAML for addr and st with extra (top-level sections) appended.
func berthConfig(addr string, st Storage, extra string) (string, error) {
	var driver string
	switch st := st.(type) {
	case FilesystemStorage:
		driver = fmt.Sprintf("  filesystem:\n    rootdirectory: %s\n", st.Root)
	case S3Storage:
		driver = st.yaml("")
	default:
		return "", fmt.Errorf("berth kind: storage %q not supported", st.Describe())
	}
	return fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
%s  delete:
    enabled: true
http:
  addr: %s
%s`, driver, addr, extra), nil
}

// berthEnv repeats the address and store in Berth's REGISTRY_* overrides.
func berthEnv(addr string, st Storage) []string {
	env := []string{"REGISTRY_HTTP_ADDR=" + addr}
	switch st := st.(type) {
	case FilesystemStorage:
		env = append(env, "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="+st.Root)
	case S3Storage:
		env = append(env, "REGISTRY_STORAGE_S3_BUCKET="+st.Bucket, "REGISTRY_STORAGE_S3_REGIONENDPOINT="+st.Endpoint)
	}
	return env
}

// NewDistributionKind returns the Kind for the CNCF Distribution registry at path:
// `registry serve FILE` with the registry:2 image's in-memory blob descriptor cache, deletes
// enabled, log level warn, access log and upload purging off. On S3 its redirects are off, so
// blob GETs stream through the registry as Berth's do by default. OpenTelemetry tracing stays as
// shipped (on, sampled 100%) except that the OTLP exporter is set to none, so it does not retry a
// collector that is not there.
func NewDistributionKind(name, path string) Kind {
	return &binaryKind{
		name:      name,
		path:      path,
		readyPath: "/v2/",
		args:      func(cfg string) []string { return []string{"serve", cfg} },
		config: func(addr, _ string, st Storage) (string, error) {
			var driver string
			switch st := st.(type) {
			case FilesystemStorage:
				driver = fmt.Sprintf("  filesystem:\n    rootdirectory: %s\n", st.Root)
			case S3Storage:
				driver = st.yaml("    v4auth: true\n") + "  redirect:\n    disable: true\n"
			default:
				return "", fmt.Errorf("distribution kind: storage %q not supported", st.Describe())
			}
			return fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
%s  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: berth-bench
`, driver, addr), nil
		},
		env: func(string, Storage) []string { return []string{"OTEL_TRACES_EXPORTER=none"} },
	}
}

// Start implements Kind: it runs setup if any, writes the config, starts the binary in its own process group bound to
// a free 127.0.0.1 port, and waits until readyPath answers 200.
func (k *binaryKind) Start(ctx context.Context, st Storage, workDir string) (*Server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if k.setup != nil {
		if err := k.setup(ctx, workDir); err != nil {
			return nil, fmt.Errorf("set up %s: %w", k.name, err)
		}
	}
	cfg, err := k.config(addr, workDir, st)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(workDir, k.name+"-config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(k.path, k.args(cfgPath)...)
	cmd.Env = append(os.Environ(), k.env(addr, st)...)
	logs := &tailBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = logs, logs
	// Own process group so Stop can signal everything the server started; SIGKILL if we die.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", k.name, k.path, err)
	}
	s := &Server{Name: k.name, URL: "http://" + addr, Creds: k.creds, cmd: cmd, logs: logs, exited: make(chan struct{})}
	go func() { s.waitErr = cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(ctx, k.readyPath, 30*time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%s did not become ready: %w\n%s", k.name, err, logs.String())
	}
	return s, nil
}

// Server is one running registry process.
type Server struct {
	Name string
	URL  string // base URL, e.g. http://127.0.0.1:40123
	// Creds is the account to log in with; nil when the registry has auth off.
	Creds *Credentials

	cmd     *exec.Cmd
	logs    *tailBuffer
	exited  chan struct{}
	waitErr error
	stopped sync.Once
}

func (s *Server) waitReady(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
		if err != nil {
			return err
		}
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("process exited: %v", s.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: no 200 within %s", path, limit)
		}
	}
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// PeakRSS returns the process's peak resident set size (VmHWM) in bytes since it started.
func (s *Server) PeakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse VmHWM %q: %w", rest, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// Logs returns the tail of the server's stdout and stderr.
func (s *Server) Logs() string { return s.logs.String() }

// Stop terminates the server's process group (SIGTERM, then SIGKILL after 5 s) and waits for it.
// It is safe to call more than once.
func (s *Server) Stop() {
	s.stopped.Do(func() {
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.exited
		}
		// Reap anything left in the group (nothing expected).
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	})
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// tailBuffer keeps the last max bytes written to it; safe for concurrent writers.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// withSeededRegistry starts berth on fresh filesystem storage under dir,
// lets seed push content through a client, runs use while the registry is
// up, then stops it and removes its storage.
func withSeededRegistry(ctx context.Context, berth Kind, dir string, seed func(*regClient) error, use func(*Server) error) (err error) {
	st, cleanup, err := NewFilesystemStorage(ctx, dir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, cleanup()) }()
	srv, err := berth.Start(ctx, st, dir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	c := newClient()
	defer c.CloseIdleConnections()
	reg, err := newRegClient(c, srv.URL)
	if err != nil {
		return err
	}
	if err := seed(reg); err != nil {
		return err
	}
	return use(srv)
}
