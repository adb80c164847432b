package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/berthhq/berth/runtime/archive"
	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/runtime/snapshot"
	"github.com/opencontainers/go-digest"
	"github.com/spf13/cobra"
)

// commitOptions are the flags of ctl commit.
type commitOptions struct {
	message string
	author  string
	changes []string
}

func newCommitCmd(a *app) *cobra.Command {
	var o commitOptions
	cmd := &cobra.Command{
		Use:   "commit [OPTIONS] CONTAINER REPOSITORY[:TAG]",
		Short: "Create a new image from a container's changes",
		Long: "Create a new image from a container's changes: its overlay upper directory becomes one new\n" +
			"layer on top of the container's image (as root), named REPOSITORY[:TAG]. Prints the new\n" +
			"image ID. The name is required: the local store keeps no unnamed images.",
		Args: args(2, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.commit(cmd.Context(), args[0], args[1], o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.message, "message", "m", "", "commit message")
	f.StringVarP(&o.author, "author", "a", "", `author (e.g. "Jane Doe <jane@example.com>")`)
	f.StringArrayVarP(&o.changes, "change", "c", nil, `apply a Dockerfile instruction to the image (only CMD)`)
	return cmd
}

// parseCmdChange turns a CMD instruction (exec or shell form) into argv.
func parseCmdChange(s string) ([]string, error) {
	kw, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	if !strings.EqualFold(kw, "CMD") {
		return nil, fmt.Errorf("invalid --change %q: only CMD is supported", s)
	}
	rest = strings.TrimSpace(rest)
	if strings.HasPrefix(rest, "[") {
		var argv []string
		if err := json.Unmarshal([]byte(rest), &argv); err != nil {
			return nil, fmt.Errorf("invalid --change %q: %w", s, err)
		}
		return argv, nil
	}
	if rest == "" {
		return nil, fmt.Errorf("invalid --change %q: CMD needs an argument", s)
	}
	return []string{"/bin/sh", "-c", rest}, nil
}

// commit diffs container ref's upper directory and commits it on top of
// the container's image.
func (a *app) commit(ctx context.Context, ref, name string, o commitOptions) error {
	opts := image.CommitOptions{Message: o.message, Author: o.author, Ref: name}
	for _, c := range o.changes {
		cmd, err := parseCmdChange(c)
		if err != nil {
			return err
		}
		opts.Cmd = cmd
	}
	if os.Geteuid() != 0 {
		return errors.New("ctl commit needs root (to read overlay whiteouts and trusted xattrs)")
	}
	rt, snaps, err := a.containers()
	if err != nil {
		return err
	}
	rec, err := rt.Lookup(ref)
	if err != nil {
		return err
	}
	svc, err := a.images()
	if err != nil {
		return err
	}
	d, err := svc.Inspect(ctx, rec.Spec.Image)
	if err != nil {
		return fmt.Errorf("container %s: image %s: %w", ref, rec.Spec.Image, err)
	}
	if !slices.Equal(snapshot.ChainIDs(d.Config.RootFS.DiffIDs), rec.Spec.ChainIDs) {
		return fmt.Errorf("container %s: image %s changed since the container was created", ref, rec.Spec.Image)
	}
	lower, err := lowerDirs(ctx, snaps, rec.Spec.ChainIDs)
	if err != nil {
		return err
	}
	opts.Snapshots = snaps
	upper := filepath.Join(rt.Dir(rec.ID), "upper")
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(archive.Diff(ctx, upper, lower, pw)) }()
	res, err := svc.Commit(ctx, rec.Spec.Image, pr, opts)
	pr.CloseWithError(errors.New("commit stopped"))
	if err != nil {
		return err
	}
	fmt.Fprintln(a.out, res.ID)
	return nil
}

// lowerDirs returns the snapshot directories of chain, topmost first.
func lowerDirs(ctx context.Context, snaps *snapshot.Store, chain []digest.Digest) ([]string, error) {
	dirs := make([]string, 0, len(chain))
	for i := len(chain) - 1; i >= 0; i-- {
		info, err := snaps.Stat(ctx, chain[i])
		if err != nil {
			return nil, fmt.Errorf("layer snapshot of the container's image: %w", err)
		}
		dirs = append(dirs, info.Dir)
	}
	return dirs, nil
}
