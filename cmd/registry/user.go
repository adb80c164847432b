package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/berthhq/berth/auth/htpasswd"
)

const userUsage = `Usage: registry user add [--htpasswd FILE | --config FILE] [--cost N] NAME
       registry user remove [--htpasswd FILE | --config FILE] NAME

add sets NAME's password, read from standard input: one line, or asked
for twice without echo on a terminal. The htpasswd file is --htpasswd, or
auth.token.htpasswd of the configuration (--config, else the built-in one
with REGISTRY_* overrides). A running registry sees the change within a
second.
`

// maxPasswordLine bounds the password line read from a pipe.
const maxPasswordLine = 4096

// runUser runs `registry user add|remove`.
func runUser(args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, userUsage)
		return exitUsage
	}
	switch args[0] {
	case "add":
		return runUserAdd(args[1:], env, stdin, stdout, stderr)
	case "remove", "rm":
		return runUserRemove(args[1:], env, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, userUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "registry: unknown user command %q\n\n%s", args[0], userUsage)
	return exitUsage
}

// userFlags are the flags add and remove share.
type userFlags struct {
	htpasswd, config string
}

func (f *userFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.htpasswd, "htpasswd", "", "the htpasswd `FILE`")
	fs.StringVar(&f.config, "config", "", "take the htpasswd file from auth.token.htpasswd of configuration `FILE`")
}

// path returns the htpasswd file the flags and env select, or writes why
// there is none to stderr and returns an exit code.
func (f *userFlags) path(env []string, stderr io.Writer) (string, int, bool) {
	if f.htpasswd != "" {
		if f.config != "" {
			fmt.Fprintln(stderr, "registry: give --htpasswd or --config, not both")
			return "", exitUsage, false
		}
		return f.htpasswd, 0, true
	}
	cfg, _, err := readConfig(f.config, env)
	source := f.config
	if source == "" {
		source = "built-in configuration"
	}
	var pathErr *os.PathError
	switch {
	case errors.As(err, &pathErr):
		fmt.Fprintf(stderr, "registry: %v\n", err)
		return "", exitError, false
	case err != nil:
		printConfigError(stderr, source, err)
		return "", exitError, false
	case cfg.Auth.Token == nil || !cfg.Auth.Token.SelfIssued():
		fmt.Fprintf(stderr, "registry: %s: no auth.token.htpasswd; give the file with --htpasswd FILE\n", source)
		return "", exitError, false
	}
	return cfg.Auth.Token.HTPasswd, 0, true
}

// runUserAdd runs `registry user add`.
func runUserAdd(args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("user add", "user add [--htpasswd FILE | --config FILE] [--cost N] NAME", stderr)
	var flags userFlags
	flags.register(fs)
	cost := fs.Int("cost", htpasswd.DefaultCost, "bcrypt `cost` (4 to 31); each step doubles the time a login takes")
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	user := fs.Arg(0)
	if err := htpasswd.CheckUser(user); err != nil {
		fmt.Fprintf(stderr, "registry: %v\n", err)
		return exitError
	}
	path, code, ok := flags.path(env, stderr)
	if !ok {
		return code
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "registry: %v\n", err)
		return exitError
	}
	if err := htpasswd.Add(path, user, password, *cost); err != nil {
		fmt.Fprintf(stderr, "registry: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "user %s saved in %s\n", user, path)
	return exitOK
}

// runUserRemove runs `registry user remove`.
func runUserRemove(args, env []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("user remove", "user remove [--htpasswd FILE | --config FILE] NAME", stderr)
	var flags userFlags
	flags.register(fs)
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	path, code, ok := flags.path(env, stderr)
	if !ok {
		return code
	}
	if err := htpasswd.Remove(path, fs.Arg(0)); err != nil {
		fmt.Fprintf(stderr, "registry: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "user %s removed from %s\n", fs.Arg(0), path)
	return exitOK
}

// readPassword reads a password from stdin: asked for twice without echo
// when stdin is a terminal, else its first line (without the line ending).
// An empty password is an error.
func readPassword(stdin io.Reader, stderr io.Writer) ([]byte, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(int(f.Fd()), stderr)
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, maxPasswordLine)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return nil, errors.New("empty password: write the password to standard input, such as: echo \"$PASSWORD\" | registry user add NAME")
	}
	return []byte(line), nil
}

// promptPassword asks for the password on the terminal fd, twice.
func promptPassword(fd int, stderr io.Writer) ([]byte, error) {
	read := func(prompt string) ([]byte, error) {
		fmt.Fprint(stderr, prompt)
		p, err := term.ReadPassword(fd)
		fmt.Fprintln(stderr)
		if err != nil {
			return nil, fmt.Errorf("reading the password: %w", err)
		}
		return p, nil
	}
	p, err := read("Password: ")
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty password")
	}
	again, err := read("Retype password: ")
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(p, again) {
		return nil, errors.New("the passwords do not match")
	}
	return p, nil
}
