package storage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"

	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver/filesystem"
	"github.com/opencontainers/go-digest"
)

// BenchmarkSessionUpload measures a 1 MiB blob pushed as POST then PUT with
// the body, the way containerd pushes small blobs.
func BenchmarkSessionUpload(b *testing.B) {
	benchUpload(b, func(ctx context.Context, r *storage.Repository, d digest.Digest, blob []byte) error {
		u, err := r.NewUpload(ctx)
		if err != nil {
			return err
		}
		_, err = u.Commit(ctx, d, bytes.NewReader(blob))
		return err
	})
}

// BenchmarkMonolithicUpload measures a 1 MiB blob pushed as one POST.
func BenchmarkMonolithicUpload(b *testing.B) {
	benchUpload(b, func(ctx context.Context, r *storage.Repository, d digest.Digest, blob []byte) error {
		_, err := r.PutBlob(ctx, d, bytes.NewReader(blob))
		return err
	})
}

func benchUpload(b *testing.B, push func(context.Context, *storage.Repository, digest.Digest, []byte) error) {
	ctx := context.Background()
	d, err := filesystem.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s, _ := storage.New(d)
	r, _ := s.Repository("bench/upload")
	blobs := make([][]byte, b.N)
	for i := range blobs {
		blobs[i] = make([]byte, 1<<20)
		rand.Read(blobs[i][:64])
	}
	b.SetBytes(1 << 20)
	b.ResetTimer()
	for i := range b.N {
		if err := push(ctx, r, digest.FromBytes(blobs[i]), blobs[i]); err != nil {
			b.Fatal(err)
		}
	}
}
