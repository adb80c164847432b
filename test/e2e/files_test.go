//go:build e2e

package e2e

import (
	"archive/tar"
	"errors"
	"io"
	"os"
	"slices"
	"testing"
)

// tarFiles writes a tar stream of regular files (name -> content), in name
// order so the bytes are reproducible.
func tarFiles(w io.Writer, files map[string]string) error {
	tw := tar.NewWriter(w)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			return err
		}
	}
	return tw.Close()
}

// readTarFile returns the content of name in the tar file at path.
func readTarFile(t testing.TB, path, name string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s not in %s", name, path)
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == name || h.Name == "./"+name || h.Name == "/"+name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
}
