package layout_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/berthhq/berth/storage/layout"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestIndex(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	m1, _ := image(t, l, 1)
	m2, _ := image(t, l, 2)
	const name = "docker.io/library/busybox:latest"

	if err := l.Tag(ctx, name, m1); err != nil {
		t.Fatal(err)
	}
	if err := l.Tag(ctx, "127.0.0.1:5000/team/app:v1", m1); err != nil {
		t.Fatal(err)
	}
	if err := l.Tag(ctx, name, m2); err != nil { // moves the name
		t.Fatal(err)
	}
	got, err := l.Resolve(ctx, name)
	if err != nil || got.Digest != m2.Digest || got.Annotations[ocispec.AnnotationRefName] != name {
		t.Fatalf("Resolve = %+v, %v; want %s", got, err, m2.Digest)
	}
	all, _ := l.List(ctx)
	if len(all) != 2 || all[0].Annotations[ocispec.AnnotationRefName] != "127.0.0.1:5000/team/app:v1" {
		t.Fatalf("List = %+v, want two entries sorted by name", all)
	}
	if old, err := l.Untag(ctx, name); err != nil || old.Digest != m2.Digest {
		t.Fatalf("Untag = %v, %v", old.Digest, err)
	}
	if _, err := l.Resolve(ctx, name); !errors.Is(err, layout.ErrNameUnknown) {
		t.Fatalf("Resolve after Untag = %v, want ErrNameUnknown", err)
	}
	if _, err := l.Untag(ctx, name); !errors.Is(err, layout.ErrNameUnknown) {
		t.Fatalf("second Untag = %v, want ErrNameUnknown", err)
	}

	t.Run("refusals", func(t *testing.T) {
		_, missing := blob(t, ocispec.MediaTypeImageManifest, 10)
		wrongSize := m1
		wrongSize.Size++
		tests := []struct {
			name string
			tag  string
			desc ocispec.Descriptor
			want error
		}{
			{"blob not stored", "x:1", missing, layout.ErrBlobUnknown},
			{"wrong size", "x:1", wrongSize, layout.ErrDigestMismatch},
			{"empty name", "", m1, layout.ErrInvalid},
			{"newline in name", "a\nb", m1, layout.ErrInvalid},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := l.Tag(ctx, tt.tag, tt.desc); !errors.Is(err, tt.want) {
					t.Errorf("Tag = %v, want %v", err, tt.want)
				}
			})
		}
	})
	if err := l.Validate(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentTags tags from many layouts opened on one directory at
// once (each with its own lock descriptors, as two processes would have)
// and checks no update was lost.
func TestConcurrentTags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	l := newLayoutAt(t, dir)
	m, _ := image(t, l, 1)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			li, err := layout.New(dir)
			if err == nil {
				err = li.Tag(ctx, fmt.Sprintf("example.com/app:v%d", i), m)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, _ := l.List(ctx)
	if len(all) != n {
		t.Fatalf("%d entries, want %d", len(all), n)
	}
}

func newLayoutAt(t *testing.T, dir string) *layout.Layout {
	t.Helper()
	l, err := layout.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLabels(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	b, d := blob(t, "", 10)
	if err := l.UpdateLabels(ctx, []digest.Digest{d.Digest}, func(_ digest.Digest, m map[string]string) { m["k"] = "v" }); !errors.Is(err, layout.ErrBlobUnknown) {
		t.Fatalf("labelling a missing blob = %v", err)
	}
	put(t, l, d, b)
	if err := l.UpdateLabels(ctx, []digest.Digest{d.Digest}, func(_ digest.Digest, m map[string]string) { m["k"] = "v" }); err != nil {
		t.Fatal(err)
	}
	if got, _ := l.Labels(ctx, d.Digest); got["k"] != "v" {
		t.Fatalf("Labels = %v", got)
	}
	if _, err := l.GC(ctx); err != nil { // the blob is unreferenced: gone with its labels
		t.Fatal(err)
	}
	if got, _ := l.Labels(ctx, d.Digest); len(got) != 0 {
		t.Fatalf("labels outlived their blob: %v", got)
	}
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	l := newLayout(t)
	kept, keptBlobs := image(t, l, 2)
	_, goneBlobs := image(t, l, 2)
	// an index over one stored manifest and one that is not
	_, absent := blob(t, ocispec.MediaTypeImageManifest, 10)
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{kept, absent}}
	idx.SchemaVersion = 2
	idxDesc := putJSON(t, l, ocispec.MediaTypeImageIndex, idx)
	if err := l.Tag(ctx, "example.com/multi:1", idxDesc); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.Dir(), "ingest", "tmp-123"), []byte("left over"), 0o644); err != nil {
		t.Fatal(err)
	}

	freed, err := l.GC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(freed.Blobs) != len(goneBlobs) {
		t.Fatalf("freed %d blobs, want %d", len(freed.Blobs), len(goneBlobs))
	}
	var want int64
	for _, d := range goneBlobs {
		want += d.Size
		if ok, _ := l.Has(ctx, d.Digest); ok {
			t.Errorf("unreferenced %s survived", d.Digest)
		}
	}
	if freed.Bytes != want {
		t.Errorf("freed %d bytes, want %d", freed.Bytes, want)
	}
	for _, d := range append(keptBlobs, idxDesc) {
		if ok, _ := l.Has(ctx, d.Digest); !ok {
			t.Errorf("referenced %s was removed", d.Digest)
		}
	}
	assertNoPartials(t, l)
	if err := l.Validate(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("waits for leases", func(t *testing.T) {
		release, err := l.Lease(ctx)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			_, _ = l.GC(ctx)
			close(done)
		}()
		select {
		case <-done:
			t.Fatal("GC ran while a lease was held")
		default:
		}
		release()
		<-done
	})
}

func TestValidate(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		damage func(t *testing.T, l *layout.Layout, blobs []ocispec.Descriptor)
	}{
		{"missing layer", func(t *testing.T, l *layout.Layout, blobs []ocispec.Descriptor) {
			if err := l.Delete(ctx, blobs[1].Digest); err != nil {
				t.Fatal(err)
			}
		}},
		{"corrupted layer", func(t *testing.T, l *layout.Layout, blobs []ocispec.Descriptor) {
			p := filepath.Join(l.Dir(), "blobs", "sha256", blobs[1].Digest.Encoded())
			b, _ := os.ReadFile(p)
			b[0] ^= 1
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated config", func(t *testing.T, l *layout.Layout, blobs []ocispec.Descriptor) {
			p := filepath.Join(l.Dir(), "blobs", "sha256", blobs[0].Digest.Encoded())
			if err := os.Truncate(p, 3); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLayout(t)
			m, blobs := image(t, l, 2)
			if err := l.Tag(ctx, "example.com/app:1", m); err != nil {
				t.Fatal(err)
			}
			if err := l.Validate(ctx); err != nil {
				t.Fatalf("valid layout: %v", err)
			}
			tt.damage(t, l, blobs)
			if err := l.Validate(ctx); err == nil {
				t.Fatal("Validate found nothing wrong")
			}
		})
	}
}
