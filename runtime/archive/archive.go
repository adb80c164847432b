// Package archive applies one OCI layer (a tar stream) to a directory,
// safely: nothing a layer holds can create, change, chmod or link anything
// outside that directory.
//
// # Path resolution
//
// Every entry's parent directory is resolved beneath an fd of the root with
// openat2(RESOLVE_IN_ROOT) (or, where the kernel lacks openat2, with
// cyphar/filepath-securejoin followed by an O_NOFOLLOW open); the entry
// itself is then created with an *at call on that parent fd and a single
// name component, never following a symlink in the last component. A
// symlink met on the way (absolute, or a chain climbing with "..") is
// resolved as if root were "/", so it can never lead outside root.
//
// Entry names are cleaned. A leading "/" is dropped (absolute names are
// relative to root, as docker and containerd do); a name whose ".."
// components would climb above root is refused with ErrUnsafePath and the
// apply stops. Hardlink targets follow the same rule, must already exist in
// root and must not be directories. Symlink targets are stored as-is.
//
// # Layer changeset rules
//
// Entries apply in tar order; a later entry replaces an earlier one with
// the same name (a file replacing a directory removes that directory's
// tree first; a directory over a directory keeps the children and takes the
// new metadata). Whiteouts follow the OCI image-spec: ".wh.NAME" hides NAME
// from lower layers and ".wh..wh..opq" hides every lower entry of its
// directory. In Overlay mode (the default) they become overlayfs
// whiteouts: a 0:0 character device named NAME, and the xattr
// trusted.overlay.opaque=y on the directory. In Remove mode (a flat unpack
// over the lower layers' files) NAME is deleted, and an opaque marker
// deletes every child of its directory that this layer did not write.
//
// Ownership is set before the mode so setuid and setgid bits survive; user.*
// and trusted.* xattrs (and security.capability) from SCHILY.xattr PAX
// records are applied when root, others are counted in Stats.XattrsSkipped;
// directory times are set last, after all their children. The entry for
// root itself ("./") is skipped: root's owner, mode and times are the
// caller's. Device nodes (char, block, fifo) are created only as root;
// otherwise, or under WithUnprivileged, they are skipped and counted.
//
// Limits: WithMaxSize caps the uncompressed bytes read (a decompression
// bomb stops at the limit with ErrTooLarge), WithMaxEntries the number of
// entries, MaxNameLen each name. The context is checked between entries.
//
// On any error the apply stops and root is left half applied; the caller
// deletes it. Linux only: elsewhere Apply returns an error.
package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Errors returned by Apply and ApplyLayer, wrapped with the entry name;
// check them with errors.Is.
var (
	// ErrUnsafePath: an entry name, hardlink target or whiteout would
	// leave root, or names something it may not (a directory as a
	// hardlink target, "." or ".." as a whiteout).
	ErrUnsafePath = errors.New("archive: unsafe path in layer")
	// ErrTooLarge: the uncompressed stream passed WithMaxSize.
	ErrTooLarge = errors.New("archive: layer exceeds the size limit")
	// ErrTooManyEntries: the layer holds more entries than WithMaxEntries.
	ErrTooManyEntries = errors.New("archive: layer exceeds the entry limit")
	// ErrDigestMismatch: ApplyLayer's layer digest or diff ID did not match.
	ErrDigestMismatch = errors.New("archive: digest mismatch")
	// ErrUnsupported: an entry type this package does not apply.
	ErrUnsupported = errors.New("archive: unsupported entry")
)

// WhiteoutMode says how OCI whiteouts are written.
type WhiteoutMode int

const (
	// Overlay writes overlayfs whiteouts (0:0 char devices, opaque xattr).
	Overlay WhiteoutMode = iota
	// Remove deletes the whited-out paths (flat unpack).
	Remove
)

// Default limits.
const (
	DefaultMaxSize    int64 = 64 << 30
	DefaultMaxEntries       = 10_000_000
	MaxNameLen              = 4096
)

// Stats counts what Apply did.
type Stats struct {
	Entries        int   // tar headers read
	Files          int   // regular files written
	Dirs           int   // directories created or updated
	Symlinks       int   // symlinks created
	Hardlinks      int   // hardlinks created
	Devices        int   // char, block and fifo nodes created
	DevicesSkipped int   // device nodes skipped (not root)
	Whiteouts      int   // .wh.NAME entries applied
	Opaques        int   // .wh..wh..opq entries applied
	XattrsSkipped  int   // xattrs not applied (namespace not allowed, or unsupported)
	Bytes          int64 // uncompressed tar bytes read
}

type options struct {
	maxSize      int64
	maxEntries   int
	whiteout     WhiteoutMode
	unprivileged bool
	blobVerified bool
	noOpenat2    bool // tests: force the securejoin fallback
}

// Option configures Apply and ApplyLayer.
type Option func(*options)

// WithMaxSize caps the uncompressed bytes read from the tar stream
// (default DefaultMaxSize); passing it aborts with ErrTooLarge.
func WithMaxSize(n int64) Option { return func(o *options) { o.maxSize = n } }

// WithMaxEntries caps the number of tar entries (default DefaultMaxEntries).
func WithMaxEntries(n int) Option { return func(o *options) { o.maxEntries = n } }

// WithWhiteoutMode picks how whiteouts are written (default Overlay).
func WithWhiteoutMode(m WhiteoutMode) Option { return func(o *options) { o.whiteout = m } }

// WithUnprivileged behaves as a non-root caller even when running as root:
// device nodes are skipped (counted in Stats.DevicesSkipped), owners are not
// changed and only user.* xattrs are applied. Whiteouts in Overlay mode
// still need mknod; use Remove mode for a rootless flat unpack.
func WithUnprivileged() Option { return func(o *options) { o.unprivileged = true } }

// WithBlobVerified tells ApplyLayer that the caller checks the compressed
// blob against its digest (a content store did when it committed the
// blob, or does before the stream reaches EOF), so ApplyLayer hashes only
// the uncompressed tar against the diff ID.
func WithBlobVerified() Option { return func(o *options) { o.blobVerified = true } }

func buildOptions(opts []Option) (options, error) {
	o := options{maxSize: DefaultMaxSize, maxEntries: DefaultMaxEntries}
	for _, opt := range opts {
		opt(&o)
	}
	if o.maxSize <= 0 || o.maxEntries <= 0 {
		return o, fmt.Errorf("archive: limits must be positive (max size %d, max entries %d)", o.maxSize, o.maxEntries)
	}
	if o.whiteout != Overlay && o.whiteout != Remove {
		return o, fmt.Errorf("archive: unknown whiteout mode %d", o.whiteout)
	}
	if os.Geteuid() != 0 {
		o.unprivileged = true
	}
	return o, nil
}

// Apply reads the tar stream r (already decompressed; see Decompress) and
// applies it to the existing directory root under the rules in the
// package comment. It stops at the first error, leaving root half applied;
// the caller removes it. r is read up to the end of the tar archive, not
// closed.
func Apply(ctx context.Context, root string, r io.Reader, opts ...Option) (Stats, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return Stats{}, err
	}
	lr := &limitReader{r: r, max: o.maxSize}
	st, err := apply(ctx, root, lr, o)
	st.Bytes = lr.n
	return st, err
}

// limitReader fails with ErrTooLarge once more than max bytes were read.
type limitReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if room := l.max - l.n + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > l.max {
		return n, fmt.Errorf("%w: more than %d bytes uncompressed", ErrTooLarge, l.max)
	}
	return n, err
}
