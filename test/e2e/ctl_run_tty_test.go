//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testPty is a pseudo-terminal the test holds the master of; ctl gets
// the slave as its controlling terminal and stdio.
type testPty struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer
	done          chan struct{}
}

// openTestPty opens a pty of the host's devpts, sized rows x cols, and
// starts collecting what is written to it.
func openTestPty(t *testing.T, rows, cols uint16) *testPty {
	t.Helper()
	m, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(m, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(m, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPty{master: os.NewFile(uintptr(m), "ptmx"), slave: s, done: make(chan struct{})}
	p.resize(t, rows, cols)
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := p.master.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return // EIO once ctl, the last holder of the slave, exits
			}
		}
	}()
	t.Cleanup(func() { p.master.Close(); p.slave.Close() })
	return p
}

func (p *testPty) resize(t *testing.T, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
}

func (p *testPty) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitFor waits until the output holds s.
func (p *testPty) waitFor(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(p.output(), s) {
			return
		}
	}
	t.Fatalf("waiting for %q; the terminal shows %q", s, p.output())
}

// start starts cmd in a new session with the pty as its controlling
// terminal and stdio.
func (p *testPty) start(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// wait waits for cmd and returns its exit code and everything the
// terminal showed, without carriage returns (the container's pty turns
// \n into \r\n, and so does ctl's terminal unless -i made it raw, as with
// docker).
func (p *testPty) wait(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	p.slave.Close() // ctl is gone: the reader sees EIO after the rest
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal's output never ended")
	}
	return cmd.ProcessState.ExitCode(), strings.ReplaceAll(p.output(), "\r", "")
}

// TestCtlRunTTY: ctl run -t gives the process a terminal of the
// container's devpts, sized like ctl's; -i -t passes keys through a raw
// ctl terminal that is restored afterwards; SIGWINCH on ctl's terminal
// resizes the container's; the exit status is still ctl's; without -t
// stdin and stdout are no terminals.
func TestCtlRunTTY(t *testing.T) {
	requireRootE2E(t)
	reg := startTarget(t)
	c := newCtl(t)
	name := reg.Ref("ctl/tty:v1")
	push(t, name, whiteoutImage(t))
	c.run(t, "pull", "-q", name)

	t.Run("tty", func(t *testing.T) {
		p := openTestPty(t, 40, 100)
		cmd := c.command(t, "", "run", "--rm", "-t", "-e", "PROBE_TTY=1", name, "3")
		p.start(t, cmd)
		code, out := p.wait(t, cmd)
		if code != 3 {
			t.Errorf("exit code %d, want 3; terminal %q", code, out)
		}
		for _, w := range []string{"tty0=/dev/pts/0\n", "isatty0=true\n", "isatty1=true\n", "winsize=40x100\n"} {
			if !strings.Contains(out, w) {
				t.Errorf("terminal lacks %q:\n%q", w, out)
			}
		}
	})
	t.Run("no tty", func(t *testing.T) {
		r := c.try(t, "", "run", "--rm", "-e", "PROBE_TTY=1", name)
		for _, w := range []string{"isatty0=false\n", "isatty1=false\n", "winsize=none\n"} {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("output lacks %q:\n%s", w, r)
			}
		}
	})
	t.Run("interactive", func(t *testing.T) {
		p := openTestPty(t, 24, 80)
		before, err := unix.IoctlGetTermios(int(p.slave.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		cmd := c.command(t, "", "run", "--rm", "-i", "-t", "-e", "PROBE_TTY=1", name, "read")
		p.start(t, cmd)
		p.waitFor(t, "winsize=24x80")
		time.Sleep(100 * time.Millisecond) // the probe is reading now
		if _, err := p.master.Write([]byte("hello\r")); err != nil {
			t.Fatal(err)
		}
		code, out := p.wait(t, cmd)
		if code != 0 || !strings.Contains(out, `read:"hello" <nil>`) {
			t.Errorf("exit code %d; terminal %q", code, out)
		}
		after, err := unix.IoctlGetTermios(int(p.master.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if after.Lflag != before.Lflag || after.Iflag != before.Iflag || after.Oflag != before.Oflag {
			t.Errorf("ctl left its terminal changed: lflag %#x -> %#x, iflag %#x -> %#x, oflag %#x -> %#x",
				before.Lflag, after.Lflag, before.Iflag, after.Iflag, before.Oflag, after.Oflag)
		}
	})
	t.Run("SIGWINCH", func(t *testing.T) {
		p := openTestPty(t, 24, 80)
		cmd := c.command(t, "", "run", "--rm", "-t", name, "winch")
		p.start(t, cmd)
		p.waitFor(t, "waiting for SIGWINCH")
		p.resize(t, 50, 120)
		code, out := p.wait(t, cmd)
		if code != 0 || !strings.Contains(out, "resized=50x120") {
			t.Errorf("exit code %d; terminal %q", code, out)
		}
	})
	t.Run("-it without a terminal", func(t *testing.T) {
		r := c.try(t, "", "run", "--rm", "-i", "-t", name)
		if r.code == 0 || !strings.Contains(r.stderr, "not a TTY") {
			t.Errorf("want docker's refusal:\n%s", r)
		}
	})
}
