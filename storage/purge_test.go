package storage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/storage"
	"github.com/berthhq/berth/storage/driver"
	"github.com/berthhq/berth/storage/driver/filesystem"
	"github.com/berthhq/berth/storage/driver/inmemory"
)

func TestPurgeUploads(t *testing.T) {
	ctx := context.Background()
	fs, err := filesystem.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]driver.Driver{"filesystem": fs, "inmemory": inmemory.New()} {
		t.Run(name, func(t *testing.T) {
			s, err := storage.New(d)
			if err != nil {
				t.Fatal(err)
			}
			repo, _ := s.Repository("purge/me")
			old, _ := repo.NewUpload(ctx)
			old.Append(ctx, strings.NewReader("abandoned"), 0)
			fresh, _ := repo.NewUpload(ctx)
			// Backdate the first session the way a week-old one would look.
			d.PutContent(ctx, "/docker/registry/v2/repositories/purge/me/_uploads/"+old.ID()+"/startedat",
				[]byte(time.Now().Add(-200*time.Hour).UTC().Format(time.RFC3339)))
			cutoff := time.Now().Add(-168 * time.Hour)
			if n, err := s.PurgeUploads(ctx, cutoff, true); err != nil || n != 1 {
				t.Fatalf("dry run: %d %v", n, err)
			}
			if _, err := repo.Upload(ctx, old.ID()); err != nil {
				t.Fatalf("dry run removed the upload: %v", err)
			}
			if n, err := s.PurgeUploads(ctx, cutoff, false); err != nil || n != 1 {
				t.Fatalf("purge: %d %v", n, err)
			}
			if _, err := repo.Upload(ctx, old.ID()); err == nil {
				t.Fatal("stale upload survived")
			}
			if _, err := repo.Upload(ctx, fresh.ID()); err != nil {
				t.Fatalf("fresh upload purged: %v", err)
			}
		})
	}
}
