package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthhq/berth/runtime/image"
	"github.com/distribution/reference"
	"github.com/spf13/cobra"
)

func newTagCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
		Short: "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
		Args:  args(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.tag(cmd.Context(), args[0], args[1])
		},
	}
}

// tag names the local image src (a name or an ID prefix) dst too.
func (a *app) tag(ctx context.Context, src, dst string) error {
	svc, err := a.images()
	if err != nil {
		return err
	}
	err = svc.Tag(ctx, src, dst)
	if errors.Is(err, image.ErrNotFound) {
		return fmt.Errorf("no such image: %s", src)
	}
	return err
}

func newRmiCmd(a *app) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "rmi [OPTIONS] IMAGE [IMAGE...]",
		Short: "Remove one or more images",
		Long: "Remove image names from the local store and the unpacked snapshots no image or container\n" +
			"uses any more. The blobs are freed by 'ctl image prune'. An image a container uses is only\n" +
			"removed with -f.",
		Aliases: []string{"remove"}, // "rm" is ctl rm (containers), as in docker
		Args:    args(1, -1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.rmi(cmd.Context(), args, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "remove every name of an image given by ID, or one a container uses; ignore unknown images")
	return cmd
}

// rmi removes each ref, printing docker's "Untagged: NAME" lines. It goes
// on past refs that fail, prints one error line for each, and fails at the
// end if any did; with force, unknown images are not errors.
func (a *app) rmi(ctx context.Context, refs []string, force bool) error {
	svc, err := a.images()
	if err != nil {
		return err
	}
	failed := false
	for _, ref := range refs {
		if c, img, n := a.imageUser(ctx, svc, ref); c != "" && n <= 1 && !force {
			fmt.Fprintf(a.errOut, "Error: conflict: unable to remove repository reference %q (must force) - container %s is using its referenced image %s\n",
				ref, c[:min(12, len(c))], img.Encoded()[:min(12, len(img.Encoded()))])
			failed = true
			continue
		}
		names, err := svc.Remove(ctx, ref, force)
		for _, n := range names {
			fmt.Fprintf(a.out, "Untagged: %s\n", familiar(n))
		}
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return err
		case errors.Is(err, image.ErrNotFound):
			if !force {
				fmt.Fprintf(a.errOut, "Error: no such image: %s\n", ref)
				failed = true
			}
		default:
			fmt.Fprintf(a.errOut, "Error: %s\n", oneLine(err.Error()))
			failed = true
		}
	}
	if err := a.releaseSnapshots(ctx, svc); err != nil {
		fmt.Fprintf(a.errOut, "Error: %s\n", oneLine(err.Error()))
		failed = true
	}
	if failed {
		return statusError{code: exitError}
	}
	return nil
}

// familiar shortens a full reference the way docker prints names:
// docker.io/library/busybox:latest is busybox:latest.
func familiar(name string) string {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	return reference.FamiliarString(named)
}
