package credstore

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
)

// helperPrefix begins the name of every credential helper program.
const helperPrefix = "docker-credential-"

// stderrTail is how much of a helper's standard error errors quote.
const stderrTail = 4 << 10

// helperWaitDelay bounds the wait for a killed helper's output pipes
// (a helper's own children may hold them open).
const helperWaitDelay = 5 * time.Second

// helperRunner runs docker-credential-* programs through the helper
// protocol of docker-credential-helpers/client.
type helperRunner struct {
	path   *string   // search path; nil for exec.LookPath's $PATH
	stderr io.Writer // also gets the helpers' standard error; may be nil
}

// get asks helper for key's credentials. "credentials not found" is the
// zero Credential and nil.
func (h helperRunner) get(ctx context.Context, helper, key string) (Credential, error) {
	prog, err := h.program(ctx, helper)
	if err != nil {
		return Credential{}, err
	}
	creds, err := client.Get(prog, key)
	if err != nil {
		if credentials.IsErrCredentialsNotFound(err) {
			return Credential{}, nil
		}
		return Credential{}, h.fail(ctx, helper, "get", key, err)
	}
	if creds.Username == tokenUsername {
		return Credential{IdentityToken: creds.Secret}, nil
	}
	return Credential{Username: creds.Username, Password: creds.Secret}, nil
}

// store gives helper key's credentials: user name and password, or the
// identity token as the secret of the user "<token>".
func (h helperRunner) store(ctx context.Context, helper, key string, cred Credential) error {
	prog, err := h.program(ctx, helper)
	if err != nil {
		return err
	}
	creds := &credentials.Credentials{ServerURL: key, Username: cred.Username, Secret: cred.Password}
	if cred.IdentityToken != "" {
		creds.Username, creds.Secret = tokenUsername, cred.IdentityToken
	}
	if err := client.Store(prog, creds); err != nil {
		return h.fail(ctx, helper, "store", key, err)
	}
	return nil
}

// erase asks helper to forget key's credentials. It reports whether the
// helper had any: false when it answers "credentials not found".
func (h helperRunner) erase(ctx context.Context, helper, key string) (bool, error) {
	prog, err := h.program(ctx, helper)
	if err != nil {
		return false, err
	}
	if err := client.Erase(prog, key); err != nil {
		// client.Erase flattens the helper's answer into its message.
		if strings.Contains(err.Error(), credentials.NewErrCredentialsNotFound().Error()) {
			return false, nil
		}
		return false, h.fail(ctx, helper, "erase", key, err)
	}
	return true, nil
}

// fail wraps a helper's failure with what was asked of it, or reports
// ctx's end when that is why the helper stopped.
func (h helperRunner) fail(ctx context.Context, helper, action, key string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	return fmt.Errorf("credstore: credential helper %s%s: %s %s: %w", helperPrefix, helper, action, key, err)
}

// program returns the ProgramFunc running the helper named helper, which
// must be in the search path (else an error matching ErrHelperNotFound).
// The processes are killed when ctx ends.
func (h helperRunner) program(ctx context.Context, helper string) (client.ProgramFunc, error) {
	bin, err := h.find(helperPrefix + helper)
	if err != nil {
		return nil, err
	}
	return func(args ...string) client.Program {
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.WaitDelay = helperWaitDelay
		tail := &tailBuffer{max: stderrTail}
		cmd.Stderr = tail
		if h.stderr != nil {
			cmd.Stderr = io.MultiWriter(tail, h.stderr)
		}
		return &program{cmd: cmd, stderr: tail}
	}, nil
}

// find returns the path of the program name in the search path.
func (h helperRunner) find(name string) (string, error) {
	if h.path == nil {
		bin, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("credstore: %s: %w in $PATH (%v)", name, ErrHelperNotFound, err)
		}
		return bin, nil
	}
	names := []string{name}
	if runtime.GOOS == "windows" {
		names = append(names, name+".exe")
	}
	for _, dir := range filepath.SplitList(*h.path) {
		// Relative entries would depend on the working directory; like
		// exec.LookPath's ErrDot, they are not trusted.
		if !filepath.IsAbs(dir) {
			continue
		}
		for _, n := range names {
			candidate := filepath.Join(dir, n)
			if fi, err := os.Stat(candidate); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
				return candidate, nil
			}
		}
	}
	return "", fmt.Errorf("credstore: %s: %w in %q", name, ErrHelperNotFound, *h.path)
}

// program is one run of a helper, as client.Program.
type program struct {
	cmd    *exec.Cmd
	stderr *tailBuffer
}

// Input sets the helper's standard input.
func (p *program) Input(in io.Reader) { p.cmd.Stdin = in }

// Output runs the helper and returns its standard output; a failure
// quotes the end of its standard error.
func (p *program) Output() ([]byte, error) {
	out, err := p.cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(p.stderr.String()); msg != "" {
			err = fmt.Errorf("%w (stderr: %s)", err, msg)
		}
	}
	return out, err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	buf []byte
}

// Write keeps the end of p; it never fails.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// String returns what was kept.
func (t *tailBuffer) String() string { return string(t.buf) }
