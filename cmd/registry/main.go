// Command registry serves the OCI distribution API from local storage, with
// a configuration file in the CNCF Distribution registry's (registry:2)
// format.
//
//	registry serve [--config FILE | FILE]
//	registry config check FILE
//	registry user add [--htpasswd FILE | --config FILE] [--cost N] NAME
//	registry user remove [--htpasswd FILE | --config FILE] NAME
//	registry version
//
// See package github.com/berthhq/berth/registry/config for the configuration
// keys and REGISTRY_* environment variables.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, restore the default handling so that a second
	// one stops the process at once instead of waiting for the drain.
	go func() {
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
