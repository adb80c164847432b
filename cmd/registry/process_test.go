package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests here run the built binary as a process.

func TestBinaryConfigCheckMisspelled(t *testing.T) {
	bad := writeFile(t, "config.yml", "version: 0.1\nstorage:\n  filesystem:\n    rootdir: /var/lib/registry\n")
	cmd := exec.Command(binary, "config", "check", bad)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != exitError {
		t.Fatalf("config check: %v, want exit status %d\n%s", err, exitError, out)
	}
	if want := "storage.filesystem.rootdir: unknown key"; !strings.Contains(string(out), want) {
		t.Errorf("output %q does not name the key (%q)", out, want)
	}
}

// TestBinaryServeSIGTERM starts `registry serve` on a free port chosen
// through REGISTRY_HTTP_ADDR, checks it answers /v2/, and stops it with
// SIGTERM, which must exit 0.
func TestBinaryServeSIGTERM(t *testing.T) {
	root := t.TempDir()
	cmd := exec.Command(binary, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{
		"REGISTRY_HTTP_ADDR=127.0.0.1:0",
		"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=" + root,
		"REGISTRY_LOG_FORMATTER=json",
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	logs := make(chan map[string]any, 100)
	go func() {
		defer close(logs)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				rec = map[string]any{"msg": "unparsed", "line": sc.Text()}
			}
			logs <- rec
		}
		io.Copy(io.Discard, stderr)
	}()
	listening := waitFor(t, logs, "listening")
	addr, _ := listening["addr"].(string)
	if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("listening on %q, want 127.0.0.1 with a chosen port", addr)
	}

	resp, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/: %s, want 200", resp.Status)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, logs, "stopped")
	for range logs {
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v, want exit status 0", err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Errorf("storage root: %v", err)
	}
}

// waitFor returns the first log record with message msg, failing the test
// if the process ends or 20 seconds pass first.
func waitFor(t *testing.T, logs <-chan map[string]any, msg string) map[string]any {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case rec, ok := <-logs:
			if !ok {
				t.Fatalf("registry exited before logging %q", msg)
			}
			if rec["msg"] == msg {
				return rec
			}
			t.Logf("registry: %v", rec)
		case <-timeout:
			t.Fatalf("no %q log record after 20s", msg)
		}
	}
}
