//go:build !linux

package snapshottest

// overlayCases needs overlayfs: none elsewhere.
func overlayCases() []testCase { return nil }
