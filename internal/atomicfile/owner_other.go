//go:build !unix

package atomicfile

import "os"

// keepOwner does nothing where files have no unix owner.
func keepOwner(*os.File, os.FileInfo) {}
