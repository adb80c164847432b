package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/berthhq/berth/registry/client"
	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/berthhq/berth/storage/layout"
	"github.com/distribution/reference"
	"github.com/spf13/cobra"
)

// pullOptions are the flags of ctl pull.
type pullOptions struct {
	platform      string
	allTags       bool
	allPlatforms  bool
	quiet         bool
	maxConcurrent int
	noUnpack      bool
}

func newPullCmd(a *app) *cobra.Command {
	var o pullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Long: "Download an image from a registry into the local store, trying the mirrors the config lists for\n" +
			"the registry first. An interrupted pull resumes where it stopped.",
		Args: args(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.pull(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.platform, "platform", "", "pull this platform of a multi-platform image (os/arch[/variant]; default the host's)")
	f.BoolVarP(&o.allTags, "all-tags", "a", false, "download all tagged images in the repository")
	f.BoolVar(&o.allPlatforms, "all-platforms", false, "keep every platform of a multi-platform image")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "suppress verbose output")
	f.IntVar(&o.maxConcurrent, "max-concurrent", image.DefaultConcurrency, "layers to download at once")
	f.BoolVar(&o.noUnpack, "no-unpack", false, "keep the layers packed (by default root unpacks them into <root>/snapshots)")
	return cmd
}

// images opens the image service over <root>/content.
func (a *app) images() (*image.Service, error) {
	root, err := a.rootDir()
	if err != nil {
		return nil, err
	}
	store, err := layout.New(filepath.Join(root, "content"))
	if err != nil {
		return nil, fmt.Errorf("local store: %w", err)
	}
	return image.New(store)
}

// unpackOption adds unpacking into <root>/snapshots to opts unless
// --no-unpack, --all-platforms, or not root (overlay whiteouts need
// mknod, and only root mounts the snapshots).
func (a *app) unpackOption(opts []image.Option, o pullOptions) ([]image.Option, error) {
	if o.noUnpack || o.allPlatforms || os.Geteuid() != 0 {
		return opts, nil
	}
	root, err := a.rootDir()
	if err != nil {
		return nil, err
	}
	snaps, err := snapshot.New(filepath.Join(root, "snapshots"))
	if err != nil {
		return nil, fmt.Errorf("snapshot store: %w", err)
	}
	return append(opts, image.WithUnpack(snaps)), nil
}

// pull downloads ref (every tag of its repository with --all-tags) and
// reports like docker pull.
func (a *app) pull(ctx context.Context, ref string, o pullOptions) error {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return err
	}
	opts, err := o.imageOptions()
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
	if opts, err = a.unpackOption(opts, o); err != nil {
		return err
	}
	regs, err := a.registries()
	if err != nil {
		return err
	}
	sources, err := regs.pullSources(ctx, reference.Domain(named))
	if err != nil {
		return err
	}
	refs := []string{reference.TagNameOnly(named).String()}
	if o.allTags {
		if refs, err = allTags(ctx, sources, named); err != nil {
			return err
		}
	} else if reference.IsNameOnly(named) && !o.quiet {
		fmt.Fprintln(a.out, "Using default tag: latest")
	}
	updated := false
	for _, r := range refs {
		res, err := a.pullOne(ctx, svc, sources, r, o.quiet, opts)
		if err != nil {
			return pullError(named, err)
		}
		updated = updated || !res.UpToDate
	}
	shown := reference.FamiliarString(named)
	if !o.allTags {
		shown = reference.FamiliarString(reference.TagNameOnly(named))
	}
	if !o.quiet {
		if updated {
			fmt.Fprintf(a.out, "Status: Downloaded newer image for %s\n", shown)
		} else {
			fmt.Fprintf(a.out, "Status: Image is up to date for %s\n", shown)
		}
	}
	if o.allTags {
		fmt.Fprintln(a.out, named.Name())
	} else {
		fmt.Fprintln(a.out, reference.TagNameOnly(named).String())
	}
	return nil
}

// imageOptions turns the flags into runtime/image options (progress
// excepted).
func (o pullOptions) imageOptions() ([]image.Option, error) {
	if o.maxConcurrent < 1 {
		return nil, fmt.Errorf("--max-concurrent must be at least 1, not %d", o.maxConcurrent)
	}
	opts := []image.Option{image.WithConcurrency(o.maxConcurrent)}
	if o.platform != "" {
		if o.allPlatforms {
			return nil, errors.New("--platform and --all-platforms are mutually exclusive")
		}
		p, err := image.ParsePlatform(o.platform)
		if err != nil {
			return nil, err
		}
		opts = append(opts, image.WithPlatform(p))
	}
	if o.allPlatforms {
		opts = append(opts, image.WithAllPlatforms())
	}
	return opts, nil
}

// pullOne pulls one reference from the first source that has it, showing
// docker's lines: "<tag>: Pulling from <path>", the layers, "Digest: ...".
func (a *app) pullOne(ctx context.Context, svc *image.Service, sources []*client.Client, ref string, quiet bool, opts []image.Option) (image.PullResult, error) {
	named, err := image.ParseReference(ref)
	if err != nil {
		return image.PullResult{}, err
	}
	// Docker prints "<tag>: Pulling from <path>" once the image is found:
	// before the first layer event, or before the digest.
	header := func() {}
	if !quiet {
		header = sync.OnceFunc(func() {
			fmt.Fprintf(a.out, "%s: Pulling from %s\n", tagOrDigest(named), reference.Path(named))
		})
	}
	prog := a.newProgress(quiet)
	show := func(e image.Event) { header(); prog.event(e) }
	opts = append(opts[:len(opts):len(opts)], image.WithProgress(show))
	var res image.PullResult
	for i, src := range sources {
		res, err = svc.Pull(ctx, src, ref, opts...)
		if err == nil || ctx.Err() != nil || i == len(sources)-1 {
			break
		}
		// A mirror that fails is skipped; the registry itself comes last.
	}
	prog.done()
	if err != nil {
		return res, err
	}
	header()
	if !quiet {
		fmt.Fprintf(a.out, "Digest: %s\n", res.Digest)
	}
	return res, nil
}

// tagOrDigest is what docker prints before ": Pulling from".
func tagOrDigest(named reference.Named) string {
	if d, ok := named.(reference.Digested); ok {
		return d.Digest().String()
	}
	if t, ok := named.(reference.Tagged); ok {
		return t.Tag()
	}
	return "latest"
}

// pullSources returns clients for the mirrors of host, in the config's
// order, then for host itself.
func (r *registries) pullSources(ctx context.Context, host string) ([]*client.Client, error) {
	var out []*client.Client
	for _, m := range append(r.mirrors(host), host) {
		c, err := r.client(ctx, m)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// allTags lists the tags of named's repository, from the first source that
// answers, as full references.
func allTags(ctx context.Context, sources []*client.Client, named reference.Named) ([]string, error) {
	var (
		tags []string
		err  error
	)
	for _, src := range sources {
		if tags, err = src.Tags(ctx, reference.Path(named)); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("listing tags of %s: %w", reference.FamiliarName(named), err)
	}
	refs := make([]string, 0, len(tags))
	for _, t := range tags {
		tagged, err := reference.WithTag(named, t)
		if err != nil {
			return nil, fmt.Errorf("registry listed an invalid tag %q: %w", t, err)
		}
		refs = append(refs, tagged.String())
	}
	return refs, nil
}

// pullError says what went wrong the way docker does: a refusal gets
// docker's hint to log in, a missing manifest names the reference.
func pullError(named reference.Named, err error) error {
	var te *client.TokenError
	if errors.As(err, &te) && errors.Is(te, client.ErrUnauthorized) {
		return fmt.Errorf("pull access denied for %s: %s: check the saved credentials with 'ctl login %s'",
			reference.FamiliarName(named), tokenMessage(te), reference.Domain(named))
	}
	if errors.Is(err, client.ErrUnauthorized) || errors.Is(err, client.ErrDenied) {
		return fmt.Errorf("pull access denied for %s, repository does not exist or may require 'ctl login': %w",
			reference.FamiliarName(named), registryError(err))
	}
	var ce *client.Error
	if errors.As(err, &ce) && (ce.Code == "MANIFEST_UNKNOWN" || ce.Code == "NAME_UNKNOWN") {
		return fmt.Errorf("manifest for %s not found: %w", reference.FamiliarString(reference.TagNameOnly(named)), ce)
	}
	return err
}

// registryError is the registry's or token service's own refusal inside
// err, without the layers of context around it; err when there is none.
func registryError(err error) error {
	var ce *client.Error
	if errors.As(err, &ce) {
		return ce
	}
	var te *client.TokenError
	if errors.As(err, &te) {
		return te
	}
	return err
}
