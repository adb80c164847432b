// Package snapshot keeps unpacked image layers, one directory per layer
// keyed by chain ID, and describes the overlay mounts that stack them.
//
// Seams return descriptions: Mounts returns []mount.Mount and never
// mounts; the caller performs the mount (see runtime/mount).
//
// On-disk layout of a Store rooted at <root> (ctl uses <ctl root>/snapshots):
//
//	<root>/<hex>/fs        the layer's unpacked tree (overlay whiteouts kept)
//	<root>/<hex>/parent    the parent chain ID, empty for a base layer
//	<root>/.tmp-*/         a Prepare in progress (or left by a crash)
//	<root>/.rm-*/          a Remove in progress (or left by a crash)
//
// <hex> is the hex part of a sha256 chain ID. A snapshot becomes visible
// only when its whole directory is renamed into place by Commit, so a
// crash never leaves a half-unpacked snapshot under a chain ID.
package snapshot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/berthhq/berth/runtime/mount"
	"github.com/opencontainers/go-digest"
)

var (
	// ErrNotFound: no committed snapshot has the chain ID.
	ErrNotFound = errors.New("snapshot: not found")
	// ErrExists: a snapshot with the chain ID is already committed.
	ErrExists = errors.New("snapshot: already exists")
	// ErrInUse: another snapshot names this one as its parent.
	ErrInUse = errors.New("snapshot: in use as a parent")
	// ErrInvalid: a bad argument (malformed chain ID, chain out of order,
	// upper without work dir...).
	ErrInvalid = errors.New("snapshot: invalid argument")
)

// Info describes a committed snapshot.
type Info struct {
	ChainID digest.Digest
	Parent  digest.Digest // "" for a base layer
	Dir     string        // the unpacked tree; an overlay lowerdir
}

// Pending is a snapshot being prepared: the caller fills Dir, then calls
// Commit to publish it or Abort to drop it. Abort after Commit does
// nothing, so `defer p.Abort()` is safe.
type Pending interface {
	// Dir is the empty directory to unpack the layer into.
	Dir() string
	// Commit publishes the snapshot atomically. It returns an error
	// wrapping ErrExists (and drops the pending tree) when another
	// Commit of the same chain ID won.
	Commit(ctx context.Context) error
	// Abort removes the pending tree.
	Abort() error
}

// Snapshotter is what the runtime needs from a snapshot store. Every
// implementation passes snapshottest.Run.
type Snapshotter interface {
	// Prepare starts a snapshot for chainID whose parent is parent
	// ("" for a base layer). The parent need not be committed yet, so
	// layers can be unpacked in parallel. Fails with ErrExists when
	// chainID is already committed, ErrInvalid on a malformed ID.
	Prepare(ctx context.Context, chainID, parent digest.Digest) (Pending, error)
	// Stat returns a committed snapshot or ErrNotFound.
	Stat(ctx context.Context, chainID digest.Digest) (Info, error)
	// List returns committed snapshots ordered by chain ID.
	List(ctx context.Context) ([]Info, error)
	// Remove deletes a committed snapshot: ErrNotFound if there is none,
	// ErrInUse while a committed snapshot names it as parent. The caller
	// makes sure it is not mounted.
	Remove(ctx context.Context, chainID digest.Digest) error
	// Prune removes every committed snapshot that is neither in keep nor
	// an ancestor of one in keep, and returns the chain IDs removed.
	Prune(ctx context.Context, keep map[digest.Digest]bool) ([]digest.Digest, error)
	// Mounts describes the mount of the chain chainIDs (base layer
	// first, as ChainIDs returns it) with upper and work dirs, or a
	// read-only view when both are "". Each snapshot must be committed
	// (ErrNotFound) and name the previous one as parent (ErrInvalid).
	// It does not mount; the caller does.
	Mounts(ctx context.Context, chainIDs []digest.Digest, upper, work string) ([]mount.Mount, error)
}

// ChainIDs returns the chain ID of each layer of an image whose layers
// have diffIDs (base first), per the OCI image spec:
// ChainID(L1) = DiffID(L1), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
func ChainIDs(diffIDs []digest.Digest) []digest.Digest {
	out := make([]digest.Digest, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(string(out[i-1]) + " " + string(d)))
		out[i] = digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(sum[:]))
	}
	return out
}

// ChainID returns the chain ID of the top layer of diffIDs, "" for none.
func ChainID(diffIDs []digest.Digest) digest.Digest {
	if len(diffIDs) == 0 {
		return ""
	}
	return ChainIDs(diffIDs)[len(diffIDs)-1]
}
