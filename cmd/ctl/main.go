package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/berthhq/berth/runtime/container"
)

// main runs ctl with a context that Ctrl-C (or SIGTERM) cancels: the
// command stops where it is, keeping what it finished (a partial pull
// resumes next time), and ctl exits 130. A second Ctrl-C kills at once.
//
// Invoked as "ctl __ctl-init ..." it is instead a container's init stage
// (runtime/container re-executes ctl that way), before anything else runs.
func main() {
	if code, ok := container.Reexec(os.Args); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // the next signal gets the default action
	}()
	code := Execute(ctx, NewRootCmd(os.Stdin, os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}
