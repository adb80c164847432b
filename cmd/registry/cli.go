package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/berthhq/berth/registry/config"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usage = `Usage: registry <command> [arguments]

Commands:
  serve [--config FILE | FILE]  serve the registry; without a file, the built-in
                                configuration (./data, 127.0.0.1:5000)
  config check FILE             check a configuration file and print its warnings
  user add [--htpasswd FILE | --config FILE] NAME
                                set a user's password (read from standard input)
  user remove [--htpasswd FILE | --config FILE] NAME
                                remove a user
  version                       print the version

REGISTRY_* environment variables override the configuration, as in registry:2.
`

// run executes the command line args (without the program name) and returns
// the process exit code. env holds "NAME=value" entries; ctx ends serving;
// stdin gives `user add` its password.
func run(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], env, stderr)
	case "config":
		return runConfig(args[1:], env, stdout, stderr)
	case "version":
		return runVersion(args[1:], stdout, stderr)
	case "user":
		return runUser(args[1:], env, stdin, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "registry: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: registry %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and returns an exit code when the command
// should stop: 0 after -h, exitUsage on a bad flag.
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK, true
	case err != nil:
		return exitUsage, true
	}
	return 0, false
}

// readConfig loads the configuration file at path, or the built-in one when
// path is empty, with the environment overrides in env.
func readConfig(path string, env []string) (*config.Config, []string, error) {
	if path == "" {
		return config.Load(strings.NewReader(config.DefaultYAML()), env)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return config.Load(f, env)
}

// printConfigError writes a configuration error, one problem per line.
func printConfigError(w io.Writer, source string, err error) {
	fmt.Fprintf(w, "registry: %s: invalid configuration:\n", source)
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
}

// runConfig runs `registry config check FILE`.
func runConfig(args, env []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintf(stderr, "Usage: registry config check FILE\n")
		return exitUsage
	}
	fs := newFlagSet("config check", "config check FILE", stderr)
	if code, stop := parseFlags(fs, args[1:]); stop {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	path := fs.Arg(0)
	cfg, warnings, err := readConfig(path, env)
	if err == nil {
		err = checkAuth(cfg)
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	var pathErr *os.PathError
	switch {
	case errors.As(err, &pathErr):
		fmt.Fprintf(stderr, "registry: %v\n", err)
		return exitError
	case err != nil:
		printConfigError(stderr, path, err)
		return exitError
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return exitOK
}
