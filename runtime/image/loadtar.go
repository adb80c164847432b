package image

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// maxMetadataSize bounds the metadata files of an archive held in memory.
const maxMetadataSize = 16 << 20

// maxLinkDepth bounds chains of links inside an archive.
const maxLinkDepth = 16

// archive is what Load read from a tar: metadata files, and every other
// regular file stored in the layout under its digest.
type archive struct {
	meta  map[string][]byte             // index.json, manifest.json, repositories, oci-layout
	files map[string]ocispec.Descriptor // entry name -> stored blob
	links map[string]string             // entry name -> the entry it links to
}

// metadataFiles are the archive files Load keeps in memory.
var metadataFiles = map[string]bool{
	ocispec.ImageIndexFile: true, "manifest.json": true, "repositories": true, ocispec.ImageLayoutFile: true,
}

// cleanEntryName checks a tar entry name and returns it cleaned: relative,
// no ".." element, no NUL or backslash; "./x" is "x".
func cleanEntryName(name string) (string, error) {
	bad := func(why string) (string, error) {
		return "", fmt.Errorf("%w: entry %q: %s", ErrInvalidArchive, name, why)
	}
	switch {
	case name == "":
		return bad("empty name")
	case strings.HasPrefix(name, "/"):
		return bad("absolute path")
	case strings.ContainsAny(name, "\x00\\"):
		return bad("NUL or backslash in name")
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return bad(`".." in path`)
		}
	}
	return path.Clean(name), nil
}

// resolveLink returns the entry a link entry named name points at:
// hard links name an entry, symbolic links are relative to name's
// directory. Targets outside the archive are refused.
func resolveLink(name string, hdr *tar.Header) (string, error) {
	target := hdr.Linkname
	if hdr.Typeflag == tar.TypeSymlink {
		if strings.HasPrefix(target, "/") {
			return "", fmt.Errorf("%w: link %q -> %q: absolute target", ErrInvalidArchive, name, target)
		}
		target = path.Join(path.Dir(name), target)
	}
	clean := path.Clean(target)
	if clean == ".." || strings.HasPrefix(clean, "../") || strings.HasPrefix(clean, "/") || strings.ContainsAny(target, "\x00\\") {
		return "", fmt.Errorf("%w: link %q -> %q: target outside the archive", ErrInvalidArchive, name, hdr.Linkname)
	}
	return clean, nil
}

// decompressed returns r, decompressed when it starts like gzip (docker
// load takes gzip-compressed archives).
func decompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, _ := br.Peek(2)
	if bytes.Equal(head, []byte{0x1f, 0x8b}) {
		return gzip.NewReader(br)
	}
	return br, nil
}

// readArchive reads the tar r: metadata into memory, "blobs/<alg>/<hex>"
// into the store checked against their names, every other regular file
// into the store under the digest of its content. Nothing is written
// anywhere but the store, by digest; entry names are checked all the same.
func (s *Service) readArchive(ctx context.Context, r io.Reader) (*archive, error) {
	r, err := decompressed(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidArchive, err)
	}
	a := &archive{meta: map[string][]byte{}, files: map[string]ocispec.Descriptor{}, links: map[string]string{}}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidArchive, err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name, err := cleanEntryName(hdr.Name)
		if err != nil {
			return nil, err
		}
		if err := s.readEntry(ctx, a, name, hdr, tr); err != nil {
			return nil, err
		}
	}
	return a, a.resolveLinks()
}

// readEntry takes one entry of the archive.
func (s *Service) readEntry(ctx context.Context, a *archive, name string, hdr *tar.Header, tr io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeXGlobalHeader:
		return nil
	case tar.TypeSymlink, tar.TypeLink:
		target, err := resolveLink(name, hdr)
		if err != nil {
			return err
		}
		a.links[name] = target
		return nil
	case tar.TypeReg: // archive/tar reports old TypeRegA files as TypeReg
	default:
		return fmt.Errorf("%w: entry %q: type %q is not a file, directory or link", ErrInvalidArchive, name, hdr.Typeflag)
	}
	if metadataFiles[name] {
		if hdr.Size > maxMetadataSize {
			return fmt.Errorf("%w: %s: larger than %d bytes", ErrInvalidArchive, name, maxMetadataSize)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidArchive, name, err)
		}
		a.meta[name] = b
		return nil
	}
	if d, ok := blobEntry(name); ok {
		desc := ocispec.Descriptor{Digest: d, Size: hdr.Size}
		if err := s.store.Put(ctx, desc, tr); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrInvalidArchive, name, err)
		}
		a.files[name] = desc
		return nil
	}
	desc, err := s.store.WriteBlob(ctx, tr)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	a.files[name] = desc
	return nil
}

// blobEntry returns the digest an entry "blobs/<alg>/<hex>" names.
func blobEntry(name string) (digest.Digest, bool) {
	rest, ok := strings.CutPrefix(name, "blobs/")
	alg, enc, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 {
		return "", false
	}
	d := digest.NewDigestFromEncoded(digest.Algorithm(alg), enc)
	return d, d.Validate() == nil
}

// resolveLinks gives each link entry the blob of the file it points at.
func (a *archive) resolveLinks() error {
	for name := range a.links {
		target := name
		for i := 0; ; i++ {
			next, ok := a.links[target]
			if !ok {
				break
			}
			if i == maxLinkDepth {
				return fmt.Errorf("%w: link %q: too many levels of links", ErrInvalidArchive, name)
			}
			target = next
		}
		if d, ok := a.files[target]; ok {
			a.files[name] = d
		}
	}
	return nil
}

// file returns the blob of archive entry name (after links).
func (a *archive) file(name string) (ocispec.Descriptor, error) {
	clean, err := cleanEntryName(name)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	d, ok := a.files[clean]
	if !ok {
		return ocispec.Descriptor{}, fmt.Errorf("%w: %q is not in the archive", ErrInvalidArchive, name)
	}
	return d, nil
}
