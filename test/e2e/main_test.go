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

// built is one binary of this module, built once per run.
type built struct {
	once sync.Once
	path string
	err  error
}

var berth, ctlTool built

// berthBin returns the Berth registry binary: $E2E_REGISTRY_BIN, or
// bin/registry freshly built from ./cmd/registry (once per run).
func berthBin(t testing.TB) string {
	t.Helper()
	return buildBin(t, &berth, "E2E_REGISTRY_BIN", "registry")
}

// ctlBin returns the workstation tool: $E2E_CTL_BIN, or bin/ctl freshly
// built from ./cmd/ctl (once per run).
func ctlBin(t testing.TB) string {
	t.Helper()
	return buildBin(t, &ctlTool, "E2E_CTL_BIN", "ctl")
}

// buildBin returns $env when set, else bin/name built from ./cmd/name once.
func buildBin(t testing.TB, b *built, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s: %v", env, err)
		}
		return p
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "cmd", name)); err != nil {
		missing(t, "./cmd/%s does not exist yet, so there is no bin/%s to test", name, name)
	}
	b.once.Do(func() {
		b.path = filepath.Join(repoRoot, "bin", name)
		cmd := exec.Command("go", "build", "-o", b.path, "./cmd/"+name)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build -o bin/%s ./cmd/%s: %v\n%s", name, name, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
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
