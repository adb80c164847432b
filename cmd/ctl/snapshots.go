package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/berthhq/berth/runtime/image"
	"github.com/berthhq/berth/runtime/snapshot"
	digest "github.com/opencontainers/go-digest"
)

// releaseSnapshots removes the snapshots under <root>/snapshots that no
// named image and no container record uses: it keeps the chain IDs of
// every image still named in the store and of every container. It does
// nothing when no snapshot store exists (ctl never ran as root here), and
// keeps everything when an image cannot be read, rather than guess.
func (a *app) releaseSnapshots(ctx context.Context, svc *image.Service) error {
	root, err := a.rootDir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "snapshots")); os.IsNotExist(err) {
		return nil
	}
	rt, snaps, err := a.containers()
	if err != nil {
		return err
	}
	keep := map[digest.Digest]bool{}
	list, err := svc.List(ctx)
	if err != nil {
		return err
	}
	for _, s := range list {
		d, err := svc.Inspect(ctx, s.Name)
		if err != nil {
			return nil // an image we cannot read may use any snapshot
		}
		for _, id := range snapshot.ChainIDs(d.Config.RootFS.DiffIDs) {
			keep[id] = true
		}
	}
	recs, err := rt.List()
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, r := range recs {
		for _, id := range r.Spec.ChainIDs {
			keep[id] = true
		}
	}
	if _, err := snaps.Prune(ctx, keep); err != nil {
		return fmt.Errorf("release snapshots: %w", err)
	}
	return nil
}

// imageUser returns the ID of a container whose top snapshot is ref's
// image's, "" when none is (or ref is not an image, or no container
// store exists).
func (a *app) imageUser(ctx context.Context, svc *image.Service, ref string) (id string, img digest.Digest, names int) {
	d, err := svc.Inspect(ctx, ref)
	if err != nil {
		return "", "", 0
	}
	root, err := a.rootDir()
	if err != nil {
		return "", "", 0
	}
	if _, err := os.Stat(filepath.Join(root, "containers")); err != nil {
		return "", "", 0
	}
	rt, _, err := a.containers()
	if err != nil {
		return "", "", 0
	}
	recs, err := rt.List()
	if err != nil {
		return "", "", 0
	}
	top := snapshot.ChainID(d.Config.RootFS.DiffIDs)
	for _, r := range recs {
		if n := len(r.Spec.ChainIDs); top != "" && n > 0 && r.Spec.ChainIDs[n-1] == top {
			return r.ID, d.ID, len(d.Names)
		}
	}
	return "", "", 0
}
