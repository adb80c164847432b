//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// repoRoot is the module root (two levels up from this package).
var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}()

// strict is true in CI: a missing tool or binary is a failure, never a skip.
func strict() bool { return os.Getenv("CI") == "true" || os.Getenv("E2E_STRICT") == "1" }

// missing stops the test because a prerequisite is absent: Fatal in CI,
// Skip elsewhere, with what to do about it.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if strict() {
		t.Fatalf("prerequisite missing (CI=true, so this fails instead of skipping): %s", msg)
	}
	t.Skipf("skipping: %s (set CI=true to make this a failure)", msg)
}

// tool returns the path of a binary, preferring .tools/bin.
func tool(t testing.TB, name, hint string) string {
	t.Helper()
	local := filepath.Join(repoRoot, ".tools", "bin", name)
	if fi, err := os.Stat(local); err == nil && !fi.IsDir() {
		return local
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	missing(t, "%s not found in .tools/bin or on PATH; %s", name, hint)
	return ""
}

const installHint = "run `make tools` (scripts/install-tools.sh; Debian packages need root)"

func craneBin(t testing.TB) string  { return tool(t, "crane", installHint) }
func skopeoBin(t testing.TB) string { return tool(t, "skopeo", installHint) }
func distributionBin(t testing.TB) string {
	return tool(t, "distribution-registry", installHint)
}

var berth struct {
	once sync.Once
	path string
	err  error
}

// berthBin returns the Berth registry binary: $E2E_REGISTRY_BIN, or
// bin/registry freshly built from ./cmd/registry (once per run).
func berthBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("E2E_REGISTRY_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("E2E_REGISTRY_BIN: %v", err)
		}
		return p
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", "registry")); err != nil {
		missing(t, "./cmd/registry does not exist yet, so there is no bin/registry to test")
	}
	berth.once.Do(func() {
		berth.path = filepath.Join(repoRoot, "bin", "registry")
		cmd := exec.Command("go", "build", "-o", berth.path, "./cmd/registry")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			berth.err = fmt.Errorf("go build -o bin/registry ./cmd/registry: %v\n%s", err, out)
		}
	})
	if berth.err != nil {
		t.Fatal(berth.err)
	}
	return berth.path
}

// run runs a command and returns its stdout; it fails the test with the
// command line, stdout and stderr when the command fails.
func run(t testing.TB, bin string, args ...string) string {
	t.Helper()
	out, err := tryRun(bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tryRun is run without the test: the error carries the command's output.
func tryRun(bin string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\nstdout:\n%s\nstderr:\n%s",
			filepath.Base(bin), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

func TestMain(m *testing.M) {
	// Keep clients away from the user's credentials and settings.
	cfg, err := os.MkdirTemp("", "berth-e2e-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("DOCKER_CONFIG", cfg)
	os.Setenv("REGISTRY_AUTH_FILE", filepath.Join(cfg, "auth.json"))
	code := m.Run()
	stopDockerd()
	os.RemoveAll(cfg)
	os.Exit(code)
}
