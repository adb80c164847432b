package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/runtime/container"
	"github.com/spf13/cobra"
)

func newLogsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "logs CONTAINER",
		Short: "Print the output of a container run with -d",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return a.logs(refs[0])
		},
	}
}

// logs copies a detached container's log (its stdout and stderr) to
// ctl's stdout.
func (a *app) logs(ref string) error {
	rt, _, err := a.containers()
	if err != nil {
		return err
	}
	rec, err := rt.Lookup(ref)
	if err != nil {
		return err
	}
	f, err := os.Open(filepath.Join(rt.Dir(rec.ID), container.LogFile))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("container %s has no log: only containers run with -d have one", ref)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(a.out, f)
	return err
}
