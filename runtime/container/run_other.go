//go:build !linux

package container

import (
	"context"
	"io"
)

// Stdio are the container process's standard streams.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
	Resize   <-chan WinSize
}

// Run returns ErrNotSupported: containers need Linux.
func (r *Runtime) Run(ctx context.Context, spec Spec, stdio Stdio) (int, error) {
	return 0, ErrNotSupported
}

// Init returns 127 after reporting that containers need Linux.
func Init(args []string) int { return 127 }

// Remove returns ErrNotSupported: containers need Linux.
func (r *Runtime) Remove(ref string, force bool) (string, error) { return "", ErrNotSupported }

// LogFile is the name of a detached container's output file.
const LogFile = "log"

// RunDetached returns ErrNotSupported: containers need Linux.
func (r *Runtime) RunDetached(ctx context.Context, spec Spec) (string, error) {
	return "", ErrNotSupported
}

// Monitor returns 1: containers need Linux.
func Monitor(args []string) int { return 1 }

func (r *Runtime) reconcile(rec *Record) {}
