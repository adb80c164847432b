// Command ctl is Berth's workstation tool: log in to registries, pull,
// push, tag, list, remove, save, load and copy images, the way docker does
// (same verbs, flags, output columns, exit codes and ~/.docker/config.json).
//
// Each command is a thin shell: its RunE parses flags and calls one
// library function (runtime/image for the local store, registry/client for
// registries, auth/credstore for credentials). NewRootCmd builds the tree
// over the given streams, so tests run commands in-process; only main
// exits.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes, as docker's CLI uses them.
const (
	exitOK       = 0
	exitError    = 1   // the command failed
	exitUsage    = 125 // a flag the command does not take
	exitCanceled = 130 // interrupted (Ctrl-C)
)

// app is what every command shares: the streams NewRootCmd was given and
// the global flags.
type app struct {
	in          io.Reader
	out, errOut io.Writer

	root       string // --root
	configPath string // --config
	insecure   bool   // --insecure

	// getenv and home are how the environment is read (os.Getenv and the
	// user's home directory); fixed at NewRootCmd.
	getenv func(string) string
	home   string
}

// NewRootCmd returns ctl's command tree reading from in and writing to out
// and errOut. Run it with Execute, which prints the error and returns the
// exit code.
func NewRootCmd(in io.Reader, out, errOut io.Writer) *cobra.Command {
	home, _ := os.UserHomeDir()
	return newRootCmd(&app{in: in, out: out, errOut: errOut, getenv: os.Getenv, home: home})
}

// newRootCmd builds the tree over a, whose streams and environment are
// set; tests give each run its own environment.
func newRootCmd(a *app) *cobra.Command {
	in, out, errOut := a.in, a.out, a.errOut
	root := &cobra.Command{
		Use:           "ctl",
		Short:         "Berth's workstation tool: pull, push and manage images",
		SilenceErrors: true,
		SilenceUsage:  true,
		// Arguments a command does not take are usage errors, as are
		// unknown subcommands.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		CompletionOptions: cobra.CompletionOptions{
			DisableDefaultCmd: true,
		},
	}
	root.SetIn(in)
	root.SetOut(out)
	root.SetErr(errOut)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{cmd: cmd, err: err, code: exitUsage}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.root, "root", "", "local store directory (env CTL_ROOT; default /var/lib/ctl for root, else $XDG_DATA_HOME/ctl)")
	pf.StringVar(&a.configPath, "config", "", "ctl's configuration file (default $XDG_CONFIG_HOME/ctl/config.yaml, else <root>/config.yaml, when present)")
	pf.BoolVar(&a.insecure, "insecure", false, "allow plain HTTP and unverified TLS to every registry")

	root.AddCommand(
		newLoginCmd(a), newLogoutCmd(a),
		newPullCmd(a), newPushCmd(a),
		newImagesCmd(a), newTagCmd(a), newRmiCmd(a), newImageCmd(a), newInspectCmd(a),
		newSaveCmd(a), newLoadCmd(a), newCopyCmd(a), newSearchCmd(a),
		newRunCmd(a), newPsCmd(a), newRmCmd(a), newLogsCmd(a), newCommitCmd(a),
	)
	return root
}

// Execute runs cmd with ctx and returns the exit code: 0 on success, 130
// when ctx was cancelled (Ctrl-C), 125 for a flag the command does not
// take, 1 for anything else. Errors are printed on cmd's error stream as
// "Error: ..." (usage errors add docker's "See 'ctl X --help'." line).
func Execute(ctx context.Context, cmd *cobra.Command) int {
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	errOut := cmd.ErrOrStderr()
	var es exitStatus
	if errors.As(err, &es) {
		return int(es) // ctl run: the container's, whatever stopped it
	}
	if ctx.Err() != nil {
		// Interrupted: whatever failed, failed because of it.
		fmt.Fprintln(errOut)
		return exitCanceled
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(errOut, "Error: %v\nSee '%s --help'.\n", ue.err, ue.cmd.CommandPath())
		return ue.code
	}
	if strings.HasPrefix(err.Error(), "unknown command ") {
		// cobra's own: "unknown command "x" for "ctl"".
		fmt.Fprintf(errOut, "Error: %v\nSee '%s --help'.\n", err, cmd.CommandPath())
		return exitError
	}
	var se statusError
	if errors.As(err, &se) {
		return se.code
	}
	msg := oneLine(err.Error())
	if strings.Contains(msg, "server gave HTTP response to HTTPS client") {
		msg += " (for a registry without TLS, use --insecure or set 'insecure: true' for it in ctl's config)"
	}
	fmt.Fprintf(errOut, "Error: %s\n", msg)
	return exitError
}

// usageError is a command line the command cannot take.
type usageError struct {
	cmd  *cobra.Command
	err  error
	code int
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// statusError ends a command with code after it printed what it had to
// say itself.
type statusError struct{ code int }

func (e statusError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// oneLine folds a multi-line error message into one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}

// args returns a cobra.PositionalArgs that requires between min and max
// arguments (max < 0: no upper bound), with docker's wording.
func args(minN, maxN int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) >= minN && (maxN < 0 || len(a) <= maxN) {
			return nil
		}
		var want string
		switch {
		case minN == maxN:
			want = fmt.Sprintf("exactly %d %s", minN, plural(minN, "argument"))
		case maxN < 0:
			want = fmt.Sprintf("at least %d %s", minN, plural(minN, "argument"))
		case minN == 0:
			want = fmt.Sprintf("at most %d %s", maxN, plural(maxN, "argument"))
		default:
			want = fmt.Sprintf("at least %d and at most %d arguments", minN, maxN)
		}
		return usageError{cmd: cmd, code: exitError,
			err: fmt.Errorf("%q requires %s", cmd.CommandPath(), want)}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
