package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/berthhq/berth/runtime/mount"
	"github.com/opencontainers/go-digest"
)

// Store is the directory Snapshotter described in the package comment.
// It is safe for concurrent use by goroutines and processes: Commit and
// Remove are single renames.
type Store struct {
	root string
}

var _ Snapshotter = (*Store)(nil)

// New opens (creating if needed) a Store rooted at root.
func New(root string) (*Store, error) {
	if root == "" {
		return nil, fmt.Errorf("%w: empty snapshot root", ErrInvalid)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("snapshot: root %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("snapshot: create root: %w", err)
	}
	return &Store{root: abs}, nil
}

// Root returns the store's root directory.
func (s *Store) Root() string { return s.root }

// dir returns the directory of chainID after checking it is a sha256
// digest (every chain ID above the base is, and base layers' diff IDs
// are in practice).
func (s *Store) dir(chainID digest.Digest) (string, error) {
	if err := chainID.Validate(); err != nil || chainID.Algorithm() != digest.SHA256 {
		return "", fmt.Errorf("%w: chain ID %q is not a sha256 digest", ErrInvalid, chainID)
	}
	return filepath.Join(s.root, chainID.Encoded()), nil
}

// Prepare implements Snapshotter.
func (s *Store) Prepare(ctx context.Context, chainID, parent digest.Digest) (Pending, error) {
	final, err := s.dir(chainID)
	if err != nil {
		return nil, err
	}
	if parent != "" {
		if _, err := s.dir(parent); err != nil {
			return nil, err
		}
		if parent == chainID {
			return nil, fmt.Errorf("%w: %s is its own parent", ErrInvalid, chainID)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(final); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, chainID)
	}
	tmp, err := os.MkdirTemp(s.root, ".tmp-"+chainID.Encoded()[:12]+"-")
	if err != nil {
		return nil, fmt.Errorf("snapshot: prepare %s: %w", chainID, err)
	}
	p := &pending{chainID: chainID, tmp: tmp, final: final}
	p.lock, err = lockDir(tmp) // until Commit or Abort: Clean leaves it alone
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "parent"), []byte(parent), 0o600)
	}
	if err == nil {
		err = os.Mkdir(filepath.Join(tmp, "fs"), 0o755)
	}
	if err != nil {
		_ = p.Abort()
		return nil, fmt.Errorf("snapshot: prepare %s: %w", chainID, err)
	}
	return p, nil
}

type pending struct {
	chainID    digest.Digest
	tmp, final string
	lock       *os.File // flock on tmp while pending
	done       bool
}

// unlock releases the lock on the pending directory.
func (p *pending) unlock() {
	if p.lock != nil {
		p.lock.Close()
		p.lock = nil
	}
}

func (p *pending) Dir() string { return filepath.Join(p.tmp, "fs") }

func (p *pending) Commit(ctx context.Context) error {
	if p.done {
		return fmt.Errorf("%w: snapshot %s already committed or aborted", ErrInvalid, p.chainID)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	err := os.Rename(p.tmp, p.final)
	if err == nil {
		p.done = true
		p.unlock()
		return syncDir(filepath.Dir(p.final))
	}
	_ = p.Abort()
	if errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
		return fmt.Errorf("%w: %s", ErrExists, p.chainID)
	}
	return fmt.Errorf("snapshot: commit %s: %w", p.chainID, err)
}

func (p *pending) Abort() error {
	if p.done {
		return nil
	}
	p.done = true
	defer p.unlock()
	if err := os.RemoveAll(p.tmp); err != nil {
		return fmt.Errorf("snapshot: abort %s: %w", p.chainID, err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Stat implements Snapshotter.
func (s *Store) Stat(ctx context.Context, chainID digest.Digest) (Info, error) {
	dir, err := s.dir(chainID)
	if err != nil {
		return Info{}, err
	}
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "parent"))
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, fmt.Errorf("%w: %s", ErrNotFound, chainID)
	}
	if err != nil {
		return Info{}, fmt.Errorf("snapshot: stat %s: %w", chainID, err)
	}
	parent := digest.Digest(strings.TrimSpace(string(b)))
	if parent != "" {
		if err := parent.Validate(); err != nil {
			return Info{}, fmt.Errorf("snapshot: stat %s: bad parent %q: %w", chainID, parent, err)
		}
	}
	return Info{ChainID: chainID, Parent: parent, Dir: filepath.Join(dir, "fs")}, nil
}

// List implements Snapshotter.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("snapshot: list: %w", err)
	}
	var out []Info
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !e.IsDir() {
			continue
		}
		id := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if id.Validate() != nil {
			continue
		}
		info, err := s.Stat(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(string(a.ChainID), string(b.ChainID)) })
	return out, nil
}

// Remove implements Snapshotter.
func (s *Store) Remove(ctx context.Context, chainID digest.Digest) error {
	all, err := s.List(ctx)
	if err != nil {
		return err
	}
	found := false
	for _, in := range all {
		if in.ChainID == chainID {
			found = true
		}
		if in.Parent == chainID {
			return fmt.Errorf("%w: %s is the parent of %s", ErrInUse, chainID, in.ChainID)
		}
	}
	if !found {
		if _, err := s.dir(chainID); err != nil {
			return err
		}
		return fmt.Errorf("%w: %s", ErrNotFound, chainID)
	}
	return s.remove(chainID)
}

// remove renames the snapshot out of sight, then deletes it.
func (s *Store) remove(chainID digest.Digest) error {
	dir, err := s.dir(chainID)
	if err != nil {
		return err
	}
	gone, err := os.MkdirTemp(s.root, ".rm-"+chainID.Encoded()[:12]+"-")
	if err != nil {
		return fmt.Errorf("snapshot: remove %s: %w", chainID, err)
	}
	lock, err := lockDir(gone) // until it is gone: Clean leaves it alone
	if err != nil {
		_ = os.Remove(gone)
		return fmt.Errorf("snapshot: remove %s: %w", chainID, err)
	}
	defer lock.Close()
	trash := filepath.Join(gone, "snapshot")
	if err := os.Rename(dir, trash); err != nil {
		_ = os.Remove(gone)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNotFound, chainID)
		}
		return fmt.Errorf("snapshot: remove %s: %w", chainID, err)
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("snapshot: remove %s: %w", chainID, err)
	}
	return nil
}

// Prune implements Snapshotter.
// It first removes what interrupted work left behind (see Clean).
func (s *Store) Prune(ctx context.Context, keep map[digest.Digest]bool) ([]digest.Digest, error) {
	if _, err := s.Clean(ctx); err != nil {
		return nil, err
	}
	all, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	parents := make(map[digest.Digest]digest.Digest, len(all))
	for _, in := range all {
		parents[in.ChainID] = in.Parent
	}
	live := map[digest.Digest]bool{}
	for id := range keep {
		for ; id != "" && !live[id]; id = parents[id] {
			live[id] = true
		}
	}
	var removed []digest.Digest
	for _, in := range all {
		if live[in.ChainID] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if err := s.remove(in.ChainID); err != nil && !errors.Is(err, ErrNotFound) {
			return removed, err
		}
		removed = append(removed, in.ChainID)
	}
	return removed, nil
}

// Mounts implements Snapshotter. A writable view is one overlay mount
// with the snapshots as lowerdirs, topmost first; a read-only view of
// one layer is a read-only bind mount (overlay needs two lowers without
// an upper); of several, a lowerdir-only overlay.
func (s *Store) Mounts(ctx context.Context, chainIDs []digest.Digest, upper, work string) ([]mount.Mount, error) {
	if (upper == "") != (work == "") {
		return nil, fmt.Errorf("%w: upper and work dirs go together (upper %q, work %q)", ErrInvalid, upper, work)
	}
	if len(chainIDs) == 0 {
		return nil, fmt.Errorf("%w: no layers to mount", ErrInvalid)
	}
	lowers := make([]string, len(chainIDs))
	var prev digest.Digest
	for i, id := range chainIDs {
		in, err := s.Stat(ctx, id)
		if err != nil {
			return nil, err
		}
		if in.Parent != prev {
			return nil, fmt.Errorf("%w: layer %d (%s) has parent %q, not %q", ErrInvalid, i, id, in.Parent, prev)
		}
		prev = id
		lowers[len(chainIDs)-1-i] = in.Dir
	}
	if upper == "" && len(lowers) == 1 {
		return []mount.Mount{{Type: "bind", Source: lowers[0], Options: []string{"ro", "rbind"}}}, nil
	}
	opts := []string{"index=off", "lowerdir=" + mount.JoinLower(lowers)}
	if upper != "" {
		opts = append(opts, "upperdir="+upper, "workdir="+work)
	} else {
		opts = append([]string{"ro"}, opts...)
	}
	return []mount.Mount{{Type: "overlay", Source: "overlay", Options: opts}}, nil
}
