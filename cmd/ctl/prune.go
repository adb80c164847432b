package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// newImageCmd is docker's "image" group: prune, and the image commands
// under their group names (ls, rm, tag, pull, push, inspect, save, load).
func newImageCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	ls := newImagesCmd(a)
	ls.Use, ls.Aliases = strings.Replace(ls.Use, "images", "ls", 1), []string{"list"}
	rm := newRmiCmd(a)
	rm.Use, rm.Aliases = strings.Replace(rm.Use, "rmi", "rm", 1), []string{"rmi", "remove"}
	cmd.AddCommand(newPruneCmd(a), ls, rm, newTagCmd(a), newPullCmd(a), newPushCmd(a),
		newInspectCmd(a), newSaveCmd(a), newLoadCmd(a))
	return cmd
}

// pruneOptions are the flags of ctl image prune.
type pruneOptions struct {
	all   bool
	force bool
}

func newPruneCmd(a *app) *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS]",
		Short: "Remove unused images",
		Long: "Free the space of images no name refers to any more (removed with 'ctl rmi'). With -a, remove\n" +
			"every image name first, then free all of it.",
		Args: args(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.prune(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.all, "all", "a", false, "remove all images, not only unnamed ones")
	cmd.Flags().BoolVarP(&o.force, "force", "f", false, "do not prompt for confirmation")
	return cmd
}

// prune asks for confirmation as docker does (unless forced), removes
// every name with -a, then frees the blobs no name reaches and prints what
// went and how much space came back. Snapshots no image or container
// uses go too.
func (a *app) prune(ctx context.Context, o pruneOptions) error {
	warning := "WARNING! This will remove all dangling images."
	if o.all {
		warning = "WARNING! This will remove all images."
	}
	if !o.force && !a.confirm(warning) {
		return nil
	}
	svc, err := a.images()
	if err != nil {
		return err
	}
	var untagged []string
	if o.all {
		list, err := svc.List(ctx)
		if err != nil {
			return err
		}
		for _, s := range list {
			if _, err := svc.Remove(ctx, s.Name, true); err != nil {
				return err
			}
			untagged = append(untagged, s.Name)
		}
	}
	freed, err := svc.Prune(ctx)
	if err != nil {
		return err
	}
	if err := a.releaseSnapshots(ctx, svc); err != nil {
		return err
	}
	if len(untagged)+len(freed.Blobs) > 0 {
		fmt.Fprintln(a.out, "Deleted Images:")
		for _, n := range untagged {
			fmt.Fprintf(a.out, "untagged: %s\n", familiar(n))
		}
		for _, b := range freed.Blobs {
			fmt.Fprintf(a.out, "deleted: %s\n", b.Digest)
		}
		fmt.Fprintln(a.out)
	}
	fmt.Fprintf(a.out, "Total reclaimed space: %s\n", transferSize(freed.Bytes))
	return nil
}

// confirm prints warning and docker's question and reports whether the
// answer from stdin is yes.
func (a *app) confirm(warning string) bool {
	fmt.Fprintf(a.out, "%s\nAre you sure you want to continue? [y/N] ", warning)
	line, _ := bufio.NewReader(a.in).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	if !isTerminal(a.in) {
		fmt.Fprintln(a.out)
	}
	return answer == "y" || answer == "yes"
}
