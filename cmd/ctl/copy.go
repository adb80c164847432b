package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"
)

// copyOptions are the flags of ctl copy.
type copyOptions struct {
	allTags  bool
	platform string
}

func newCopyCmd(a *app) *cobra.Command {
	var o copyOptions
	cmd := &cobra.Command{
		Use:     "copy [OPTIONS] SRC DST",
		Aliases: []string{"cp"},
		Short:   "Copy an image from one registry to another, without the local store",
		Args:    args(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.copyImage(cmd.Context(), args[0], args[1], o)
		},
	}
	cmd.Flags().BoolVarP(&o.allTags, "all-tags", "a", false, "copy every tag of SRC's repository to DST's")
	cmd.Flags().StringVar(&o.platform, "platform", "", "copy only this platform of a multi-platform image (os/arch[/variant])")
	return cmd
}

func (a *app) copyImage(ctx context.Context, src, dst string, o copyOptions) error {
	return errors.New("copy is not available yet")
}
