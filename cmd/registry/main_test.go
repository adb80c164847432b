package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// binary is the registry command built once for the tests that run it as
// a process; empty when TestMain could not build it.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "registry-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "registry")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	binary = bin
	return m.Run()
}

// runCLI runs the command in-process and returns its exit code and output.
func runCLI(t *testing.T, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, env, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCommands(t *testing.T) {
	good := writeFile(t, "config.yml", "version: 0.1\nstorage:\n  inmemory:\n  cache:\n    blobdescriptor: inmemory\n")
	bad := writeFile(t, "bad.yml", "version: 0.1\nstorage:\n  filesystem:\n    rootdir: /x\nlog:\n  level: loud\n")
	tests := []struct {
		name   string
		args   []string
		env    []string
		code   int
		stdout string // substring
		stderr []string
	}{
		{name: "no command", args: nil, code: exitUsage, stderr: []string{"Usage: registry"}},
		{name: "unknown command", args: []string{"sevre"}, code: exitUsage, stderr: []string{`unknown command "sevre"`}},
		{name: "help", args: []string{"help"}, code: exitOK, stdout: "config check FILE"},
		{name: "version", args: []string{"version"}, code: exitOK, stdout: "registry "},
		{name: "version with args", args: []string{"version", "x"}, code: exitUsage},
		{name: "check ok", args: []string{"config", "check", good}, code: exitOK, stdout: good + ": ok",
			stderr: []string{"warning: storage.cache: ignored"}},
		{name: "check bad", args: []string{"config", "check", bad}, code: exitError,
			stderr: []string{"invalid configuration", "  storage.filesystem.rootdir: unknown key (line 4); did you mean rootdirectory?", `  log.level: "loud" is not one of`}},
		{name: "check applies env", args: []string{"config", "check", good}, env: []string{"REGISTRY_LOG_LEVEL=loud"},
			code: exitError, stderr: []string{`REGISTRY_LOG_LEVEL: "loud"`}},
		{name: "check missing file", args: []string{"config", "check", "/nonexistent.yml"}, code: exitError,
			stderr: []string{"/nonexistent.yml: no such file"}},
		{name: "check without file", args: []string{"config", "check"}, code: exitUsage},
		{name: "config without check", args: []string{"config"}, code: exitUsage},
		{name: "serve bad flag", args: []string{"serve", "--cofnig", good}, code: exitUsage},
		{name: "serve two files", args: []string{"serve", "--config", good, good}, code: exitUsage},
		{name: "serve bad config", args: []string{"serve", bad}, code: exitError, stderr: []string{"storage.filesystem.rootdir: unknown key"}},
		{name: "serve bad env", args: []string{"serve"}, env: []string{"REGISTRY_HTTP_ADDR=nowhere"}, code: exitError,
			stderr: []string{"built-in configuration: invalid configuration", `REGISTRY_HTTP_ADDR: "nowhere" is not host:port`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.env, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stdout, tt.stdout) {
				t.Errorf("stdout %q does not contain %q", stdout, tt.stdout)
			}
			for _, want := range tt.stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q does not contain %q", stderr, want)
				}
			}
		})
	}
}
