package image

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/berthhq/berth/storage/layout"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// annotationImageName is the annotation containerd and docker 25+ put
// on index.json entries of archives: the full image name.
const annotationImageName = "io.containerd.image.name"

// dockerManifest is one entry of docker's manifest.json.
type dockerManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// saved is one image going into an archive and its names.
type saved struct {
	desc  ocispec.Descriptor
	names []string // full references
}

// Save writes images refs (names, or image ID or digest prefixes) to w as
// a tar that is an OCI image layout (oci-layout, index.json, blobs/) and
// also carries docker's manifest.json and repositories, so that both
// `docker load` (classic and containerd stores) and OCI tools read it.
// index.json entries name the image in io.containerd.image.name (full
// reference) and org.opencontainers.image.ref.name (the tag), as docker
// writes them. manifest.json describes, for an index, the manifest of the
// host's platform. The repositories file maps each repository and tag to
// the image's top layer, as docker's legacy format does.
func (s *Service) Save(ctx context.Context, w io.Writer, refs ...string) error {
	if len(refs) == 0 {
		return errors.New("save: no image named")
	}
	var images []*saved
	byDigest := map[digest.Digest]*saved{}
	for _, ref := range refs {
		desc, names, byName, err := s.lookup(ctx, ref)
		if err != nil {
			return fmt.Errorf("save %s: %w", ref, err)
		}
		if !byName {
			names = nil // docker save <id> writes the image without names
		}
		if im := byDigest[desc.Digest]; im != nil {
			im.names = appendNew(im.names, names...)
			continue
		}
		im := &saved{desc: tagDescriptor(desc), names: names}
		byDigest[desc.Digest] = im
		images = append(images, im)
	}
	tw := tar.NewWriter(w)
	if err := s.writeArchive(ctx, tw, images); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return tw.Close()
}

// writeArchive writes the blobs, then the metadata files.
func (s *Service) writeArchive(ctx context.Context, tw *tar.Writer, images []*saved) error {
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{}}
	idx.SchemaVersion = 2
	var dm []dockerManifest
	repos := map[string]map[string]string{}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
			return err
		}
	}
	written := map[digest.Digest]bool{}
	for _, im := range images {
		if err := s.writeBlobs(ctx, tw, im.desc, written); err != nil {
			return err
		}
		for _, n := range im.names {
			idx.Manifests = append(idx.Manifests, archiveEntry(im.desc, n))
		}
		if len(im.names) == 0 {
			idx.Manifests = append(idx.Manifests, im.desc)
		}
		entry, top, err := s.dockerEntry(ctx, im)
		if err != nil {
			return err
		}
		dm = append(dm, entry)
		for _, n := range im.names {
			if named, err := reference.ParseNormalizedNamed(n); err == nil {
				if tagged, ok := named.(reference.Tagged); ok && top != "" {
					fam := reference.FamiliarName(named)
					if repos[fam] == nil {
						repos[fam] = map[string]string{}
					}
					repos[fam][tagged.Tag()] = top.Encoded()
				}
			}
		}
	}
	files := []struct {
		name string
		v    any
	}{
		{ocispec.ImageLayoutFile, ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion}},
		{ocispec.ImageIndexFile, idx},
		{"manifest.json", dm},
		{"repositories", repos},
	}
	for _, f := range files {
		b, err := json.Marshal(f.v)
		if err != nil {
			return err
		}
		if err := writeFile(tw, f.name, int64(len(b)), bytes.NewReader(b)); err != nil {
			return err
		}
	}
	return nil
}

// archiveEntry is d as an archive's index.json lists it under name.
func archiveEntry(d ocispec.Descriptor, name string) ocispec.Descriptor {
	d.Annotations = map[string]string{annotationImageName: name}
	if named, err := reference.ParseNormalizedNamed(name); err == nil {
		if tagged, ok := named.(reference.Tagged); ok {
			d.Annotations[ocispec.AnnotationRefName] = tagged.Tag()
		}
	}
	return d
}

// writeBlobs writes every stored blob under root not yet written. An
// index may lack manifests (one platform pulled); a manifest may not lack
// its config or layers.
func (s *Service) writeBlobs(ctx context.Context, tw *tar.Writer, root ocispec.Descriptor, written map[digest.Digest]bool) error {
	return s.store.Walk(ctx, []ocispec.Descriptor{root}, func(d, parent ocispec.Descriptor) error {
		if written[d.Digest] {
			return nil
		}
		f, err := s.store.Open(ctx, d.Digest)
		if errors.Is(err, layout.ErrBlobUnknown) && layout.IsIndex(parent.MediaType) {
			return nil
		}
		if err != nil {
			return err
		}
		defer f.Close()
		written[d.Digest] = true
		name := "blobs/" + d.Digest.Algorithm().String() + "/" + d.Digest.Encoded()
		return writeFile(tw, name, d.Size, f)
	})
}

// dockerEntry returns the manifest.json entry of im and its top layer.
func (s *Service) dockerEntry(ctx context.Context, im *saved) (dockerManifest, digest.Digest, error) {
	n, err := s.platformManifest(ctx, im.desc)
	if err != nil {
		return dockerManifest{}, "", err
	}
	m, err := parseManifest(n)
	if err != nil {
		return dockerManifest{}, "", err
	}
	e := dockerManifest{Config: blobName(m.Config.Digest), RepoTags: []string{}, Layers: []string{}}
	for _, l := range m.Layers {
		e.Layers = append(e.Layers, blobName(l.Digest))
	}
	for _, name := range im.names {
		if named, err := reference.ParseNormalizedNamed(name); err == nil {
			if _, ok := named.(reference.Tagged); ok {
				e.RepoTags = append(e.RepoTags, reference.FamiliarString(named))
			}
		}
	}
	var top digest.Digest
	if len(m.Layers) > 0 {
		top = m.Layers[len(m.Layers)-1].Digest
	}
	return e, top, nil
}

// blobName is where blob d sits in an archive.
func blobName(d digest.Digest) string {
	return "blobs/" + d.Algorithm().String() + "/" + d.Encoded()
}

// writeFile writes one regular file of size bytes from r.
func writeFile(tw *tar.Writer, name string, size int64, r io.Reader) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: time.Unix(0, 0)}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, r)
	if err == nil && n != size {
		err = fmt.Errorf("%s: %d bytes, want %d", name, n, size)
	}
	return err
}

// appendNew appends the elements of add not in list.
func appendNew(list []string, add ...string) []string {
	for _, a := range add {
		found := false
		for _, l := range list {
			found = found || l == a
		}
		if !found {
			list = append(list, a)
		}
	}
	return list
}
