package layout

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to begin writing [off, off+n) of f to disk
// without waiting for it. Done as a download goes, it lets the disk work
// while more bytes arrive, so the fsync at Commit finds little left to do.
// Errors are ignored: Commit's fsync is what guarantees durability.
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
