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

// pushOptions are the flags of ctl push.
type pushOptions struct {
	allTags bool
	quiet   bool
}

func newPushCmd(a *app) *cobra.Command {
	var o pushOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Upload an image to a registry",
		Args:  args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.push(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.allTags, "all-tags", "a", false, "push every local tag of the repository")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "suppress verbose output")
	return cmd
}

// push uploads the local image ref (every local tag of its repository with
// --all-tags) to the registry it names, and reports like docker push.
func (a *app) push(ctx context.Context, ref string, o pushOptions) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return err
	}
	if o.allTags && !reference.IsNameOnly(named) {
		return errors.New("tag can't be used with --all-tags/-a")
	}
	svc, err := a.images()
	if err != nil {
		return err
	}
	refs := []string{reference.TagNameOnly(named).String()}
	if o.allTags {
		if refs, err = localTags(ctx, svc, named); err != nil {
			return err
		}
	} else if reference.IsNameOnly(named) && !o.quiet {
		fmt.Fprintln(a.out, "Using default tag: latest")
	}
	regs, err := a.registries()
	if err != nil {
		return err
	}
	c, err := regs.client(ctx, reference.Domain(named))
	if err != nil {
		return err
	}
	if !o.quiet {
		fmt.Fprintf(a.out, "The push refers to repository [%s]\n", named.Name())
	}
	for _, r := range refs {
		prog := a.newProgress(o.quiet)
		res, err := svc.Push(ctx, c, r, image.WithProgress(prog.event))
		prog.done()
		if errors.Is(err, image.ErrNotFound) {
			return fmt.Errorf("an image does not exist locally with the tag: %s", reference.FamiliarName(named))
		}
		if err != nil {
			return accessError("push", named, err)
		}
		a.printPushed(res, o.quiet)
	}
	return nil
}

// printPushed reports a pushed (or copied) image as docker does: its name
// alone with -q, else "TAG: digest: DIGEST size: N".
func (a *app) printPushed(res image.PushResult, quiet bool) {
	if quiet {
		fmt.Fprintln(a.out, res.Name)
		return
	}
	named, _ := image.ParseReference(res.Name)
	fmt.Fprintf(a.out, "%s: digest: %s size: %d\n", tagOrDigest(named), res.Digest, res.Size)
}

// localTags returns the store's names in named's repository.
func localTags(ctx context.Context, svc *image.Service, named reference.Named) ([]string, error) {
	list, err := svc.List(ctx)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, s := range list {
		if s.Repository == named.Name() && s.Tag != "" {
			refs = append(refs, s.Name)
		}
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("an image does not exist locally with the tag: %s", reference.FamiliarName(named))
	}
	return refs, nil
}

// accessError adds a hint to log in to a refusal of op ("push", "copy")
// on named's repository; other errors are returned as they are.
func accessError(op string, named reference.Named, err error) error {
	if errors.Is(err, client.ErrUnauthorized) || errors.Is(err, client.ErrDenied) {
		return fmt.Errorf("%s access denied for %s, may require 'ctl login %s': %w",
			op, reference.FamiliarName(named), reference.Domain(named), registryError(err))
	}
	return err
}
