package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthhq/berth/registry/client"
	"github.com/berthhq/berth/runtime/image"
	"github.com/distribution/reference"
	"github.com/spf13/cobra"
)

// copyOptions are the flags of ctl copy.
type copyOptions struct {
	allTags  bool
	platform string
	quiet    bool
}

func newCopyCmd(a *app) *cobra.Command {
	var o copyOptions
	cmd := &cobra.Command{
		Use:     "copy [OPTIONS] SRC DST",
		Aliases: []string{"cp"},
		Short:   "Copy an image from one registry to another, without the local store",
		Long: "Copy image SRC to DST, registry to registry, keeping its digest: a multi-platform image is copied\n" +
			"whole unless --platform picks one. DST without a tag takes SRC's. With --all-tags, SRC and DST\n" +
			"are repositories and every tag of SRC is copied.",
		Args: args(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.copyImage(cmd.Context(), args[0], args[1], o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.allTags, "all-tags", "a", false, "copy every tag of SRC's repository to DST's")
	f.StringVar(&o.platform, "platform", "", "copy only this platform of a multi-platform image (os/arch[/variant])")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "only print the references copied to")
	return cmd
}

// copyImage copies src to dst (every tag with --all-tags), showing layer
// progress as push does and a "<tag>: digest: ... size: ..." line per
// image.
func (a *app) copyImage(ctx context.Context, src, dst string, o copyOptions) error {
	srcNamed, err := reference.ParseNormalizedNamed(src)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	dstNamed, err := reference.ParseNormalizedNamed(dst)
	if err != nil {
		return fmt.Errorf("%s: %w", dst, err)
	}
	if o.allTags && (!reference.IsNameOnly(srcNamed) || !reference.IsNameOnly(dstNamed)) {
		return errors.New("tag can't be used with --all-tags/-a")
	}
	var opts []image.Option
	if o.platform != "" {
		p, err := image.ParsePlatform(o.platform)
		if err != nil {
			return err
		}
		opts = append(opts, image.WithPlatform(p))
	}
	regs, err := a.registries()
	if err != nil {
		return err
	}
	from, err := regs.client(ctx, reference.Domain(srcNamed))
	if err != nil {
		return err
	}
	to, err := regs.client(ctx, reference.Domain(dstNamed))
	if err != nil {
		return err
	}
	pairs, err := copyPairs(ctx, from, srcNamed, dstNamed, o.allTags)
	if err != nil {
		return err
	}
	for _, p := range pairs {
		prog := a.newProgress(o.quiet)
		res, err := image.Copy(ctx, from, to, p[0], p[1], append(opts[:len(opts):len(opts)], image.WithProgress(prog.event))...)
		prog.done()
		if err != nil {
			return accessError("copy", dstNamed, err)
		}
		a.printPushed(res, o.quiet)
	}
	return nil
}

// copyPairs returns the source and destination references to copy: every
// tag of src's repository with allTags, else src (latest by default) to
// dst, which takes src's tag or digest when it has none.
func copyPairs(ctx context.Context, from *client.Client, src, dst reference.Named, allTags bool) ([][2]string, error) {
	if !allTags {
		src = reference.TagNameOnly(src)
		if reference.IsNameOnly(dst) {
			var err error
			switch r := src.(type) {
			case reference.Digested:
				dst, err = reference.WithDigest(dst, r.Digest())
			case reference.Tagged:
				dst, err = reference.WithTag(dst, r.Tag())
			}
			if err != nil {
				return nil, err
			}
		}
		return [][2]string{{src.String(), dst.String()}}, nil
	}
	tags, err := from.Tags(ctx, reference.Path(src))
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", reference.FamiliarName(src), err)
	}
	var pairs [][2]string
	for _, t := range tags {
		s, err := reference.WithTag(src, t)
		if err != nil {
			return nil, fmt.Errorf("registry listed an invalid tag %q: %w", t, err)
		}
		d, _ := reference.WithTag(dst, t)
		pairs = append(pairs, [2]string{s.String(), d.String()})
	}
	return pairs, nil
}
