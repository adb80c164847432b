package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/berthhq/berth/runtime/container"
	"github.com/spf13/cobra"
)

func newPsCmd(a *app) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List containers",
		Args:  args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.listContainers(all)
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "show all containers (default shows just running)")
	return cmd
}

// listContainers prints docker ps's columns, newest first.
func (a *app) listContainers(all bool) error {
	rt, _, err := a.containers()
	if err != nil {
		return err
	}
	recs, err := rt.List()
	if err != nil {
		return err
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Created.After(recs[j].Created) })
	now := time.Now()
	w := tabwriter.NewWriter(a.out, 0, 0, 3, ' ', 0)
	fmt.Fprintln(w, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tNAMES")
	for _, r := range recs {
		if !all && r.Status != "running" {
			continue
		}
		command := strconv.Quote(strings.Join(r.Spec.Args(), " "))
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID[:12], r.Spec.Image, command,
			createdSince(r.Created, now), containerStatus(r, now), r.Spec.Name)
	}
	return w.Flush()
}

// containerStatus is docker's STATUS column.
func containerStatus(r container.Record, now time.Time) string {
	switch r.Status {
	case "running":
		return "Up " + humanDuration(now.Sub(r.Created))
	case "exited":
		if r.FinishedAt.IsZero() {
			return fmt.Sprintf("Exited (%d)", r.ExitCode)
		}
		return fmt.Sprintf("Exited (%d) %s ago", r.ExitCode, humanDuration(now.Sub(r.FinishedAt)))
	}
	return "Created"
}

func newRmCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rm [OPTIONS] CONTAINER [CONTAINER...]",
		Short: "Remove one or more containers",
		Args:  args(1, -1),
		RunE: func(cmd *cobra.Command, refs []string) error {
			return a.removeContainers(refs, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill and remove a running container")
	return cmd
}

// removeContainers removes each container, printing the name given as
// docker does; it fails (after trying all) if any could not be removed.
func (a *app) removeContainers(refs []string, force bool) error {
	rt, _, err := a.containers()
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range refs {
		if _, err := rt.Remove(ref, force); err != nil {
			fmt.Fprintf(a.errOut, "Error: %v\n", err)
			failed = true
			continue
		}
		fmt.Fprintln(a.out, ref)
	}
	if failed {
		return statusError{code: exitError}
	}
	return nil
}
