package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// runVersion runs `registry version`: the module version, the VCS revision
// it was built from (when known) and the Go version.
func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", "version", stderr)
	if code, stop := parseFlags(fs, args); stop {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	fmt.Fprintln(stdout, versionString())
	return exitOK
}

func versionString() string {
	parts := []string{"registry"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return strings.Join(append(parts, "(unknown)", runtime.Version()), " ")
	}
	parts = append(parts, info.Main.Path, info.Main.Version)
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if rev != "" {
		parts = append(parts, "revision "+rev[:min(12, len(rev))]+modified)
	}
	return strings.Join(append(parts, runtime.Version()), " ")
}
