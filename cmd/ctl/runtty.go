package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/berthhq/berth/runtime/container"
	"golang.org/x/term"
)

// attachTerminal prepares ctl's terminal for a container with a pty: with
// -i on a terminal, raw mode (keys, ^C included, go to the container's
// pty as docker does); the pty's size from ctl's terminal (stdout's, else
// stdin's), sent again on each SIGWINCH. The returned function restores
// the terminal and stops the resizes.
func (a *app) attachTerminal(interactive bool) (<-chan container.WinSize, func()) {
	var restores []func()
	if fd, ok := terminalFd(a.in); ok && interactive {
		if st, err := term.MakeRaw(fd); err == nil {
			restores = append(restores, func() { _ = term.Restore(fd, st) })
		}
	}
	fd, ok := terminalFd(a.out)
	if !ok {
		fd, ok = terminalFd(a.in)
	}
	resize := make(chan container.WinSize, 1)
	if !ok {
		close(resize)
		return resize, func() { runAll(restores) }
	}
	send := func() {
		w, h, err := term.GetSize(fd)
		if err != nil {
			return
		}
		select {
		case <-resize: // a newer size replaces one not taken yet
		default:
		}
		resize <- container.WinSize{Rows: uint16(h), Cols: uint16(w)}
	}
	send()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				send()
			case <-stop:
				return
			}
		}
	}()
	return resize, func() {
		signal.Stop(winch)
		close(stop)
		runAll(restores)
	}
}

func runAll(fns []func()) {
	for _, f := range fns {
		f()
	}
}
