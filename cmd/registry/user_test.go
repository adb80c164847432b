package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthhq/berth/auth"
	"github.com/berthhq/berth/auth/htpasswd"
)

// runUserCLI runs the command in-process with stdin.
func runUserCLI(t *testing.T, env []string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, env, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// checkPassword fails unless the htpasswd file at path accepts password
// for user.
func checkPassword(t *testing.T, path, user, password string) {
	t.Helper()
	f, err := htpasswd.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Authenticate(context.Background(), user, password); err != nil {
		t.Errorf("Authenticate(%s): %v", user, err)
	}
}

func TestUserAdd(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "htpasswd")
	fromConfig := filepath.Join(dir, "from-config")
	fromEnv := filepath.Join(dir, "from-env")
	config := writeFile(t, "config.yml", "version: 0.1\nstorage: inmemory\nauth:\n  token:\n    htpasswd: "+fromConfig+"\n")
	tests := []struct {
		name     string
		args     []string
		env      []string
		stdin    string
		path     string
		password string
	}{
		{"htpasswd flag", []string{"--htpasswd", file}, nil, "s3cret\n", file, "s3cret"},
		{"replace", []string{"--htpasswd", file}, nil, "n3w\n", file, "n3w"},
		{"CRLF and spaces kept", []string{"--htpasswd", file}, nil, " with spaces \r\nsecond line\n", file, " with spaces "},
		{"no newline", []string{"--htpasswd", file}, nil, "last", file, "last"},
		{"config file", []string{"--config", config}, nil, "pw\n", fromConfig, "pw"},
		{"environment", nil, []string{"REGISTRY_AUTH_TOKEN_HTPASSWD=" + fromEnv}, "pw\n", fromEnv, "pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"user", "add", "--cost", "4"}, tt.args...), "alice")
			code, stdout, stderr := runUserCLI(t, tt.env, tt.stdin, args...)
			if code != exitOK {
				t.Fatalf("exit code %d\nstderr: %s", code, stderr)
			}
			if want := "user alice saved in " + tt.path; !strings.Contains(stdout, want) {
				t.Errorf("stdout %q does not contain %q", stdout, want)
			}
			if strings.Contains(stdout+stderr, tt.password) {
				t.Errorf("output shows the password: %q %q", stdout, stderr)
			}
			checkPassword(t, tt.path, "alice", tt.password)
		})
	}
}

func TestUserRemove(t *testing.T) {
	file := filepath.Join(t.TempDir(), "htpasswd")
	for _, user := range []string{"alice", "bob"} {
		if code, _, stderr := runUserCLI(t, nil, "pw\n", "user", "add", "--cost", "4", "--htpasswd", file, user); code != exitOK {
			t.Fatalf("add %s: %s", user, stderr)
		}
	}
	code, stdout, stderr := runUserCLI(t, nil, "", "user", "remove", "--htpasswd", file, "alice")
	if code != exitOK || !strings.Contains(stdout, "user alice removed from "+file) {
		t.Fatalf("remove: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	f, err := htpasswd.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Authenticate(context.Background(), "alice", "pw"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("removed user authenticates: %v", err)
	}
	checkPassword(t, file, "bob", "pw")
}

func TestUserErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "htpasswd")
	noAuth := writeFile(t, "noauth.yml", "version: 0.1\nstorage: inmemory\n")
	bad := writeFile(t, "bad.yml", "version: 0.1\nstorage: inmemory\nauth:\n  token:\n    htpasswd: /h\n    acl: [x]\n")
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stderr string
	}{
		{"no subcommand", []string{"user"}, "", exitUsage, "Usage: registry user add"},
		{"unknown subcommand", []string{"user", "list"}, "", exitUsage, `unknown user command "list"`},
		{"help", []string{"user", "help"}, "", exitOK, ""},
		{"no name", []string{"user", "add", "--htpasswd", file}, "pw\n", exitUsage, "Usage: registry user add"},
		{"two names", []string{"user", "add", "--htpasswd", file, "a", "b"}, "pw\n", exitUsage, "Usage"},
		{"both flags", []string{"user", "add", "--htpasswd", file, "--config", noAuth, "alice"}, "pw\n", exitUsage, "not both"},
		{"bad flag", []string{"user", "add", "--passwd", file, "alice"}, "pw\n", exitUsage, "flag provided but not defined"},
		{"bad name", []string{"user", "add", "--htpasswd", file, "a:b"}, "pw\n", exitError, `user name "a:b" holds ':'`},
		{"reserved name", []string{"user", "add", "--htpasswd", file, "anonymous"}, "pw\n", exitError, "reserved"},
		{"empty password", []string{"user", "add", "--htpasswd", file, "alice"}, "\n", exitError, "empty password"},
		{"no input", []string{"user", "add", "--htpasswd", file, "alice"}, "", exitError, "empty password"},
		{"bad cost", []string{"user", "add", "--cost", "2", "--htpasswd", file, "alice"}, "pw\n", exitError, "bcrypt cost 2"},
		{"no htpasswd configured", []string{"user", "add", "alice"}, "pw\n", exitError, "built-in configuration: no auth.token.htpasswd; give the file with --htpasswd FILE"},
		{"config without auth", []string{"user", "add", "--config", noAuth, "alice"}, "pw\n", exitError, noAuth + ": no auth.token.htpasswd"},
		{"invalid config", []string{"user", "remove", "--config", bad, "alice"}, "", exitError, "auth.token.acl[0]: must be a mapping"},
		{"missing config", []string{"user", "add", "--config", filepath.Join(dir, "none.yml"), "alice"}, "pw\n", exitError, "no such file"},
		{"remove unknown", []string{"user", "remove", "--htpasswd", writeFile(t, "h", ""), "alice"}, "", exitError, `user "alice": no such user`},
		{"remove from missing file", []string{"user", "remove", "--htpasswd", file, "alice"}, "", exitError, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runUserCLI(t, nil, tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.stderr)
			}
		})
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed commands created %s (%v)", file, err)
	}
}
