//go:build !unix

package credstore

import "os"

// keepOwner does nothing where files have no unix owner.
func keepOwner(*os.File, os.FileInfo) {}
