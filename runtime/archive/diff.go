package archive

import (
	"context"
	"io"
)

// Diff writes the changes recorded in an overlayfs upper directory as an
// uncompressed OCI layer tar (PAX format) to w, in sorted path order:
//
//   - a 0:0 character device (an overlay whiteout) becomes an empty
//     regular file ".wh.NAME" in the same directory;
//   - a directory with trusted.overlay.opaque=y is written, followed by a
//     ".wh..wh..opq" entry, before its children;
//   - directories, regular files, symlinks, hardlinks (by inode, the first
//     name in walk order is the target), other device nodes and fifos are
//     written with their mode, owner, mtime and xattrs as SCHILY.xattr PAX
//     records; trusted.overlay.* xattrs are dropped, sockets are skipped.
//
// lower lists the lower directories of the overlay, topmost first, and is
// optional. When given, a directory of upper that is not opaque and whose
// topmost lower counterpart is a directory with the same mode, owner and
// xattrs is left out: overlayfs copied it up only because something below
// it changed. Its mtime is not compared, since that change updated it.
//
// Access and change times are not written, so equal trees give equal
// bytes. The context is checked between entries. Diff does not close w.
// Linux only: elsewhere it returns an error.
func Diff(ctx context.Context, upper string, lower []string, w io.Writer) error {
	return diff(ctx, upper, lower, w)
}
