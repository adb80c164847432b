//go:build e2e

package e2e

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
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

func upper(s string) string { return strings.ToUpper(s) }

// replaceOnce replaces the first old in s, failing loudly if absent.
func replaceOnce(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic(fmt.Sprintf("%q not in %q", old, s))
	}
	return strings.Replace(s, old, new, 1)
}

// received is how many bytes an upload's Range header ("0-<last byte>")
// says arrived. An empty upload is reported as "0-0" by Distribution (the
// header cannot say "nothing"), so "0-0", "0--1" and "" all mean 0 here;
// callers never need to tell one byte from none.
func received(t testing.TB, r string) int {
	t.Helper()
	if r == "" || r == "0-0" || r == "0--1" {
		return 0
	}
	_, end, ok := strings.Cut(r, "-")
	n, err := strconv.Atoi(end)
	if !ok || err != nil {
		t.Fatalf("bad Range header %q", r)
	}
	return n + 1
}
