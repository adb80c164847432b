package container

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// openConsole runs in init, inside the container's root and before it
// drops privileges: it opens a pseudo-terminal in the container's own
// devpts (/dev/ptmx -> pts/ptmx), gives the slave to uid:gid, sends the
// master to the parent over sock, waits for the parent to size it, then
// makes the slave the controlling terminal (in a new session) and stdin,
// stdout and stderr.
func openConsole(sock *os.File, uid, gid int) error {
	defer sock.Close()
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening /dev/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlocking the pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("pty number: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening %s: %w", name, err)
	}
	defer unix.Close(slave)
	if err := unix.Fchown(slave, uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", name, err)
	}
	if err := unix.Sendmsg(int(sock.Fd()), []byte{'m'}, unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("passing the pty to ctl: %w", err)
	}
	if _, err := sock.Read(make([]byte, 1)); err != nil {
		return fmt.Errorf("waiting for ctl to size the pty: %w", err)
	}
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("making %s the controlling terminal: %w", name, err)
	}
	for fd := range 3 {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("dup %s: %w", name, err)
		}
	}
	return nil
}

// newConsoleSocket returns the two ends of the socket init passes the
// pty master over: the parent keeps the first, init inherits the second.
func newConsoleSocket() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("console socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console-init"), nil
}

// errNoConsole: init ended before passing a pty (its error is on stderr).
var errNoConsole = errors.New("the container's init sent no pty")

// receiveConsole takes the pty master from init over sock.
func receiveConsole(sock *os.File) (*os.File, error) {
	buf, oob := make([]byte, 1), make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receiving the pty: %w", err)
	}
	if n == 0 {
		return nil, errNoConsole
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receiving the pty: bad control message (%v)", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receiving the pty: bad rights (%v)", err)
	}
	return os.NewFile(uintptr(fds[0]), "ptmx"), nil
}

// setSize sets the terminal size of the pty master.
func setSize(master *os.File, ws WinSize) {
	_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: ws.Rows, Col: ws.Cols})
}

// attachConsole receives the pty master from init over sock, sizes it
// from resize (when a size is ready), lets init go on, and copies
// between it and stdio until the container's side closes. It returns a
// function that waits (after the process ended) for the output to
// drain and releases the pty; it must be called.
func attachConsole(sock *os.File, stdio Stdio) (wait func(), err error) {
	defer sock.Close()
	master, err := receiveConsole(sock)
	if err != nil {
		return func() {}, err
	}
	select {
	case ws := <-stdio.Resize:
		setSize(master, ws)
	default:
	}
	if _, err := sock.Write([]byte{'g'}); err != nil {
		master.Close()
		return func() {}, fmt.Errorf("starting the process: %w", err)
	}
	out := stdio.Out
	if out == nil {
		out = io.Discard
	}
	drained, stop := make(chan struct{}), make(chan struct{})
	go func() {
		// EIO once every descriptor of the slave is closed: the end.
		_, _ = io.Copy(out, master)
		close(drained)
	}()
	if stdio.In != nil {
		go func() { _, _ = io.Copy(master, stdio.In) }()
	}
	go func() {
		for {
			select {
			case ws, ok := <-stdio.Resize:
				if !ok {
					return
				}
				setSize(master, ws)
			case <-stop:
				return
			}
		}
	}()
	return func() {
		close(stop)
		<-drained
		master.Close()
	}, nil
}
